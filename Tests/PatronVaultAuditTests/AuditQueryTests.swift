import Foundation
import GRDB
import Testing
@testable import PatronVaultAudit

@Suite("Reading the trail")
struct AuditQueryTests {
    private let ada = AuditFixture.pseudonym(0xada)
    private let bo = AuditFixture.pseudonym(0xb0)
    private let cy = AuditFixture.pseudonym(0xc1)

    /// Ten minutes of activity: two staff accounts, three patrons, a key rotation and a refusal.
    private func makeFixture() throws -> AuditFixture {
        let fixture = try AuditFixture()
        let base = AuditFixture.base
        let drafts: [AuditDraft] = [
            AuditFixture.draft(1, principalID: "staff-1", patron: ada, keyVersion: 1, time: base),
            AuditFixture.draft(2, principalID: "staff-1", action: "loan.create", patron: bo, keyVersion: 1, time: base.addingTimeInterval(60)),
            AuditFixture.draft(3, principalID: "staff-2", patron: ada, keyVersion: 1, time: base.addingTimeInterval(120)),
            AuditFixture.draft(4, principalID: "staff-2", patron: cy, decision: .forbid, keyVersion: 2, time: base.addingTimeInterval(180)),
            AuditFixture.draft(5, principalID: "staff-1", patron: cy, keyVersion: 2, time: base.addingTimeInterval(240)),
            AuditFixture.draft(6, principalID: "staff-1", action: "patron.search", patron: nil, keyVersion: 2, time: base.addingTimeInterval(300)),
        ]
        try fixture.queue.write { db in
            for var draft in drafts {
                if draft.action == "patron.search" { draft.patron = nil }
                try fixture.trail.append(draft, in: db)
            }
        }
        return fixture
    }

    @Test("filters combine and results come in sequence order")
    func filters() throws {
        let fixture = try makeFixture()
        let base = AuditFixture.base
        try fixture.queue.read { (db: Database) throws in
            #expect(try AuditQuery().entries(in: db).map(\.sequence) == [1, 2, 3, 4, 5, 6])
            #expect(try AuditQuery(principalID: "staff-1").entries(in: db).map(\.sequence) == [1, 2, 5, 6])
            #expect(try AuditQuery(action: "loan.create").entries(in: db).map(\.sequence) == [2])
            #expect(try AuditQuery(patron: ada).entries(in: db).map(\.sequence) == [1, 3])
            #expect(try AuditQuery(since: base.addingTimeInterval(60), until: base.addingTimeInterval(240)).entries(in: db).map(\.sequence) == [2, 3, 4])
            #expect(try AuditQuery(since: base.addingTimeInterval(60), principalID: "staff-1", action: "patron.read").entries(in: db).map(\.sequence) == [5])
            #expect(try AuditQuery(limit: 2).entries(in: db).map(\.sequence) == [1, 2])
            #expect(try AuditQuery(afterSequence: 2, limit: 2).entries(in: db).map(\.sequence) == [3, 4])
        }
    }

    @Test("a patron sees who looked at their record, when and for what purpose")
    func patronAccesses() throws {
        let fixture = try makeFixture()
        let accesses = try fixture.queue.read { try AuditQuery.concerning(patron: cy).entries(in: $0) }
        #expect(accesses.map(\.principalID) == ["staff-2", "staff-1"])
        #expect(accesses.map(\.decision) == [.forbid, .permit])
        #expect(accesses.map(\.time) == [AuditFixture.base.addingTimeInterval(180), AuditFixture.base.addingTimeInterval(240)])
        #expect(accesses.map(\.purpose) == ["hold pickup", "hold pickup"])
    }

    @Test("exposure by staff account lists distinct patrons it was permitted to touch")
    func exposureByPrincipal() throws {
        let fixture = try makeFixture()
        let base = AuditFixture.base
        try fixture.queue.read { (db: Database) throws in
            #expect(try AuditExposure.patrons(touchedBy: "staff-1", since: nil, until: nil, in: db) == [bo, cy, ada].sorted())
            #expect(try AuditExposure.patrons(touchedBy: "staff-1", since: base.addingTimeInterval(30), until: nil, in: db) == [bo, cy].sorted())
            #expect(try AuditExposure.patrons(touchedBy: "staff-2", since: nil, until: nil, in: db) == [ada], "a forbidden attempt exposes nothing")
            #expect(try AuditExposure.patrons(touchedBy: "staff-9", since: nil, until: nil, in: db).isEmpty)
        }
    }

    @Test("exposure by key version lists the patrons handled under that key")
    func exposureByKeyVersion() throws {
        let fixture = try makeFixture()
        let base = AuditFixture.base
        try fixture.queue.read { (db: Database) throws in
            #expect(try AuditExposure.patrons(keyVersion: 1, since: nil, until: nil, in: db) == [ada, bo].sorted())
            #expect(try AuditExposure.patrons(keyVersion: 2, since: nil, until: nil, in: db) == [cy])
            #expect(try AuditExposure.patrons(keyVersion: 1, since: nil, until: base.addingTimeInterval(60), in: db) == [ada])
        }
    }
}
