import Foundation
import GRDB
import PatronVaultAudit
import PatronVaultPolicy
import Testing
@testable import PatronVaultCore

/// Every public operation that reaches patron data, staff accounts, statistics or the audit trail
/// asks the gate: under a policy set that forbids everything, each one fails with a denial, leaves
/// a refusal on the audit trail, and changes nothing. That no operation can reach the stores
/// without the gate is a type-level guarantee (only the gate can make the `GatePass` every store
/// transaction takes); these cases check that each operation's gate decision is the right one.
///
/// `signIn` (which establishes who is asking) and `maintenance` (which finishes work already
/// decided) act for no principal and are not gated.
@Suite("No bypass of the policy engine")
struct NoBypassTests {
    /// One public operation of a room, and the actions its refusal is recorded under.
    struct Operation: Sendable {
        let actions: Set<AccessAction>
        let patronActs: Bool
        let run: @Sendable (_ vault: Vault, _ staff: Principal, _ patron: Principal) async throws -> Void
    }

    static let operations: [String: Operation] = [
        "administration.addStaff": Operation(actions: [.staffManage], patronActs: false) { vault, staff, _ in
            _ = try await vault.administration.addStaff(name: "x", role: .staff, by: staff)
        },
        "administration.listStaff": Operation(actions: [.staffManage], patronActs: false) { vault, staff, _ in
            _ = try await vault.administration.listStaff(by: staff)
        },
        "administration.revokeStaff": Operation(actions: [.staffManage], patronActs: false) { vault, staff, _ in
            _ = try await vault.administration.revokeStaff(name: "desk", by: staff)
        },
        "desk.registerPatron": Operation(actions: [.patronRegister], patronActs: false) { vault, staff, _ in
            try await vault.desk.registerPatron(VaultFixture.registration(card: "NEW1"), pin: nil, by: staff)
        },
        "desk.importPatrons": Operation(actions: [.patronRegister], patronActs: false) { vault, staff, _ in
            _ = try await vault.desk.importPatrons([PatronImport(registration: VaultFixture.registration(card: "NEW2"))], by: staff)
        },
        "desk.patronProfile": Operation(actions: [.patronRead, .loanReadOpen, .loanReadHeld], patronActs: false) { vault, staff, _ in
            _ = try await vault.desk.patronProfile(card: "P1", purpose: "circulation", by: staff)
        },
        "desk.findPatrons": Operation(actions: [.patronFind], patronActs: false) { vault, staff, _ in
            _ = try await vault.desk.findPatrons(email: "p1@example.org", purpose: "circulation", by: staff)
        },
        "desk.updatePatron": Operation(actions: [.patronUpdate], patronActs: false) { vault, staff, _ in
            var update = PatronUpdate()
            update.phone = "1"
            try await vault.desk.updatePatron(card: "P1", with: update, by: staff)
        },
        "desk.resetPIN": Operation(actions: [.patronResetPIN], patronActs: false) { vault, staff, _ in
            try await vault.desk.resetPIN(card: "P1", pin: VaultFixture.pin("9999"), purpose: "account-help", by: staff)
        },
        "desk.patronHistory": Operation(actions: [.historyRead], patronActs: false) { vault, staff, _ in
            _ = try await vault.desk.patronHistory(card: "P1", purpose: "circulation", by: staff)
        },
        "desk.checkout": Operation(actions: [.loanCheckout], patronActs: false) { vault, staff, _ in
            _ = try await vault.desk.checkout(card: "P1", item: "NEWITEM", title: "T", author: nil, due: nil, branch: nil, by: staff)
        },
        "desk.returnItem": Operation(actions: [.loanReturn], patronActs: false) { vault, staff, _ in
            _ = try await vault.desk.returnItem("ITEM1", by: staff)
        },
        "desk.settleFee": Operation(actions: [.loanSettleFee], patronActs: false) { vault, staff, _ in
            _ = try await vault.desk.settleFee(card: "P1", item: "ITEM1", purpose: "fines", by: staff)
        },
        "desk.statistics": Operation(actions: [.statsRead], patronActs: false) { vault, staff, _ in
            _ = try await vault.desk.statistics(by: staff)
        },
        "selfService.myProfile": Operation(actions: [.patronRead, .loanReadOpen, .loanReadHeld], patronActs: true) { vault, _, patron in
            _ = try await vault.selfService.myProfile(by: patron)
        },
        "selfService.myHistory": Operation(actions: [.historyRead], patronActs: true) { vault, _, patron in
            _ = try await vault.selfService.myHistory(by: patron)
        },
        "selfService.changeOwnPIN": Operation(actions: [.patronChangePIN], patronActs: true) { vault, _, patron in
            try await vault.selfService.changeOwnPIN(to: VaultFixture.pin("1111"), by: patron)
        },
        "selfService.myAccesses": Operation(actions: [.auditReadOwn], patronActs: true) { vault, _, patron in
            _ = try await vault.selfService.myAccesses(by: patron)
        },
        "oversight.verifyAudit": Operation(actions: [.auditVerify], patronActs: false) { vault, staff, _ in
            _ = try await vault.oversight.verifyAudit(against: nil, by: staff)
        },
        "oversight.auditCheckpoint": Operation(actions: [.auditVerify], patronActs: false) { vault, staff, _ in
            _ = try await vault.oversight.auditCheckpoint(by: staff)
        },
        "oversight.auditVerifyingKey": Operation(actions: [.auditKey], patronActs: false) { vault, staff, _ in
            _ = try await vault.oversight.auditVerifyingKey(by: staff)
        },
        "oversight.auditLog": Operation(actions: [.auditRead], patronActs: false) { vault, staff, _ in
            _ = try await vault.oversight.auditLog(AuditLogFilter(), by: staff)
        },
        "oversight.auditExposure": Operation(actions: [.auditExposure], patronActs: false) { vault, staff, _ in
            _ = try await vault.oversight.auditExposure(staffName: "desk", keyVersion: nil, since: nil, until: nil, by: staff)
        },
    ]

    @Test(
        "a policy set that forbids everything stops the operation, records the refusal and changes nothing",
        arguments: operations.keys.sorted())
    func forbidEverythingStops(_ name: String) async throws {
        let operation = try #require(Self.operations[name])
        try await VaultFixture.with { fixture in
            let vault = fixture.vault
            _ = try await fixture.staff("desk")
            try await vault.desk.registerPatron(VaultFixture.registration(card: "P1", history: .keep), pin: VaultFixture.pin("2468"), by: fixture.admin)
            _ = try await vault.desk.checkout(card: "P1", item: "ITEM1", title: "A Title", author: nil, due: nil, branch: nil, by: fixture.admin)
            _ = try await vault.desk.checkout(card: "P1", item: "ITEM2", title: "Another Title", author: nil, due: nil, branch: nil, by: fixture.admin)
            _ = try await vault.desk.returnItem("ITEM2", by: fixture.admin)
            let patron = try await vault.signIn.patron(card: "P1", pin: VaultFixture.pin("2468"))
            await vault.close()

            let before = try StoredState(fixture)
            let locked = try await fixture.reopened(with: .forbidEverything())
            do {
                try await operation.run(locked, fixture.admin, patron)
                Issue.record("\(name) ran under forbid-everything")
            } catch let error as VaultError {
                #expect(error.kind == .permissionDenied, "\(name): \(error.message)")
            }
            await locked.close()
            let after = try StoredState(fixture)
            #expect(after.data == before.data, "\(name) changed stored data")

            let shipped = try await fixture.reopened()
            let trail = try await shipped.oversight.auditLog(AuditLogFilter(), by: fixture.admin)
            let verification = try await shipped.oversight.verifyAudit(against: nil, by: fixture.admin)
            await shipped.close()
            let added = trail.filter { $0.sequence > before.lastAuditSequence && $0.sequence <= after.lastAuditSequence }
            #expect(Set(added.map(\.action)) == Set(operation.actions.map(\.rawValue)), "\(name)")
            #expect(!added.isEmpty && added.allSatisfy { $0.decision == .forbid })
            #expect(added.allSatisfy { $0.principalID == (operation.patronActs ? patron.id : fixture.admin.id) })
            #expect(verification.isIntact)
        }
    }
}

/// Every stored row of both files except the audit trail's own growth: the rows it holds, and
/// the last audit sequence number, read on fresh read-only connections.
struct StoredState {
    let data: [String: [String]]
    let lastAuditSequence: Int

    init(_ fixture: VaultFixture) throws {
        var data: [String: [String]] = [:]
        for file in [SQLiteStorage.recordsFileName, SQLiteStorage.keysFileName] {
            let queue = try fixture.database(file)
            defer { try? queue.close() }
            try queue.read { db in
                let tables = try String.fetchAll(db, sql: """
                    SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('audit_entry', 'audit_state', 'grdb_migrations')
                    """)
                for table in tables {
                    data["\(file)/\(table)"] = try Row.fetchAll(db, sql: "SELECT * FROM \(table)").map(Self.describe).sorted()
                }
            }
        }
        self.data = data
        lastAuditSequence = try fixture.count("SELECT coalesce(max(seq), 0) FROM audit_entry", in: SQLiteStorage.recordsFileName)
    }

    private static func describe(_ row: Row) -> String {
        row.databaseValues.map { value in
            switch value.storage {
            case .null: "null"
            case .int64(let number): String(number)
            case .double(let number): String(number)
            case .string(let text): "'\(text)'"
            case .blob(let bytes): "x'" + bytes.map { String(format: "%02x", $0) }.joined() + "'"
            }
        }.joined(separator: ",")
    }
}
