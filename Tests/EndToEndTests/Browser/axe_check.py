"""Runs axe-core (the copy bundled with PyPI's axe-selenium-python) in Debian's headless Chromium
over each page given, and fails on any serious or critical violation.

Usage: axe_check.py URL [URL ...]
Prints each violation found, then "axe: N serious or critical violations on M pages".
"""
import json
import os
import sys

import axe_selenium_python
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

script = os.path.join(os.path.dirname(axe_selenium_python.__file__), "node_modules", "axe-core", "axe.min.js")
with open(script, encoding="utf-8") as handle:
    axe_source = handle.read()

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,1800"):
    options.add_argument(flag)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(30)
driver.set_script_timeout(60)

serious = 0
try:
    for url in sys.argv[1:]:
        driver.get(url)
        driver.execute_script(axe_source)
        result = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(JSON.stringify(r.violations))).catch(e => done(JSON.stringify({error: String(e)})));"
        )
        violations = json.loads(result)
        if isinstance(violations, dict):
            print(f"{url}: axe failed to run: {violations['error']}")
            sys.exit(2)
        for violation in violations:
            print(f"{url}: {violation['impact']}: {violation['id']}: {violation['help']} ({len(violation['nodes'])} elements)")
            if violation["impact"] in ("serious", "critical"):
                serious += 1
        print(f"{url}: checked, {len(violations)} violations of any impact")
finally:
    driver.quit()

print(f"axe: {serious} serious or critical violations on {len(sys.argv) - 1} pages")
sys.exit(1 if serious else 0)
