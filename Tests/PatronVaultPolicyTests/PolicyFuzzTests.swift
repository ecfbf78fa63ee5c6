import Foundation
import Testing
@testable import PatronVaultPolicy

/// Thousands of random and mutated files through the loader: nothing crashes, every error has
/// a real location in a file that was given, and whatever loads still decides every probe.
@Suite struct PolicyFuzzTests {
    /// Inputs that once broke the loader, kept so they stay fixed.
    static let regressions: [String] = [
        "rule",
        "rule r \"d\" permit roles: staff actions: patron.read when:",
        "rule r \"d\" permit roles: staff actions: patron.read when: not",
        "rule r \"d\" permit roles: staff actions: patron.read when: context.purpose not",
        "rule r \"d\" permit roles: staff actions: patron.read when: exists(",
        "rule r \"d\" permit roles: staff actions: patron.read when: context.purpose in [",
        "rule r \"d\" permit roles: staff actions: patron.read when: date(\"2025-13-01\") < context.time",
        "rule r \"d\" permit roles: staff actions: patron.read when: datetime(\"2025-06-01T24:00:00Z\") < context.time",
        "rule r \"d\" permit roles: staff actions: patron.read when: datetime(\"2025-06-01T09:00:00.Z\") < context.time",
        "rule r \"d\" permit roles: staff actions: patron.read when: \"a\" == \"a\\",
        "rule r \"\\q\" permit",
        "roles:",
    ]

    @Test func mutatedFilesNeverCrashTheLoader() throws {
        let schemaText = try PolicyFixtures.schemaText
        let schemaBytes = Array(schemaText.utf8)
        let shipped = try PolicyFixtures.shippedFiles().map { ($0.name, Array($0.text.utf8)) }
        let reference = try PolicyFixtures.shipped()
        let probes = PolicySemanticsTests.probes(actions: reference.schema.actions)
        let vocabulary = ["rule", "permit", "forbid", "roles:", "actions:", "when:", "and", "or", "not", "in", "has", "exists(",
                          "(", ")", "[", "]", ",", "==", "!=", "<", ">=", "\"", "context.purpose", "resource.patron", "principal.patron",
                          "true", "false", "any", "date(\"2025-06-01\")", "\"fines\"", "42", "\n", "#", "\u{FF}", "\\"]
        var generator = SplitMix64(seed: 0x5EED)
        var loaded = 0
        var inputs: [[UInt8]] = Self.regressions.map { Array($0.utf8) }
        for _ in 0..<5_000 {
            var bytes = shipped[Int.random(in: 0..<shipped.count, using: &generator)].1
            switch Int.random(in: 0..<6, using: &generator) {
            case 0:
                for _ in 0..<Int.random(in: 1...8, using: &generator) where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
                }
            case 1:
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator)))
            case 2:
                let other = shipped[Int.random(in: 0..<shipped.count, using: &generator)].1
                let cut = Int.random(in: 0...bytes.count, using: &generator)
                let from = Int.random(in: 0...other.count, using: &generator)
                bytes = Array(bytes[..<cut] + other[from...])
            case 3:
                for _ in 0..<Int.random(in: 1...6, using: &generator) {
                    let word = Array((" " + vocabulary.randomElement(using: &generator)! + " ").utf8)
                    bytes.insert(contentsOf: word, at: Int.random(in: 0...bytes.count, using: &generator))
                }
            case 4:
                if !bytes.isEmpty {
                    let start = Int.random(in: 0..<bytes.count, using: &generator)
                    let end = min(bytes.count, start + Int.random(in: 1...40, using: &generator))
                    bytes.removeSubrange(start..<end)
                }
            default:
                bytes = (0..<Int.random(in: 0...200, using: &generator)).map { _ in
                    Array(vocabulary.randomElement(using: &generator)!.utf8) + [0x20]
                }.flatMap { $0 }
            }
            inputs.append(bytes)
        }
        for bytes in inputs {
            do {
                let set = try PolicySet(schema: ("schema.pvschema", schemaBytes), files: [("fuzz.policy", bytes)])
                loaded += 1
                for probe in probes.prefix(64) { _ = set.decide(probe) }
            } catch {
                #expect(error.file == "fuzz.policy")
                #expect(error.line >= 1 && error.column >= 1)
                #expect(error.line <= bytes.filter { $0 == 0x0A }.count + 1, "\(error)")
                #expect(!error.message.isEmpty)
            }
        }
        #expect(loaded > 0)
    }

    @Test func mutatedSchemasNeverCrashTheLoader() throws {
        let schema = Array(try PolicyFixtures.schemaText.utf8)
        var generator = SplitMix64(seed: 42)
        for _ in 0..<1_000 {
            var bytes = schema
            if Bool.random(using: &generator) {
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator)))
            } else {
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            do {
                _ = try PolicySchema(name: "schema.pvschema", bytes: bytes)
            } catch {
                #expect(error.file == "schema.pvschema" && error.line >= 1 && error.column >= 1)
            }
        }
    }
}
