import Foundation
import Testing

/// The privacy notice is generated from the rules in force: a change to a retention period, a
/// reveal or a forbid in a copy of `Policies/` changes what it says; it carries `policy check`'s
/// digest; the daemon serves the same notice; its page passes axe-core in Chromium.
@Suite("Privacy notice", .serialized)
struct PrivacyNoticeTests {
    /// A copy of the shipped policies with `edit` applied to one file.
    static func policies(in cli: CLI, editing file: String? = nil, _ edit: (String) -> String = { $0 }) throws -> URL {
        let copy = cli.home.appendingPathComponent("policies-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: CLI.policies, to: copy)
        if let file {
            let path = copy.appendingPathComponent(file)
            let text = try String(contentsOf: path, encoding: .utf8)
            let edited = edit(text)
            #expect(edited != text, "the edit of \(file) changed nothing")
            try edited.write(to: path, atomically: true, encoding: .utf8)
        }
        return copy
    }

    static func notice(_ cli: CLI, _ policies: URL, format: String = "text") throws -> String {
        let result = try cli.run(["policy", "notice", "--policies", policies.path, "--format", format])
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout
    }

    @Test("the notice states what the shipped rules say, with the digest policy check prints")
    func shippedNotice() throws {
        let cli = try CLI(now: "2026-11-22T10:00:00Z")
        defer { cli.removeHome() }
        let shipped = try Self.policies(in: cli)
        let text = try Self.notice(cli, shipped)
        #expect(text.contains("For circulation, staff, admins and privacy officers see: name, card number, card status, card expiry, items you have out and their due dates."), "\(text)")
        #expect(text.contains("For holds, staff, admins and privacy officers see: name, card number and the one contact you chose for notices."))
        #expect(text.contains("Reading history you chose to keep: destroyed (their keys shredded) 3 years after each item was returned."))
        #expect(text.contains("\"Staff, admins and privacy officers never see a patron's reading history, export or own audit view\" (history-only-for-the-patron)"))
        #expect(text.contains("Erase your account: every record and key destroyed, with a signed receipt"))
        #expect(text.contains("A second person, never the one who filed it, must approve it"))
        #expect(!text.contains("Rules this notice quotes as written"))

        let json = try cli.run(["policy", "notice", "--policies", shipped.path, "--format", "json"]).json
        let check = try cli.run(["policy", "check", "--policies", shipped.path, "--json"]).json
        #expect(json["policyDigest"] as? String == check["digest"] as? String && check["digest"] != nil)
        #expect(text.contains("policy digest \(check["digest"] as? String ?? "?")"))
        #expect((json["views"] as? [[String: Any]])?.count == 6)

        let markdown = try Self.notice(cli, shipped, format: "markdown")
        #expect(markdown.hasPrefix("# How the library handles your records\n"))
        #expect(markdown.contains("\n## How long records are kept\n"))
        let html = try Self.notice(cli, shipped, format: "html")
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<main>") && html.contains("<html lang=\"en\">"))
        let bad = try cli.run(["policy", "notice", "--policies", shipped.path, "--format", "pdf"])
        #expect(bad.status == 64 && bad.stderr.contains("--format must be text, markdown, html or json"))
    }

    @Test("a longer retention period, a new reveal and a new forbid rule each change the notice")
    func noticeFollowsTheRules() throws {
        let cli = try CLI(now: "2026-11-22T10:00:00Z")
        defer { cli.removeHome() }
        let base = try Self.notice(cli, try Self.policies(in: cli))

        let longer = try Self.notice(cli, try Self.policies(in: cli, editing: "retention.schedule") {
            $0.replacingOccurrences(of: "records: history\n  after: 3 years", with: "records: history\n  after: 5 years")
        })
        #expect(longer.contains("Reading history you chose to keep: destroyed (their keys shredded) 5 years after each item was returned."))
        #expect(!longer.contains("destroyed (their keys shredded) 3 years after each item was returned"))
        #expect(base != longer)

        let revealing = try Self.notice(cli, try Self.policies(in: cli, editing: "staff-lookups.policy") {
            $0.replacingOccurrences(of: "reveals: name, card, contact", with: "reveals: name, card, expiry, contact")
        })
        #expect(revealing.contains("For holds, staff, admins and privacy officers see: name, card number, card expiry and the one contact you chose for notices."))

        let forbidding = try Self.notice(cli, try Self.policies(in: cli, editing: "third-parties.policy") {
            $0 + """

                rule no-lookups-on-sundays
                  "Nobody looks a patron up on a Sunday"
                  forbid
                  roles: staff, admin
                  actions: patron.read
                  when: context.time < date("2000-01-01")

                """
        })
        #expect(forbidding.contains("Binding staff and admins. \"Nobody looks a patron up on a Sunday\" (no-lookups-on-sundays)"))

        // A staff read the generator cannot describe (no reveals:) is quoted as written.
        let vague = try Self.notice(cli, try Self.policies(in: cli, editing: "third-parties.policy") {
            $0 + """

                rule volunteers-glance
                  "Volunteers may glance"
                  permit
                  roles: staff
                  actions: patron.read
                  when: context.consent

                """
        })
        #expect(vague.contains("Rules this notice quotes as written"))
        #expect(vague.contains("    rule volunteers-glance\n      \"Volunteers may glance\"\n      permit\n      roles: staff\n      actions: patron.read\n      when: context.consent\n"), "\(vague)")
    }

    @Test("the daemon serves the same notice as JSON and as a page linked from the patron pages, which passes axe-core in Chromium")
    func daemonNoticeAndAccessibility() throws {
        let cli = try CLI.initialized()
        defer { cli.removeHome() }
        let daemon = try Daemon(cli)
        let json = try daemon.request("GET", "/v1/privacy-notice")
        #expect(json.status == 200)
        var served = json.json
        var local = try cli.run(["policy", "notice", "--format", "json"]).json
        served["generated"] = nil
        local["generated"] = nil
        #expect(try MinimizationTests.canonical(served) == MinimizationTests.canonical(local))
        #expect(json.json["generated"] as? String == "2026-11-22")

        let page = try daemon.request("GET", "/privacy")
        #expect(page.status == 200 && page.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(page.header("Content-Security-Policy")?.contains("default-src 'none'") == true)
        #expect(page.text.contains("<h1>How the library handles your records</h1>"))
        #expect(try daemon.request("GET", "/").text.contains("href=\"/privacy\""))

        let file = cli.home.appendingPathComponent("notice.html")
        try Data(try cli.run(["policy", "notice", "--format", "html"]).stdout.utf8).write(to: file)
        let script = CLI.policies.deletingLastPathComponent().appendingPathComponent("Tests/EndToEndTests/Browser/axe_check.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, URL(string: "/privacy", relativeTo: daemon.base)!.absoluteString, file.absoluteString]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("axe: 0 serious or critical violations on 2 pages"), "install axe-selenium-python (python3 -m pip install axe-selenium-python), selenium and chromium-driver: \(text)")

        // The check can fail: a page without a language, a title or image text does.
        let bad = cli.home.appendingPathComponent("bad.html")
        try Data("<html><body><img src=\"x.png\"><a href=\"#\"></a></body></html>".utf8).write(to: bad)
        let refused = Process()
        refused.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        refused.arguments = ["python3", script.path, bad.absoluteString]
        refused.standardOutput = FileHandle.nullDevice
        refused.standardError = FileHandle.nullDevice
        try refused.run()
        refused.waitUntilExit()
        #expect(refused.terminationStatus == 1)
        #expect(daemon.stop() == 0)
    }
}
