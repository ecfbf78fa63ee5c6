import Foundation
import Testing
@testable import PatronVaultPolicy

/// Inputs built to crash, exhaust or fool the loader are refused with a location, or load and
/// fail closed; none crashes and none permits.
@Suite struct HostileInputTests {
    private func rule(when condition: String) -> String {
        "rule r1\n  \"a rule\"\n  permit\n  roles: staff\n  actions: patron.read\n  when: \(condition)\n"
    }

    @Test func deepNestingIsRefused() throws {
        let ok = String(repeating: "(", count: 64) + "context.consent" + String(repeating: ")", count: 64)
        #expect(try PolicyFixtures.loadError(rule(when: ok)) == nil)
        let deep = String(repeating: "(", count: 65) + "context.consent" + String(repeating: ")", count: 65)
        #expect(try PolicyFixtures.loadError(rule(when: deep))?.description == "test.policy:6:73: the condition nests more than 64 levels deep")
        let nots = String(repeating: "not ", count: 200_000) + "context.consent"
        #expect(try PolicyFixtures.loadError(rule(when: nots))?.message == "the condition nests more than 64 levels deep")
        let brackets = String(repeating: "(", count: 500_000)
        #expect(try PolicyFixtures.loadError(rule(when: brackets)) != nil)
    }

    @Test func longFlatChainsLoadAndDecide() throws {
        let chain = Array(repeating: "context.consent", count: 20_000).joined(separator: " and ")
        let set = try PolicyFixtures.set(rule(when: chain))
        #expect(!set.decide(PolicyFixtures.request(action: "patron.read")).isPermitted)
        #expect(set.decide(PolicyFixtures.request(action: "patron.read", consent: true)).isPermitted)
        let purposes = "context.purpose in [" + Array(repeating: "\"fines\"", count: 20_000).joined(separator: ", ") + "]"
        #expect(try PolicyFixtures.loadError(rule(when: purposes)) == nil)
    }

    @Test func hugeFilesAreRefused() throws {
        let huge = String(repeating: "# padding\n", count: 110_000)
        #expect(try PolicyFixtures.loadError(huge)?.description.hasPrefix("test.policy:1:1: the file is larger than 1 MiB") == true)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pv-policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try PolicyFixtures.schemaText.write(to: directory.appendingPathComponent("schema.pvschema"), atomically: true, encoding: .utf8)
        try huge.write(to: directory.appendingPathComponent("big.policy"), atomically: true, encoding: .utf8)
        #expect(throws: PolicyLoadError(file: "big.policy", line: 1, column: 1, message: "the file is larger than 1 MiB (1100000 bytes); policy files must be small enough to read")) {
            try PolicySet.load(directory: directory)
        }
    }

    @Test("a policy file that cannot be read stops the load: a dangling link, a folder", arguments: ["link", "folder"])
    func unreadablePolicyFilesAreRefused(kind: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pv-policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try PolicyFixtures.schemaText.write(to: directory.appendingPathComponent("schema.pvschema"), atomically: true, encoding: .utf8)
        for (name, text) in try PolicyFixtures.shippedFiles() {
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        #expect(throws: Never.self) { try PolicySet.load(directory: directory) }
        let path = directory.appendingPathComponent("extra-forbids.policy").path
        if kind == "link" {
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: directory.appendingPathComponent("gone.policy").path)
        } else {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        }
        #expect(throws: PolicyLoadError(
            file: "extra-forbids.policy", line: 1, column: 1,
            message: "the file cannot be read (a dangling link, a folder or no permission); fix or remove it")) {
            try PolicySet.load(directory: directory)
        }
    }

    @Test func invalidUTF8IsRefusedWhereItIs() throws {
        let schema = try PolicyFixtures.schemaText
        let good = Array(rule(when: "context.consent").utf8)
        for bad: [UInt8] in [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            var bytes = good
            bytes.insert(contentsOf: bad, at: 12)
            do {
                _ = try PolicySet(schema: ("schema.pvschema", Array(schema.utf8)), files: [("bad.policy", bytes)])
                Issue.record("invalid UTF-8 \(bad) loaded")
            } catch {
                #expect(error.description.hasPrefix("bad.policy:2:5: the file is not valid UTF-8"), "\(error)")
            }
        }
        let accented = "rule r1\n  \"Prêt réservé\"\n  permit\n  roles: staff\n  actions: patron.read\n  when: é\n"
        #expect(try PolicyFixtures.loadError(accented)?.description == "test.policy:6:9: unexpected character U+00E9")
    }

    @Test func arithmeticAndStrangeBytesAreSyntaxErrors() throws {
        #expect(try PolicyFixtures.loadError(rule(when: "context.time / 0 > 1"))?.description == "test.policy:6:22: unexpected character \"/\"")
        #expect(try PolicyFixtures.loadError(rule(when: "context.consent\u{0}"))?.description == "test.policy:6:24: unexpected character U+0000")
        #expect(try PolicyFixtures.loadError(rule(when: "99999999999999999999 > 1"))?.message == "the number is too large")
        #expect(try PolicyFixtures.loadError(rule(when: "context.time > 2025-06-01"))?.message.hasPrefix("a number must not run into letters") == true)
        #expect(try PolicyFixtures.loadError("\u{FEFF}" + rule(when: "context.consent")) == nil)
    }

    @Test func caseFilesAreCheckedLikePolicies() throws {
        let schema = try PolicyFixtures.shipped().schema
        #expect(throws: PolicyLoadError.self) {
            try PolicyTestSuite(schema: schema, files: [("bad.cases", [0x63, 0x61, 0x73, 0x65, 0x20, 0xFF])])
        }
        #expect(throws: PolicyLoadError.self) {
            try PolicyTestSuite(schema: schema, files: [("big.cases", String(repeating: "#\n", count: 600_000))])
        }
    }
}
