import Foundation
import PatronVaultAudit
@testable import PatronVaultPostgres
import Synchronization
import Testing
@testable import PatronVaultCore

/// On PostgreSQL a lookup reads on a reader snapshot and takes the write lock only to append its
/// entries. These tests commit a change between the two, as another daemon would, and check the
/// answer is still the one the lookup would give under the lock when its entries are appended.
@Suite("Lookups on reader snapshots", .enabled(if: FixtureBackend.server != nil))
struct SnapshotLookupTests {
    @Test("a lookup is answered from its snapshot; a change committed between its read and its entry makes it read again under the lock")
    func changeBetweenReadAndEntry() async throws {
        try await VaultFixture.with(backend: .postgres) { fixture in
            let (vault, hook, desk) = try await Self.hookedVault(fixture)
            let opened = hook.reads
            let plain = try await vault.desk.patronProfile(card: "S1", purpose: "circulation", by: desk)
            #expect(plain.openLoans?.isEmpty == true)
            #expect(hook.reads == opened + 1, "the lookup read on a snapshot")

            // A checkout commits after the lookup's snapshot and before its entry.
            hook.once { _ = try await vault.desk.checkout(card: "S1", item: "IT1", title: "T", author: nil, due: nil, branch: nil, by: desk) }
            let raced = try await vault.desk.patronProfile(card: "S1", purpose: "circulation", by: desk)
            #expect(raced.openLoans?.count == 1, "the answer is the one under the lock, after the checkout")
            #expect(hook.reads == opened + 2)

            // An unknown card is answered from the snapshot too, and recorded.
            await #expect(throws: VaultError.self) { try await vault.desk.patronProfile(card: "NOPE", purpose: "circulation", by: desk) }
            #expect(hook.reads == opened + 3)

            let entries = try await vault.oversight.auditLog(AuditLogFilter(staffName: "desk"), by: fixture.admin)
            #expect(entries.filter { $0.action == AccessAction.patronRead.rawValue }.count == 3, "one entry per lookup, none for the snapshot read")
            #expect(try await vault.oversight.verifyAudit(against: nil, by: fixture.admin).isIntact)
            await vault.close()
        }
    }

    @Test("the change mark is no security control: an editor who sets it back as a change commits gets one answer from the older snapshot, and no more")
    func markSetBackByAnEditor() async throws {
        try await VaultFixture.with(backend: .postgres) { fixture in
            let (vault, hook, desk) = try await Self.hookedVault(fixture)
            guard case .postgresPair(let configuration, _) = fixture.backend else { throw SnapshotTestFailure() }
            let editor = PostgresLink(configuration.records, name: "the records database")
            defer { editor.close() }
            hook.once {
                _ = try await vault.desk.checkout(card: "S1", item: "IT1", title: "T", author: nil, due: nil, branch: nil, by: desk)
                try editor.withSession { session in _ = try session.execute("UPDATE audit_state SET change_mark = change_mark - 1") }
            }
            let stale = try await vault.desk.patronProfile(card: "S1", purpose: "circulation", by: desk)
            #expect(stale.openLoans?.isEmpty == true, "the snapshot's answer, as SECURITY.md says an edited mark allows")
            let next = try await vault.desk.patronProfile(card: "S1", purpose: "circulation", by: desk)
            #expect(next.openLoans?.count == 1, "the next lookup sees the checkout")
            #expect(try await vault.oversight.verifyAudit(against: nil, by: fixture.admin).isIntact)
            await vault.close()
        }
    }

    /// The fixture's vault opened again with its record store hooked, a patron with card S1, and
    /// a desk account.
    private static func hookedVault(_ fixture: VaultFixture) async throws -> (Vault, ReadHook, Principal) {
        try await fixture.vault.desk.registerPatron(VaultFixture.registration(card: "S1"), pin: nil, by: fixture.admin)
        let desk = try await fixture.staff("desk")
        await fixture.vault.close()
        guard case .postgresPair(let configuration, _) = fixture.backend else { throw SnapshotTestFailure() }
        let real = try PostgresStorage.open(configuration, create: false)
        let hook = ReadHook()
        let vault = try await Vault.open(
            directory: fixture.directory, storage: VaultStorage(records: HookedRecordStore(base: real.records, hook: hook), keys: real.keys),
            masterKey: .keyFile(fixture.keyFile), policies: VaultFixture.shippedPolicies, configuration: fixture.configuration)
        return (vault, hook, desk)
    }
}

struct SnapshotTestFailure: Error {}

/// Runs a test's closure once after a snapshot read ends, and counts snapshot reads.
final class ReadHook: Sendable {
    private let state = Mutex<(reads: Int, next: (@Sendable () async throws -> Void)?)>((0, nil))

    var reads: Int { state.withLock { $0.reads } }

    func once(_ body: @escaping @Sendable () async throws -> Void) {
        state.withLock { $0.next = body }
    }

    func readEnded() async throws {
        let next = state.withLock { state in
            state.reads += 1
            defer { state.next = nil }
            return state.next
        }
        try await next?()
    }
}

/// A record store that delegates to a real one and calls its hook after every snapshot read.
struct HookedRecordStore: RecordStoreWrapper {
    let base: any RecordStore
    let hook: ReadHook

    func read<T: Sendable>(_ pass: GatePass, _ body: @escaping @Sendable (any RecordReader) throws -> T) async throws -> T {
        let result = try await base.read(pass, body)
        try await hook.readEnded()
        return result
    }

    func readLookup<T: Sendable>(_ pass: GatePass, _ body: @escaping @Sendable (any RecordReader) throws -> T) async throws -> T {
        let result = try await base.readLookup(pass, body)
        try await hook.readEnded()
        return result
    }

    func write<T: Sendable>(_ pass: GatePass, _ body: @escaping @Sendable (any RecordTransaction) throws -> T) async throws -> T {
        try await base.write(pass, body)
    }
    func write<T: Sendable>(
        _ pass: GatePass, committingAfter prerequisite: @escaping @Sendable () async throws -> Void,
        _ body: @escaping @Sendable (any RecordTransaction) throws -> T
    ) async throws -> T {
        try await base.write(pass, committingAfter: prerequisite, body)
    }
}
