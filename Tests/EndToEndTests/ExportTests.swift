import Foundation
import GRDB
import Testing

/// `me export` and `export verify` through the built binary: the bundle a patron takes home,
/// checked against its JSON Schema, read as HTML, and verified with only the public key.
@Suite("Export bundle through the CLI")
struct ExportCLITests {
    static let patron = (card: "PVX70011", name: "Cordelia Fennimore-Ashe", email: "cordelia@example.org", pin: "7001")
    static let titles = ["Weather of the Inner Sea", "A Field Guide to Doors"]

    static var schema: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/PatronVaultCore/Export/patron-data.schema.json")
    }

    static func vaultWithPatron(_ backend: Backend = .sqlite) throws -> CLI {
        let cli = try CLI.initialized(backend: backend)
        let p = patron
        let registered = try cli.run(
            ["patron", "register", "--card", p.card, "--name", p.name, "--email", p.email, "--history", "keep", "--pin-stdin"], stdin: p.pin)
        #expect(registered.status == 0, "\(registered.stderr)")
        for (index, title) in titles.enumerated() {
            #expect(try cli.run(["loan", "checkout", "--card", p.card, "--item", "X-\(index)", "--title", title, "--author", "R. <Quill> & Co"]).status == 0)
        }
        #expect(try cli.run(["loan", "return", "--item", "X-0"]).status == 0)
        return cli
    }

    func export(_ cli: CLI, to folder: URL, pin: String = patron.pin) throws -> CLI.Result {
        try cli.run(["me", "export", "--card", Self.patron.card, "--out", folder.path, "--json"], env: ["PATRONVAULT_PIN": pin])
    }

    func python(_ script: String, _ arguments: [String]) throws -> CLI.Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLI.Result(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }

    @Test("me export writes four private files; export verify passes with the printed key, away from the vault, and fails after an edit", arguments: Backend.available)
    func exportAndVerify(_ backend: Backend) throws {
        let cli = try Self.vaultWithPatron(backend)
        defer { cli.removeHome() }
        let folder = cli.home.appendingPathComponent("my-data")
        let written = try export(cli, to: folder)
        #expect(written.status == 0, "\(written.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(files == ["manifest.json", "manifest.sig", "patron-data.html", "patron-data.json"])
        #expect((try FileManager.default.attributesOfItem(atPath: folder.path)[.posixPermissions] as? Int) == 0o700)
        for file in files {
            #expect((try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(file).path)[.posixPermissions] as? Int) == 0o600)
        }
        #expect(!written.stdout.contains(Self.patron.name))

        let key = try cli.run(["export", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(key.count == 64 && written.json["exportKey"] as? String == key)
        // Away from the vault: no vault folder, no master key, only the public key.
        let away = try cli.run(["export", "verify", folder.path, "--export-key", key, "--json"], env: ["PATRONVAULT_HOME": "/nonexistent"])
        #expect(away.status == 0, "\(away.stderr)")
        #expect(away.json["records"] as? Int == 3)
        #expect(try cli.run(["export", "verify", folder.path]).status == 0)
        #expect(try cli.run(["export", "verify", folder.path, "--export-key", "zz"]).status == 65)

        let page = folder.appendingPathComponent("patron-data.html")
        var bytes = try Data(contentsOf: page)
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: page)
        let tampered = try cli.run(["export", "verify", folder.path, "--export-key", key])
        #expect(tampered.status == 74)
        #expect(tampered.stderr.contains("patron-data.html does not match") && tampered.stderr.split(separator: "\n").count == 1, "\(tampered.stderr)")
    }

    @Test("patron-data.json validates against the JSON Schema in the repository (and an edited copy does not)")
    func schemaValidates() throws {
        let cli = try Self.vaultWithPatron()
        defer { cli.removeHome() }
        _ = try cli.run(["me", "show", "--card", Self.patron.card], env: ["PATRONVAULT_PIN": "0000"])
        let folder = cli.home.appendingPathComponent("my-data")
        #expect(try export(cli, to: folder).status == 0)
        let data = folder.appendingPathComponent("patron-data.json").path
        let validate = "import json, sys, jsonschema; jsonschema.Draft202012Validator(json.load(open(sys.argv[2]))).validate(json.load(open(sys.argv[1])))"
        let valid = try python(validate, [data, Self.schema.path])
        #expect(valid.status == 0, "\(valid.stderr)")
        // The validator really reads the file: a field the schema does not know fails it.
        let edited = cli.home.appendingPathComponent("edited.json").path
        let addField = "import json, sys; d = json.load(open(sys.argv[1])); d['registration']['data']['shoeSize'] = 9; json.dump(d, open(sys.argv[2], 'w'))"
        #expect(try python(addField, [data, edited]).status == 0)
        #expect(try python(validate, [edited, Self.schema.path]).status != 0)
    }

    @Test("patron-data.html shows the patron's name and loans, escapes them, and loads nothing: no script, no external resource")
    func pageIsSelfContained() throws {
        let cli = try Self.vaultWithPatron()
        defer { cli.removeHome() }
        let folder = cli.home.appendingPathComponent("my-data")
        #expect(try export(cli, to: folder).status == 0)
        let page = folder.appendingPathComponent("patron-data.html").path
        let inspect = """
            import html.parser, json, sys
            class Page(html.parser.HTMLParser):
                def __init__(self):
                    super().__init__(); self.tags = []; self.attrs = []; self.text = []; self.open = []
                def handle_starttag(self, tag, attrs):
                    self.tags.append(tag); self.attrs += [v or '' for _, v in attrs]
                    if tag not in ('meta', 'br'): self.open.append(tag)
                def handle_endtag(self, tag):
                    assert self.open and self.open[-1] == tag, 'unbalanced </%s>' % tag
                    self.open.pop()
                def handle_data(self, data): self.text.append(data)
            p = Page(); p.feed(open(sys.argv[1], encoding='utf-8').read()); p.close()
            assert not p.open, 'unclosed %s' % p.open
            print(json.dumps({'tags': sorted(set(p.tags)), 'attrs': p.attrs, 'text': ' '.join(p.text)}))
            """
        let result = try python(inspect, [page])
        #expect(result.status == 0, "\(result.stderr)")
        let parsed = result.json
        let tags = parsed["tags"] as? [String] ?? []
        for forbidden in ["script", "iframe", "object", "embed", "link", "img", "form", "base"] {
            #expect(!tags.contains(forbidden), "<\(forbidden)> in the page")
        }
        for value in parsed["attrs"] as? [String] ?? [] {
            #expect(!value.contains("http") && !value.contains("//"), "an attribute points outside: \(value)")
        }
        let source = try String(contentsOfFile: page, encoding: .utf8)
        #expect(!source.contains("url(") && !source.contains("@import") && !source.contains("http://") && !source.contains("https://"))
        let text = parsed["text"] as? String ?? ""
        #expect(text.contains(Self.patron.name) && text.contains(Self.titles[0]) && text.contains(Self.titles[1]))
        #expect(text.contains("R. <Quill> & Co"), "the author, unescaped as text, escaped in the source")
        #expect(source.contains("R. &lt;Quill&gt; &amp; Co"))
        #expect(source.contains("@media print"))
    }

    /// Runs headless Chromium (Debian's `chromium`, which `.ci/run` installs) on a page.
    func chromium(_ arguments: [String], profile: URL) throws -> CLI.Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(profile.path)"] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        _ = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLI.Result(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: "")
    }

    @Test("the HTML export opens in headless Chromium: the rendered page holds the name and loans, and a screenshot is drawn")
    func opensInChromium() throws {
        let cli = try Self.vaultWithPatron()
        defer { cli.removeHome() }
        let folder = cli.home.appendingPathComponent("my-data")
        #expect(try export(cli, to: folder).status == 0)
        let page = "file://" + folder.appendingPathComponent("patron-data.html").path
        let profile = cli.home.appendingPathComponent("chromium-profile")
        let dom = try chromium(["--dump-dom", page], profile: profile)
        #expect(dom.status == 0, "Chromium did not run: install Debian's chromium (.ci/run does)")
        #expect(dom.stdout.contains(Self.patron.name) && dom.stdout.contains(Self.titles[0]) && dom.stdout.contains(Self.titles[1]))
        #expect(dom.stdout.contains("Your reading history") && !dom.stdout.contains("<script"))
        let shot = cli.home.appendingPathComponent("page.png")
        #expect(try chromium(["--screenshot=\(shot.path)", "--window-size=1000,1400", page], profile: profile).status == 0)
        let png = try Data(contentsOf: shot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        // A blank page of this size compresses to a few kilobytes; text and tables make it larger.
        #expect(png.count > 20_000, "the screenshot looks blank (\(png.count) bytes)")
    }

    @Test("a non-empty export folder or a wrong PIN: one line, non-zero, nothing written and no export recorded", arguments: Backend.available)
    func badInput(_ backend: Backend) throws {
        let cli = try Self.vaultWithPatron(backend)
        defer { cli.removeHome() }
        let auditCount = { try cli.count("SELECT count(*) FROM audit_entry WHERE action = 'export.read'") }
        let occupied = cli.home.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: occupied, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: occupied.appendingPathComponent("notes.txt"))
        let refused = try export(cli, to: occupied)
        #expect(refused.status == 67, "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: occupied.path) == ["notes.txt"])
        #expect(try auditCount() == 0)

        let fresh = cli.home.appendingPathComponent("fresh")
        let wrongPIN = try export(cli, to: fresh, pin: "0000")
        #expect(wrongPIN.status == 68)
        #expect(!FileManager.default.fileExists(atPath: fresh.path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: cli.home.path).filter { $0.contains("partial") }
        #expect(leftovers.isEmpty)

        let empty = cli.home.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        #expect(try export(cli, to: empty).status == 0)
        #expect(try auditCount() == 1)
        #expect(try cli.run(["export", "verify", cli.home.appendingPathComponent("missing").path]).status == 74)
    }

    @Test("patron export CARD at the desk: refused without patron-request; sealed under the PIN the patron types; only that PIN opens it; the bundle verifies", arguments: Backend.available)
    func sealedAtTheDesk(_ backend: Backend) throws {
        var cli = try Self.vaultWithPatron(backend)
        defer { cli.removeHome() }
        let admin = cli.environment["PATRONVAULT_TOKEN"]!
        let added = try cli.run(["staff", "add", "desk1", "--role", "staff", "--json"])
        cli.environment["PATRONVAULT_TOKEN"] = added.json["token"] as? String
        let sealed = cli.home.appendingPathComponent("for-the-patron.pvx")
        let failures = { try cli.count("SELECT coalesce(sum(failures), 0) FROM pin_attempt") }
        func seal(_ purpose: String, pin: String) throws -> CLI.Result {
            try cli.run(["patron", "export", Self.patron.card, "--purpose", purpose, "--out", sealed.path, "--pin-stdin"], stdin: pin)
        }

        let refused = try seal("circulation", pin: Self.patron.pin)
        #expect(refused.status == 70, "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sealed.path))
        #expect(try failures() == 0, "a refused staff member must not get to try a PIN")

        let wrongPIN = try seal("patron-request", pin: "0000")
        #expect(wrongPIN.status == 68, "\(wrongPIN.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sealed.path))
        #expect(try failures() == 1)

        let made = try seal("patron-request", pin: Self.patron.pin)
        #expect(made.status == 0, "\(made.stderr)")
        #expect((try FileManager.default.attributesOfItem(atPath: sealed.path)[.posixPermissions] as? Int) == 0o600)
        let bytes = try Data(contentsOf: sealed)
        for needle in [Self.patron.name, Self.patron.email, Self.patron.card] + Self.titles {
            #expect(!bytes.contains(needle), "the sealed file shows a patron field")
        }

        let opened = cli.home.appendingPathComponent("opened")
        let wrongOpen = try cli.run(["export", "open", sealed.path, "--out", opened.path, "--pin-stdin"], stdin: "0000", env: ["PATRONVAULT_HOME": "/nonexistent"])
        #expect(wrongOpen.status == 68 && !FileManager.default.fileExists(atPath: opened.path), "\(wrongOpen.stderr)")
        var altered = bytes
        altered[altered.count - 40] ^= 0x01
        let alteredFile = cli.home.appendingPathComponent("altered.pvx")
        try altered.write(to: alteredFile)
        #expect(try cli.run(["export", "open", alteredFile.path, "--out", opened.path, "--pin-stdin"], stdin: Self.patron.pin).status == 68)

        let open = try cli.run(["export", "open", sealed.path, "--out", opened.path, "--pin-stdin"], stdin: Self.patron.pin, env: ["PATRONVAULT_HOME": "/nonexistent"])
        #expect(open.status == 0, "\(open.stderr)")
        let key = try cli.run(["export", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let verified = try cli.run(["export", "verify", opened.path, "--export-key", key, "--json"])
        #expect(verified.status == 0, "\(verified.stderr)")
        let data = try String(contentsOf: opened.appendingPathComponent("patron-data.json"), encoding: .utf8)
        #expect(data.contains(Self.patron.name) && data.contains(Self.titles[0]))

        let log = try cli.run(["audit", "log", "--action", "export.seal", "--json"], env: ["PATRONVAULT_TOKEN": admin])
        let entries = log.json["entries"] as? [[String: Any]] ?? []
        #expect(entries.map { $0["decision"] as? String } == ["forbid", "permit"], "\(log.stdout.prefix(300))")
        #expect(entries.last?["purpose"] as? String == "patron-request")
        #expect(entries.last?["patron"] as? String != nil)
    }
}
