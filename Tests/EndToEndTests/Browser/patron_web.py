"""Drives the patron's web pages in Debian's Chromium through selenium, with JavaScript turned
off, as a patron would: a wrong PIN, sign in, read the account, download the export, purge the
history, stop keeping it, change the PIN, sign out; then a second patron erases their account.

Usage: patron_web.py BASE_URL OUT_DIR   (patrons W1/2468 with loans and history, W2/1357 without)
Prints one line per checked step; exits non-zero with the failing step on stderr. The screenshots
and the downloaded export stay in OUT_DIR.
"""
import os
import sys
import tarfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

base, out = sys.argv[1].rstrip("/"), sys.argv[2]
os.makedirs(out, exist_ok=True)
downloads = os.path.join(out, "downloads")
os.makedirs(downloads, exist_ok=True)

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,1800", f"--user-data-dir={out}/profile"):
    options.add_argument(flag)
options.add_experimental_option("prefs", {
    "profile.managed_default_content_settings.javascript": 2,
    "download.default_directory": downloads,
    "download.prompt_for_download": False,
})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(30)


def check(condition, step):
    if not condition:
        driver.save_screenshot(os.path.join(out, "failure.png"))
        sys.stderr.write(f"FAILED: {step}\n--- page ---\n{driver.page_source[:4000]}\n")
        driver.quit()
        sys.exit(1)
    print(f"ok: {step}", flush=True)


def text():
    return driver.find_element(By.TAG_NAME, "main").text


def click_and_wait(element):
    """Clicks a submit button or link and waits for the next page to replace this one."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 15).until(lambda _: replaced(page))
    # The footer ends every page: once it is there, the whole page has been parsed.
    WebDriverWait(driver, 15).until(lambda d: d.find_elements(By.TAG_NAME, "footer"))


def replaced(element):
    """Whether the page holding `element` is gone (Chromium reports it in two ways)."""
    try:
        element.tag_name
        return False
    except (StaleElementReferenceException, WebDriverException):
        return True


def sign_in(card, pin):
    driver.get(base + "/")
    driver.find_element(By.ID, "card").send_keys(card)
    driver.find_element(By.ID, "pin").send_keys(pin)
    click_and_wait(driver.find_element(By.CSS_SELECTOR, "form[action='/sign-in'] button"))


def submit(action):
    click_and_wait(driver.find_element(By.CSS_SELECTOR, f"form[action='{action}'] button"))


try:
    driver.get(base + "/")
    check(driver.find_element(By.TAG_NAME, "h1").text == "Sign in to your library account", "the sign-in page")
    check(driver.find_element(By.CSS_SELECTOR, "label[for=card]") and driver.find_element(By.CSS_SELECTOR, "label[for=pin]"), "both fields are labelled")
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    check(driver.switch_to.active_element.get_attribute("class") == "skip", "the keyboard reaches the skip link first")

    sign_in("W1", "0000")
    check("PIN" in driver.find_element(By.CSS_SELECTOR, "[role=alert]").text or "authentication" in text().lower(), "a wrong PIN is refused with an alert")
    check(driver.find_element(By.TAG_NAME, "h1").text.startswith("Sign in"), "a wrong PIN stays on the sign-in page")

    sign_in("W1", "2468")
    check(driver.find_element(By.TAG_NAME, "h1").text == "Your library account", "signed in with card and PIN")
    page = text()
    check("Wendy <b>Reader</b>" in page, "the name is shown as text, markup and all")
    check("The <script>alert(1)</script> Book" in page, "a title with markup is shown as text")
    check("Second" in driver.find_element(By.ID, "history").find_element(By.XPATH, "..").text, "the kept history lists the returned loan")
    check("circulation" in driver.find_element(By.ID, "accesses").find_element(By.XPATH, "..").text, "who looked at the record lists the staff lookup")
    cookies = {c["name"]: c for c in driver.get_cookies()}
    session = cookies.get("__Host-pv_session")
    check(session is not None and session["httpOnly"] and session["secure"] and session.get("sameSite") == "Strict",
          "the session cookie is HttpOnly, Secure and SameSite=Strict")
    check(len(driver.find_elements(By.TAG_NAME, "script")) == 0, "the page has no script")
    for form in driver.find_elements(By.CSS_SELECTOR, "form[method=post]"):
        check(form.find_element(By.NAME, "form_token").get_attribute("value"), f"the form {form.get_attribute('action')} carries a form token")
    driver.save_screenshot(os.path.join(out, "patron-account.png"))

    driver.find_element(By.CSS_SELECTOR, "form[action='/account/export'] button").click()
    bundle = os.path.join(downloads, "patron-data.tar")
    for _ in range(100):
        if os.path.exists(bundle) and not os.path.exists(bundle + ".crdownload"):
            break
        time.sleep(0.1)
    check(os.path.exists(bundle), "the export downloads as patron-data.tar")
    with tarfile.open(bundle) as archive:
        names = archive.getnames()
        check("patron-data/patron-data.json" in names and "patron-data/manifest.sig" in names, "the export holds the data and its signature")
        archive.extractall(out, filter="data")

    submit("/account/history/purge")
    check("1 loans were removed" in driver.find_element(By.CSS_SELECTOR, "[role=status]").text, "purging the history reports what it destroyed")
    check("Your reading history is empty." in text(), "the history is empty after the purge")

    unticked = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "form[action='/account/history-preference'] button").click()
    time.sleep(1)
    check(not replaced(unticked) and "1 loans were removed" in text(),
          "stopping the history without ticking the confirmation does not submit")
    driver.find_element(By.ID, "discard-confirm").click()
    submit("/account/history-preference")
    check("no longer kept" in driver.find_element(By.CSS_SELECTOR, "[role=status]").text, "the history is no longer kept")

    driver.find_element(By.ID, "pin-current").send_keys("2468")
    driver.find_element(By.ID, "new-pin").send_keys("97531")
    driver.find_element(By.ID, "repeat-pin").send_keys("97531")
    submit("/account/pin")
    check("PIN is changed" in driver.find_element(By.CSS_SELECTOR, "[role=status]").text, "the PIN is changed")

    driver.find_element(By.ID, "erase-confirm").click()
    driver.find_element(By.ID, "erase-current").send_keys("97531")
    submit("/account/erase")
    check("checked out" in driver.find_element(By.CSS_SELECTOR, "[role=alert]").text, "erasure is refused while an item is on loan")

    submit("/sign-out")
    check("signed out" in text(), "signed out")
    driver.get(base + "/account")
    check(driver.find_element(By.TAG_NAME, "h1").text.startswith("Sign in"), "the account page needs a session again")
    sign_in("W1", "97531")
    check(driver.find_element(By.TAG_NAME, "h1").text == "Your library account", "the new PIN signs in")
    submit("/sign-out")

    sign_in("W2", "1357")
    driver.find_element(By.ID, "erase-confirm").click()
    driver.find_element(By.ID, "erase-current").send_keys("1357")
    submit("/account/erase")
    check(driver.find_element(By.TAG_NAME, "h1").text == "Your account is erased", "the second patron erases their account")
    check("receiptHash" in text(), "the erasure receipt is shown to keep")
    driver.save_screenshot(os.path.join(out, "patron-erased.png"))
    sign_in("W2", "1357")
    check(driver.find_element(By.TAG_NAME, "h1").text.startswith("Sign in"), "the erased account cannot sign in")
finally:
    driver.quit()
print("all browser steps passed")
