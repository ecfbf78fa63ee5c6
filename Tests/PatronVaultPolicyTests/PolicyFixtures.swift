import Foundation
@testable import PatronVaultPolicy

/// The shipped `Policies/` directory and small builders for synthetic rule sets.
enum PolicyFixtures {
    static let policiesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Policies")

    static let testsDirectory = policiesDirectory.appendingPathComponent("tests")

    static func text(_ name: String, in directory: URL = policiesDirectory) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    static var schemaText: String {
        get throws { try text(PolicySet.schemaFileName) }
    }

    static func shippedFiles() throws -> [(name: String, text: String)] {
        try FileManager.default.contentsOfDirectory(atPath: policiesDirectory.path)
            .filter { $0.hasSuffix(".policy") }.sorted()
            .map { ($0, try text($0)) }
    }

    static func shipped() throws -> PolicySet {
        try PolicySet.load(directory: policiesDirectory)
    }

    static func shippedSuite(for set: PolicySet) throws -> PolicyTestSuite {
        try PolicyTestSuite.load(directory: testsDirectory, schema: set.schema)
    }

    /// A set made of the shipped schema and the given policy files.
    static func set(_ files: [(name: String, text: String)], retention: String? = nil) throws -> PolicySet {
        try PolicySet(schema: (PolicySet.schemaFileName, schemaText), files: files, retention: retention.map { (RetentionSchedule.fileName, $0) })
    }

    /// The shipped retention schedule's text.
    static var shippedRetention: String {
        get throws { try String(contentsOf: policiesDirectory.appendingPathComponent(RetentionSchedule.fileName), encoding: .utf8) }
    }

    static func set(_ policy: String) throws -> PolicySet {
        try set([("test.policy", policy)])
    }

    /// The load error for one policy file, or nil if it loads.
    static func loadError(_ policy: String, name: String = "test.policy") throws -> PolicyLoadError? {
        let schema = try schemaText
        do {
            _ = try PolicySet(schema: (PolicySet.schemaFileName, schema), files: [(name, policy)])
            return nil
        } catch {
            return error
        }
    }

    static func request(
        role: String = "staff", id: String = "s1", patron: String? = nil, action: String,
        kind: String = "registration", resourcePatron: String? = "p1", state: String? = nil,
        purpose: String? = nil, consent: Bool = false, legalOrder: Bool = false,
        time: Date = PolicyTestSuite.fixedTime, frontEnd: String = "cli"
    ) -> PolicyRequest {
        let isPatron = role == "patron"
        return PolicyRequest(
            principalKind: isPatron ? "patron" : "staff", principalRole: role, principalID: id,
            principalPatron: isPatron ? (patron ?? id) : nil, action: action, resourceKind: kind,
            resourcePatron: resourcePatron, resourceState: state, purpose: purpose, consent: consent,
            legalOrder: legalOrder, time: time, frontEnd: frontEnd)
    }
}

/// A seeded generator so fuzz and shuffle tests are repeatable.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
