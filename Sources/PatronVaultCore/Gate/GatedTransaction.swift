import Foundation
import PatronVaultAudit
import PatronVaultPolicy

/// What an operation holds while the gate's transaction is open: the record transaction, the
/// operation's own keys, and the decisions to record. Only the gate makes one.
struct GatedTransaction {
    private let gate: Gate
    let principal: Principal
    let records: any RecordTransaction
    /// The operation's time, read once from the injected clock.
    let time: Date
    /// The operation's unwrapped keys, wiped when it ends.
    let keys: OperationKeys
    /// Action-level decisions made before the transaction; each is recorded unless a decision
    /// about a named patron answers the same question.
    private var actionLevel: [RecordedDecision]
    private var answered: [Bool]
    private var decided: [RecordedDecision] = []

    /// Keys written to the key store during this transaction, removed if it does not commit.
    let written: WrittenKeys
    /// Counts an operation over many records states about itself (never values), one per
    /// action-level request in order, carried by their audit entries as the entries' detail.
    var details: [String] = []

    init(
        gate: Gate, principal: Principal, records: any RecordTransaction, time: Date, actionLevel: [RecordedDecision],
        written: WrittenKeys = WrittenKeys()
    ) throws(VaultError) {
        self.written = written
        keys = try OperationKeys(ring: gate.ring, pool: gate.slots)
        self.gate = gate
        self.principal = principal
        self.records = records
        self.time = time
        self.actionLevel = actionLevel
        answered = Array(repeating: false, count: actionLevel.count)
    }

    var ring: KeyRing { gate.ring }

    /// Staff rows checked against their seals: names shown to a patron among their accesses, or
    /// an account an admin acts on, are never taken from an edited row.
    func verified(_ rows: [StaffRow]) throws -> [StaffAccount] {
        let seals = try storage.keys.staffSeals()
        return try rows.map { row throws(VaultError) in try gate.verified(row, seal: seals[row.account.id]) }
    }
    var storage: VaultStorage { gate.storage }
    var defaultTrail: AuditTrail { gate.trail }

    /// Decides a request about a patron found by a lookup, and records it. Throws a denial,
    /// which the gate records and returns after the commit.
    mutating func authorize(_ request: AccessRequest) throws {
        let decision = gate.decide(principal, request, time: time)
        keep(decision)
        guard decision.decision.isPermitted else { throw AccessDenial(error: Gate.denial(decision.decision)) }
    }

    /// Refuses `request` for a reason the policy files cannot state (a rule about two people,
    /// such as dual control): recorded as a refusal naming no rule, then thrown like a denial.
    mutating func refuse(_ request: AccessRequest, because reason: String) throws -> Never {
        let decision = RecordedDecision(request: request, decision: PolicyDecision(effect: .forbid, ruleIDs: [], reason: reason))
        keep(decision)
        throw AccessDenial(error: Gate.denial(decision.decision))
    }

    /// Records a decision about a named patron in place of the action-level one it answers.
    private mutating func keep(_ decision: RecordedDecision) {
        decided.append(decision)
        for (index, earlier) in actionLevel.enumerated() where earlier.request.action == decision.request.action && earlier.request.resource == decision.request.resource {
            answered[index] = true
        }
    }

    /// What the decisions made so far about named patrons reveal together: the fields a staff
    /// view may show.
    var revealed: RevealedFields {
        revealed(since: 0)
    }

    /// How many decisions about named patrons have been made so far.
    var decisionCount: Int { decided.count }

    /// What the decisions made after the first `count` reveal: one search match's own view.
    func revealed(since count: Int) -> RevealedFields {
        decided.dropFirst(count).reduce(.nothing) { $0.union($1.decision.revealed) }
    }

    /// Notes on the entry of each decision made so far which fields it revealed (their names,
    /// never a value), for the trail and the patron's view of their accesses.
    mutating func noteRevealedFields(limitedTo asked: RevealedFields? = nil) {
        details = decided.map { gate.views.auditDetail(asked.map($0.decision.revealed.intersection) ?? $0.decision.revealed) }
    }

    /// The schema's fields as staff views show them.
    var views: ViewFields { gate.views }

    /// Decides every action-level request again, now about the patron a lookup found.
    mutating func authorize(about patron: PatronPseudonym) throws {
        for earlier in actionLevel {
            var request = earlier.request
            request.patron = patron
            try authorize(request)
        }
    }

    /// Names the patron on action-level decisions that no lookup answered (a refusal), so the
    /// entry is recorded against them.
    mutating func attribute(to patron: PatronPseudonym) {
        for index in actionLevel.indices where actionLevel[index].request.patron == nil {
            var request = actionLevel[index].request
            request.patron = patron
            actionLevel[index] = RecordedDecision(request: request, decision: actionLevel[index].decision)
        }
    }

    /// Appends every decision of the operation to the audit trail. With `required`, a failed
    /// append fails the operation; otherwise the entry is attempted in a savepoint and dropped.
    mutating func recordAll(required: Bool) throws {
        var drafts = (decided + actionLevel.indices.filter { !answered[$0] }.map { actionLevel[$0] }).map {
            gate.draft($0, principal: principal, time: time)
        }
        for (index, detail) in details.enumerated() where index < drafts.count { drafts[index].detail = detail }
        let records = records
        let trail = gate.trail
        if required {
            do {
                try records.appendAudit(drafts, to: trail)
            } catch {
                throw VaultError.unrecorded
            }
        } else {
            _ = try? records.undoable { try records.appendAudit(drafts, to: trail) }
        }
        decided.removeAll()
        answered = Array(repeating: true, count: actionLevel.count)
    }

    /// Opens records of one patron: one read of the key store, then one unwrap and one open each.
    func openRecords(_ sealed: [SealedRecord], of patron: PatronPseudonym) throws -> [[UInt8]] {
        try keys.open(sealed, of: patron, from: storage.keys)
    }

    /// Writes new keys, then the patrons and records that need them (the two-file rule). If the
    /// rows fail, the gate's savepoint undoes them and the noted keys are removed.
    func store(patrons: [NewPatronRow] = [], records new: [NewRecord], keys batch: KeyBatch) throws {
        try storage.storeKeys(batch, noting: written)
        try store(patrons: patrons, records: new)
    }

    /// Stores a changed record as its next version under a fresh key: the new key is committed
    /// first, the row replaced, and the old version's key queued for shredding, the same ordered
    /// two-file step as a deletion, so an earlier copy of the row can never be opened again.
    /// `closedOn` closes a loan into `state` (history, or held for a fee; `settledOn` is the day
    /// a held loan's fee was settled).
    func reseal(
        _ old: SealedRecord, of patron: PatronPseudonym, as plaintext: [UInt8], state: RecordState = .open, closedOn day: CalendarDay? = nil,
        settledOn settled: CalendarDay? = nil
    ) throws {
        let (sealed, key) = try keys.resealFresh(plaintext, replacing: old, state: state)
        let version = old.version + 1
        try storage.storeKeys(KeyBatch(recordKeys: [key]), noting: written)
        let tag = ring.recordSet.shredTag(patron: patron, id: old.id, version: old.version)
        if let day {
            try records.closeLoan(old, patron: patron, state: state, on: day, settled: settled, sealed: sealed, version: version, shredTag: tag)
        } else {
            try records.replaceSealed(old, patron: patron, sealed: sealed, version: version, shredTag: tag)
        }
    }

    /// Deletes a record and queues its key's shred, with the tag that lets the shred take the
    /// record's element out of the patron's set.
    @discardableResult
    func destroy(_ record: SealedRecord, of patron: PatronPseudonym) throws -> PendingShred {
        let tag = ring.recordSet.shredTag(patron: patron, id: record.id, version: record.version)
        try records.deleteQueueingShred(record, patron: patron, shredTag: tag)
        return PendingShred(record: record.id, patron: patron, version: record.version, tag: tag)
    }

    /// Deletes every row of the patron in `selection` in one statement; `rows` are those rows,
    /// read and checked in this transaction. Returns the shreds it queued, which the caller
    /// finishes after the commit without reading the queue back. Queued in id order, so the
    /// queue's B-tree and the key store's index are each walked front to back.
    func destroy(_ rows: [SealedRecord], of patron: PatronPseudonym, selection: RecordSelection) throws -> [PendingShred] {
        let key = ring.recordSet
        let tagged = rows.sorted(by: { $0.id.bytes.lexicographicallyPrecedes($1.id.bytes) }).map { ($0, key.shredTag(patron: patron, id: $0.id, version: $0.version)) }
        try records.deleteQueueingShreds(tagged, patron: patron, selection: selection)
        return tagged.map { PendingShred(record: $0.0.id, patron: patron, version: $0.0.version, tag: $0.1) }
    }

    /// Writes patrons and records whose keys the gate is committing alongside
    /// (`Gate.write(_:_:subject:storingKeys:readsOnly:_:)`).
    func store(patrons: [NewPatronRow], records new: [NewRecord]) throws {
        for patron in patrons { try records.insert(patron) }
        try records.insert(new)
    }
}

/// A transaction for sign-in: finds a card, counts attempts, and reads the PIN hash sealed in
/// the registration. It offers nothing else: the registration is opened only to take the hash
/// out, and no other patron data can be reached through it.
struct SignInTransaction {
    private let records: any RecordTransaction
    private let keyStore: any KeyStore
    private let keys: OperationKeys

    init(records: any RecordTransaction, keyStore: any KeyStore, keys: OperationKeys) {
        self.records = records
        self.keyStore = keyStore
        self.keys = keys
    }

    func patron(cardIndex: [UInt8]) throws -> PatronRow? { try records.patron(cardIndex: cardIndex) }
    func pinAttempt(patron: PatronPseudonym) throws -> PINAttempt? { try records.pinAttempt(patron: patron) }
    func setPINAttempt(patron: PatronPseudonym, _ attempt: PINAttempt, on day: CalendarDay) throws {
        try records.setPINAttempt(patron: patron, attempt, on: day)
    }
    func clearPINAttempts(patron: PatronPseudonym) throws { try records.clearPINAttempts(patron: patron) }

    /// The PIN hash of the patron found by a card; the registration must hold that card.
    func pinHash(of patron: PatronRow) throws -> String? {
        guard let sealed = try records.record(id: patron.registrationID, patron: patron.pseudonym), sealed.kind == .registration else {
            throw VaultError.integrity
        }
        let registration = try PatronRegistration(decoding: keys.open([sealed], of: patron.pseudonym, from: keyStore)[0])
        if let asked = patron.askedCard, registration.cardBarcode != asked { throw VaultError.integrity }
        return registration.pinHash
    }
}
