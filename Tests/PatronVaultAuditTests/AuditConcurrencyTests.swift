import Foundation
import GRDB
import Testing
@testable import PatronVaultAudit

@Suite("Concurrent appends")
struct AuditConcurrencyTests {
    @Test("two connections appending 1,000 entries each at once keep one chain")
    func twoWriters() async throws {
        let fixture = try AuditFixture(checkpointInterval: 100)
        let trail = fixture.trail
        let path = fixture.databasePath
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<2 {
                group.addTask {
                    let queue = try AuditFixture.openQueue(at: path)
                    for index in 1...1000 {
                        _ = try queue.write { db in
                            try trail.append(AuditFixture.draft(index, principalID: "staff-\(writer)"), in: db)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let result = try fixture.verify()
        #expect(result.isIntact, "\(result.problem ?? "")")
        #expect(result.entryCount == 2000)
        #expect(result.checkpointsVerified == 20)
        let perWriter = try await fixture.queue.read {
            try Int.fetchAll($0, sql: "SELECT count(*) FROM audit_entry GROUP BY principal_id ORDER BY principal_id")
        }
        #expect(perWriter == [1000, 1000])
    }
}
