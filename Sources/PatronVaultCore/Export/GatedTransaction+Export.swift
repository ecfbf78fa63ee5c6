import PatronVaultAudit
import PatronVaultCrypto

extension GatedTransaction {
    /// Opens everything keyed to a patron for their export. The rows are checked against the
    /// record set first (the slow, complete check), and every key the set counts becomes a
    /// member of the exported set: a row's, or an authentic queued shred's. A key without either
    /// is an integrity failure, so the export either lists every record or is not made.
    func exportData(of patron: PatronRow) throws -> PatronDataExport {
        let own = patron.pseudonym
        let all = try records.records(patron: own)
        let inventory = try storage.keys.recordKeys(patron: own)
        try verifyRecordSet(all, of: own, stored: inventory.keys.count == all.count ? inventory.recordSet : nil, inventory: inventory)
        guard let set = inventory.recordSet else { throw VaultError.integrity }

        var registration: ExportedRecord<PatronRegistration>?
        var openLoans: [ExportedRecord<Loan>] = []
        var history: [ExportedRecord<Loan>] = []
        var held: [ExportedRecord<Loan>] = []
        for (row, plaintext) in zip(all, try openRecords(all, of: own)) {
            let reference = RecordReference(id: row.id.description, version: row.version)
            switch row.kind {
            case .registration:
                guard row.id == patron.registrationID, registration == nil else { throw VaultError.integrity }
                registration = ExportedRecord(record: reference, data: try PatronRegistration(decoding: plaintext))
            case .loan:
                let loan = ExportedRecord(record: reference, data: try Loan.decoding([plaintext], state: row.state)[0])
                switch row.state {
                case .open: openLoans.append(loan)
                case .held: held.append(loan)
                case .closed: history.append(loan)
                }
            }
        }
        guard let registration else { throw VaultError(.corruptVault, "a patron's registration record is missing from the vault") }
        // Loans in the order they were checked out (ties by id): ordering small keys, then the
        // records once, costs far less than sorting the records themselves.
        let byTime: ([ExportedRecord<Loan>]) -> [ExportedRecord<Loan>] = { loans in
            loans.indices.sorted { a, b in
                let x = loans[a], y = loans[b]
                return x.data.checkedOutAt != y.data.checkedOutAt ? x.data.checkedOutAt < y.data.checkedOutAt
                    : x.record.id.utf8.lexicographicallyPrecedes(y.record.id.utf8)
            }.map { loans[$0] }
        }

        let rows = Dictionary(all.map { (RecordOwner(patron: own, record: $0.id, version: $0.version), $0) }, uniquingKeysWith: { first, _ in first })
        let pending = Set(try records.pendingShreds(patron: own).filter(ring.recordSet.isAuthentic).map {
            RecordOwner(patron: own, record: $0.record, version: $0.version)
        })
        // Every queued shred is shown, its key destroyed already or not.
        var destroying = pending.map { RecordReference(id: $0.record.description, version: $0.version) }
        var listed: [(owner: RecordOwner, element: [UInt8], settled: Bool, row: SealedRecord?)] = []
        listed.reserveCapacity(inventory.keys.count)
        for (owner, key) in inventory.keys {
            guard let element = key.element else { throw VaultError.integrity }
            let row = rows[owner]
            if row == nil {
                // An unsettled key without a row is a write that never committed: not a record.
                guard pending.contains(owner) else {
                    if key.settled { throw VaultError.integrity }
                    continue
                }
            }
            listed.append((owner, element, key.settled, row))
        }
        // Members in id order (hex of equal-length ids sorts as the bytes do), then by version.
        let order = listed.indices.sorted { a, b in
            let x = listed[a].owner, y = listed[b].owner
            return x.record == y.record ? x.version < y.version : x.record.bytes.lexicographicallyPrecedes(y.record.bytes)
        }
        let members = order.map { index in
            let (owner, element, settled, row) = listed[index]
            return ExportedRecordSet.Member(
                id: owner.record.description, version: owner.version, kind: row.map { $0.kind == .registration ? "registration" : "loan" },
                state: row?.state.name, element: Hex.encode(element), inSet: settled)
        }
        destroying.sort { ($0.id, $0.version) < ($1.id, $1.version) }

        let names = Dictionary(try verified(records.allStaff()).map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let about = try records.auditEntries(.concerning(patron: own.description))
        let by = try records.auditEntries(AuditQuery(principalID: own.description))
        var seen = Set<Int64>()
        let orders = try legalOrdersNoticed(by: own)
        let entries = (about + by).filter { entry in
            guard let order = LegalOrder.id(inAuditDetail: entry.detail), orders.heldBack.contains(order) else { return seen.insert(entry.sequence).inserted }
            return false
        }.sorted { $0.sequence < $1.sequence }.map { entry in
            ExportedAuditEntry(
                sequence: entry.sequence, time: entry.time, principalKind: entry.principalKind, principalRole: entry.principalRole,
                principalID: entry.principalID, staffName: names[entry.principalID], action: entry.action, resource: entry.resourceKind,
                purpose: entry.purpose, decision: entry.decision.rawValue, rules: entry.ruleIDs, policyDigest: entry.policyDigest, frontEnd: entry.frontEnd,
                detail: entry.detail)
        }
        let lockout = try records.pinAttempt(patron: own).map { SignInLockout(failedAttempts: $0.failures, lockedUntil: $0.lockedUntil) }
        return PatronDataExport(
            format: PatronDataExport.format, exportedAt: time, pseudonym: own.description, registration: registration,
            openLoans: byTime(openLoans), history: byTime(history), heldLoans: byTime(held), signInLockout: lockout, auditEntries: entries,
            pendingDestruction: destroying, legalOrders: orders.due.map { $0.patronNotice },
            recordSet: ExportedRecordSet(value: Hex.encode(set.bytes), count: members.filter(\.inSet).count, members: members))
    }
}
