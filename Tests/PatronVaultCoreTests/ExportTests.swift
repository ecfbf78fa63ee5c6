import Foundation
import GRDB
import PatronVaultCrypto
import Testing
@testable import PatronVaultCore

/// A patron's export: complete against everything the vault holds keyed to them, and checkable
/// with the public export key alone, so that any edited byte, added or removed file, or record
/// left out is caught.
@Suite("Patron data export")
struct ExportTests {
    static let card = "EX-1001"
    static let pin = "4242"

    /// A keep patron with every kind of record: registration, loans out, history, a registration
    /// changed once (its old version shredded), a return whose shred a held reader delays (a
    /// queued shred), a failed sign-in (PIN state), staff lookups; and a second patron beside.
    static func exercisedPatron(_ fixture: VaultFixture) async throws -> Principal {
        let vault = fixture.vault
        let desk = try await fixture.staff("desk")
        try await vault.desk.registerPatron(
            VaultFixture.registration(card: card, name: "Perpetua Inglenook", history: .keep), pin: VaultFixture.pin(pin), by: desk)
        try await vault.desk.registerPatron(VaultFixture.registration(card: "EX-OTHER", name: "Other Person"), pin: nil, by: desk)
        for (item, title) in [("I-1", "Moss and Memory"), ("I-2", "The Tin Orchard"), ("I-3", "Lamps at Low Tide"), ("I-9", "Other's Book")] {
            _ = try await vault.desk.checkout(card: item == "I-9" ? "EX-OTHER" : card, item: item, title: title, author: nil, due: nil, branch: nil, by: desk)
        }
        _ = try await vault.desk.returnItem("I-1", by: desk)
        var update = PatronUpdate()
        update.phone = "+44 20 7946 0999"
        try await vault.desk.updatePatron(card: card, with: update, by: desk)
        let reader = try ShreddingTests.heldReader(fixture)
        let returned = try await vault.desk.returnItem("I-2", by: desk)
        #expect(returned.outcome == .keptAsHistory)
        try reader.inDatabase { db in try db.commit() }
        try reader.close()
        _ = try await vault.desk.patronProfile(card: card, purpose: "circulation", by: desk)
        _ = try? await vault.desk.patronHistory(card: card, purpose: "circulation", by: desk)
        // Signed in first: a good sign-in clears the failure count the wrong one leaves.
        let patron = try await vault.signIn.patron(card: card, pin: VaultFixture.pin(pin))
        await #expect(throws: VaultError.self) { try await vault.signIn.patron(card: card, pin: VaultFixture.pin("9999")) }
        return patron
    }

    static func json(_ bundle: ExportBundle) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(bundle.files[0].bytes)) as? [String: Any])
    }

    @Test("every row keyed to the patron (records, queued shreds, keys, PIN state, audit entries) is in the export, and nothing of another patron")
    func completeness() async throws {
        try await VaultFixture.with { fixture in
            let patron = try await Self.exercisedPatron(fixture)
            let bundle = try await fixture.vault.selfService.exportMyData(by: patron)
            let data = try Self.json(bundle)
            let pseudonym = try #require(data["pseudonym"] as? String)
            let blob = Data(try #require(Hex.decode(pseudonym)))

            let vaultDB = try fixture.database("vault.db")
            let keysDB = try fixture.database("keys.db")
            defer { try? vaultDB.close(); try? keysDB.close() }
            #expect(try await vaultDB.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM patron WHERE pseudonym = ?", arguments: [blob]) } == 1)

            func reference(_ object: Any?) -> String? {
                guard let record = (object as? [String: Any])?["record"] as? [String: Any], let id = record["id"] as? String,
                      let version = record["version"] as? Int else { return nil }
                return "\(id)#\(version)"
            }
            var shown = Set<String>()
            if let registration = reference(data["registration"]) { shown.insert(registration) }
            for list in ["openLoans", "history"] {
                for loan in data[list] as? [Any] ?? [] { if let r = reference(loan) { shown.insert(r) } }
            }
            let pending = Set((data["pendingDestruction"] as? [[String: Any]] ?? []).map { "\($0["id"] as? String ?? "")#\($0["version"] as? Int ?? -1)" })
            let members = Set(((data["recordSet"] as? [String: Any])?["members"] as? [[String: Any]] ?? []).map {
                "\($0["id"] as? String ?? "")#\($0["version"] as? Int ?? -1)"
            })

            let rows = try await vaultDB.read { db in
                try Row.fetchAll(db, sql: "SELECT hex(id) AS id, version FROM record WHERE patron = ?", arguments: [blob])
                    .map { "\(($0["id"] as String).lowercased())#\($0["version"] as Int)" }
            }
            #expect(rows.count == 4)
            #expect(Set(rows) == shown)
            let queued = try await vaultDB.read { db in
                try Row.fetchAll(db, sql: "SELECT hex(record_id) AS id, version FROM pending_shred WHERE patron = ?", arguments: [blob])
                    .map { "\(($0["id"] as String).lowercased())#\($0["version"] as Int)" }
            }
            #expect(!queued.isEmpty, "the held reader should have left a shred queued")
            #expect(Set(queued) == pending)
            let keyed = try await keysDB.read { db in
                try Row.fetchAll(db, sql: "SELECT hex(record_id) AS id, version FROM record_key WHERE pseudonym = ?", arguments: [blob])
                    .map { "\(($0["id"] as String).lowercased())#\($0["version"] as Int)" }
            }
            #expect(Set(keyed) == members)
            #expect(Set(rows).isSubset(of: members))

            let failures = try await vaultDB.read { try Int.fetchOne($0, sql: "SELECT failures FROM pin_attempt WHERE pseudonym = ?", arguments: [blob]) }
            #expect(failures == 1)
            #expect((data["signInLockout"] as? [String: Any])?["failedAttempts"] as? Int == failures)

            let sequences = try await vaultDB.read { db in
                try Int64.fetchAll(db, sql: "SELECT seq FROM audit_entry WHERE patron = ? OR principal_id = ? ORDER BY seq", arguments: [pseudonym, pseudonym])
            }
            let exported = (data["auditEntries"] as? [[String: Any]] ?? []).compactMap { ($0["sequence"] as? Int).map(Int64.init) }
            // The export's own entry is written after the data was read: every earlier one is in it.
            #expect(sequences.dropLast() == exported[...])
            let last = try await vaultDB.read { try Row.fetchOne($0, sql: "SELECT action FROM audit_entry WHERE seq = ?", arguments: [sequences.last]) }
            #expect(last?["action"] as String? == "export.read")
            let actions = Set((data["auditEntries"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String })
            #expect(actions.isSuperset(of: ["patron.register", "loan.checkout", "loan.return", "patron.update", "patron.read", "history.read", "patron.sign-in"]))

            let text = String(decoding: bundle.files[0].bytes + bundle.files[1].bytes, as: UTF8.self)
            #expect(text.contains("Perpetua Inglenook") && text.contains("Moss and Memory") && text.contains("The Tin Orchard"))
            #expect(!text.contains("Other Person") && !text.contains("Other's Book") && !text.contains("EX-OTHER"))
            #expect(!text.contains("$argon2"), "the PIN hash is never exported")

            let folder = VaultFixture.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            try bundle.write(to: folder)
            let verified = try ExportBundleVerifier.verify(directory: folder, key: fixture.vault.exportVerifyingKey)
            #expect(verified.records == members.count)
        }
    }

    @Test("export verify fails after any single-byte edit of any file, an added or removed file, or another key")
    func everyByteIsChecked() async throws {
        try await VaultFixture.with { fixture in
            let patron = try await Self.exercisedPatron(fixture)
            let bundle = try await fixture.vault.selfService.exportMyData(by: patron)
            let folder = VaultFixture.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            try bundle.write(to: folder)
            let key = fixture.vault.exportVerifyingKey
            _ = try ExportBundleVerifier.verify(directory: folder, key: key)

            var edits = 0
            for file in bundle.files {
                let url = folder.appendingPathComponent(file.name)
                // Every byte of every file changes; the manifest and its signature are parsed, so
                // each of their bytes changes twice (one flip swaps a letter's case). A file the
                // manifest hashes fails on any change alike, so one flip a byte covers it.
                let parsed = [ExportBundle.manifestFileName, ExportBundle.signatureFileName].contains(file.name)
                for index in file.bytes.indices {
                    for mask: UInt8 in parsed ? [0x01, 0x20] : [0x01] {
                        var edited = file.bytes
                        edited[index] ^= mask
                        try Data(edited).write(to: url)
                        #expect(throws: VaultError.self, "\(file.name) byte \(index) ^ \(mask)") {
                            try ExportBundleVerifier.verify(directory: folder, key: key)
                        }
                        edits += 1
                    }
                }
                try Data(file.bytes).write(to: url)
            }
            #expect(edits > 5_000)
            _ = try ExportBundleVerifier.verify(directory: folder, key: key)

            let extra = folder.appendingPathComponent("notes.txt")
            try Data("added".utf8).write(to: extra)
            #expect(throws: VaultError.self) { try ExportBundleVerifier.verify(directory: folder, key: key) }
            try FileManager.default.removeItem(at: extra)
            for file in bundle.files {
                let url = folder.appendingPathComponent(file.name)
                try FileManager.default.removeItem(at: url)
                #expect(throws: VaultError.self) { try ExportBundleVerifier.verify(directory: folder, key: key) }
                try Data(file.bytes).write(to: url)
            }
            let other = try SigningKey(seed: SymmetricKey.random()).publicKey
            #expect(throws: VaultError.self) { try ExportBundleVerifier.verify(directory: folder, key: other) }
        }
    }

    @Test("a bundle signed by the right key but leaving a record out fails completeness")
    func omissionIsCaughtEvenWhenSigned() async throws {
        try await VaultFixture.with { fixture in
            let patron = try await Self.exercisedPatron(fixture)
            let own = try #require(patron.pseudonym)
            let data = try await fixture.vault.gate.write(patron, [AccessRequest(.exportRead, .export, patron: own)], readsOnly: true) { tx in
                try tx.exportData(of: tx.ownRow(own))
            }
            #expect(data.history.count == 2)
            let key = fixture.vault.gate.ring.exportSigningKey
            let removedMember = data.recordSet.members.filter { $0.id != data.history[0].record.id }
            let cuts: [PatronDataExport] = [
                // The loan left out of the history only.
                data.replacing(history: Array(data.history.dropFirst())),
                // The loan and its member left out, the count adjusted: the sum no longer matches.
                data.replacing(history: Array(data.history.dropFirst()),
                               recordSet: ExportedRecordSet(value: data.recordSet.value, count: data.recordSet.count - 1, members: removedMember)),
            ]
            for cut in cuts {
                let folder = VaultFixture.temporaryFolder()
                defer { try? FileManager.default.removeItem(at: folder) }
                try await ExportBundle.make(cut, signingKey: key).write(to: folder)
                #expect(throws: VaultError.self) { try ExportBundleVerifier.verify(directory: folder, key: key.publicKey) }
            }
            let folder = VaultFixture.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            try await ExportBundle.make(data, signingKey: key).write(to: folder)
            _ = try ExportBundleVerifier.verify(directory: folder, key: key.publicKey)
        }
    }

    @Test("only the patron exports their data; staff and admins are refused, and the refusal is recorded")
    func onlyThePatron() async throws {
        try await VaultFixture.with { fixture in
            _ = try await Self.exercisedPatron(fixture)
            await #expect(throws: VaultError.self) { try await fixture.vault.selfService.exportMyData(by: fixture.admin) }
            #expect(throws: VaultError.self) { try ExportBundle.checkTarget(URL(fileURLWithPath: "/nonexistent-parent/export")) }
        }
    }
}

extension PatronDataExport {
    func replacing(history: [ExportedRecord<Loan>], recordSet: ExportedRecordSet? = nil) -> PatronDataExport {
        PatronDataExport(
            format: format, exportedAt: exportedAt, pseudonym: pseudonym, registration: registration, openLoans: openLoans, history: history, heldLoans: heldLoans,
            signInLockout: signInLockout, auditEntries: auditEntries, pendingDestruction: pendingDestruction, legalOrders: legalOrders,
            recordSet: recordSet ?? self.recordSet)
    }
}
