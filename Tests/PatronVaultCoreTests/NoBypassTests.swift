import Foundation
import PatronVaultAudit
import PatronVaultPolicy
import Testing
@testable import PatronVaultCore

/// Every public operation on patron data asks the policy engine: under a policy set that
/// forbids everything, each one fails with a denial and returns nothing.
@Suite("No bypass of the policy engine")
struct NoBypassTests {
    /// Operations that establish who is asking, or load rules; they touch no patron data on
    /// behalf of a principal and so are not gated.
    static let ungated: Set<String> = ["authenticateStaff", "authenticatePatron", "loadPolicies", "initialize", "open"]

    static func operations(_ vault: Vault, staff: Principal, patron: Principal) -> [String: () throws -> Void] {
        [
            "addStaff": { _ = try vault.addStaff(name: "x", role: .staff, by: staff) },
            "listStaff": { _ = try vault.listStaff(by: staff) },
            "revokeStaff": { _ = try vault.revokeStaff(name: "desk", by: staff) },
            "registerPatron": { try vault.registerPatron(VaultFixture.registration(card: "NEW1"), pin: nil, by: staff) },
            "importPatrons": { try vault.importPatrons([PatronImport(registration: VaultFixture.registration(card: "NEW2"))], by: staff) },
            "patronProfile": { _ = try vault.patronProfile(card: "P1", purpose: "circulation", by: staff) },
            "findPatrons": { _ = try vault.findPatrons(email: "p1@example.org", purpose: "circulation", by: staff) },
            "updatePatron": { var u = PatronUpdate(); u.phone = "1"; try vault.updatePatron(card: "P1", with: u, by: staff) },
            "resetPIN": { try vault.resetPIN(card: "P1", pin: Array("9999".utf8), purpose: "account-help", by: staff) },
            "patronHistory": { _ = try vault.patronHistory(card: "P1", purpose: "circulation", by: staff) },
            "checkout": { _ = try vault.checkout(card: "P1", item: "NEWITEM", title: "T", author: nil, due: nil, branch: nil, by: staff) },
            "returnItem": { _ = try vault.returnItem("ITEM1", by: staff) },
            "myProfile": { _ = try vault.myProfile(by: patron) },
            "myHistory": { _ = try vault.myHistory(by: patron) },
            "statistics": { _ = try vault.statistics(by: staff) },
            "verifyAudit": { _ = try vault.verifyAudit(against: nil, by: staff) },
            "auditCheckpoint": { _ = try vault.auditCheckpoint(by: staff) },
            "auditVerifyingKey": { _ = try vault.auditVerifyingKey(by: staff) },
            "auditLog": { _ = try vault.auditLog(AuditLogFilter(), by: staff) },
            "auditExposure": { _ = try vault.auditExposure(staffName: "desk", keyVersion: nil, since: nil, until: nil, by: staff) },
            "myAccesses": { _ = try vault.myAccesses(by: patron) },
            "changeOwnPIN": { try vault.changeOwnPIN(to: Array("1111".utf8), by: patron) },
        ]
    }

    @Test("a policy set that forbids everything stops every public operation")
    func forbidEverythingStopsAll() throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        let vault = fixture.vault
        _ = try vault.addStaff(name: "desk", role: .staff, by: fixture.admin)
        try vault.registerPatron(VaultFixture.registration(card: "P1", history: .keep), pin: Array("2468".utf8), by: fixture.admin)
        _ = try vault.checkout(card: "P1", item: "ITEM1", title: "A Title", author: nil, due: nil, branch: nil, by: fixture.admin)
        let patron = try vault.authenticatePatron(card: "P1", pin: Array("2468".utf8))

        let locked = try fixture.reopened(with: .forbidEverything())
        for (name, operation) in Self.operations(locked, staff: fixture.admin, patron: patron) {
            #expect(throws: VaultError.self, "\(name) ran under forbid-everything") { try operation() }
            do { try operation() } catch let error as VaultError { #expect(error.kind == .permissionDenied, "\(name): \(error.message)") }
        }
        // Every refusal was recorded, and the trail still verifies.
        let trail = try vault.verifyAudit(against: nil, by: fixture.admin)
        #expect(trail.isIntact)
        #expect(try vault.auditLog(AuditLogFilter(), by: fixture.admin).filter { $0.decision == .forbid }.count >= Self.operations(locked, staff: fixture.admin, patron: patron).count)
        // Nothing changed: the open vault still shows the one loan and one patron.
        let profile = try vault.patronProfile(card: "P1", purpose: "circulation", by: fixture.admin)
        #expect(profile.openLoans.count == 1)
    }

    @Test("the list above covers every public operation of the vault")
    func everyPublicOperationIsListed() throws {
        let folder = VaultFixture.repository.appendingPathComponent("Sources/PatronVaultCore/Vault")
        var declared: Set<String> = []
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file == "Vault.swift" || file.hasPrefix("Vault+") {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                guard trimmed.hasPrefix("public func ") || trimmed.hasPrefix("public static func ") else { continue }
                let afterFunc = trimmed.components(separatedBy: "func ")[1]
                declared.insert(String(afterFunc.prefix { $0.isLetter || $0.isNumber }))
            }
        }
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        let listed = Set(Self.operations(fixture.vault, staff: fixture.admin, patron: fixture.admin).keys)
        #expect(declared.subtracting(Self.ungated) == listed)
    }
}
