import Dispatch
import GRDB
import GRDBSQLite
import Synchronization

/// Verification in two stages on two threads: the caller's thread steps through the rows (it
/// owns the connection), checks and encodes them into batches; a second thread hashes, chains and
/// checks checkpoints. Hashing is most of the cost, so the reading thread also hashes leaves of
/// the batch it just filled whenever the hashing thread is behind, and the work spreads over both
/// cores whichever stage is slower. A trail that fits in one batch is verified on the caller's
/// thread alone, without starting the second.
///
/// Safety: `pass` belongs to the hashing thread from `run`'s hand-over until the `finished`
/// semaphore is signalled, and to the caller before and after; each batch belongs to whichever
/// side last took it through `filled` or `emptied`. The semaphores order memory on hand-over.
final class AuditVerifierPipeline: @unchecked Sendable {
    private static let batchCount = 3

    private(set) var pass: AuditVerificationPass
    /// Unchecked for the same reason as `AuditVerifierBatch.encoder`: it is used once per row.
    @exclusivity(unchecked) private var reader: AuditRowReader
    private var outcome: AuditVerification?
    private let batches = (0..<batchCount).map { _ in AuditVerifierBatch() }
    private let filled = DispatchSemaphore(value: 0)
    private let emptied = DispatchSemaphore(value: batchCount - 1)
    private let finished = DispatchSemaphore(value: 0)
    /// Set by the hashing side once it has found a problem, so reading stops early.
    private let hasFailed = Atomic<Bool>(false)
    /// Batches the hashing side has finished with.
    private let consumed = Atomic<Int>(0)

    init(pass: AuditVerificationPass, checksMAC: Bool) {
        self.pass = pass
        reader = AuditRowReader(checksMAC: checksMAC)
    }

    /// Reads every row of `cursor` (whose statement is `raw`) and returns the first problem
    /// found, if any; `pass` then holds the recomputed trail.
    func run(reading cursor: RowCursor, _ raw: SQLiteStatement) throws -> AuditVerification? {
        try run { reader, batch in
            guard try cursor.next() != nil else { return .end }
            return reader.read(raw, into: batch).map(AuditRowStep.failed) ?? .read
        }
    }

    /// The same over rows a store other than SQLite hands over one by one (nil at the end).
    func run(rows next: () throws -> AuditStoredRow?) throws -> AuditVerification? {
        try run { reader, batch in
            guard let row = try next() else { return .end }
            return reader.read(row, into: batch).map(AuditRowStep.failed) ?? .read
        }
    }

    private func run(_ step: (inout AuditRowReader, AuditVerifierBatch) throws -> AuditRowStep) throws -> AuditVerification? {
        let first = batches[0]
        try fill(first, step)
        guard !first.isLast else {
            return pass.consume(first)
        }
        DispatchQueue.global(qos: .userInitiated).async { self.hashAll() }
        filled.signal()

        var index = 0
        var readingError: (any Error)?
        var isLast = false
        while !isLast {
            index += 1
            emptied.wait()
            let batch = batches[index % Self.batchCount]
            do {
                try fill(batch, step)
            } catch {
                readingError = error
                batch.isLast = true
            }
            isLast = batch.isLast
            // While the hashing side is still on earlier batches, take some of its work.
            while consumed.load(ordering: .relaxed) < index, batch.hashedCount < batch.count {
                batch.hashLeaves(upTo: 64)
            }
            filled.signal()
        }
        finished.wait()
        if let readingError { throw readingError }
        return outcome
    }

    private func fill(_ batch: AuditVerifierBatch, _ step: (inout AuditRowReader, AuditVerifierBatch) throws -> AuditRowStep) throws {
        batch.reset(firstSequence: reader.count + 1)
        while !batch.isFull {
            guard !hasFailed.load(ordering: .relaxed) else {
                batch.isLast = true
                return
            }
            switch try step(&reader, batch) {
            case .read:
                continue
            case .end:
                batch.isLast = true
                return
            case .failed(let failure):
                batch.failure = failure
                batch.isLast = true
                return
            }
        }
    }

    /// The hashing thread: consumes batches in order until the last, and keeps the first problem.
    private func hashAll() {
        var index = 0
        while true {
            filled.wait()
            let batch = batches[index % Self.batchCount]
            index += 1
            if outcome == nil, let failure = pass.consume(batch) {
                outcome = failure
                hasFailed.store(true, ordering: .relaxed)
            }
            let isLast = batch.isLast
            consumed.add(1, ordering: .relaxed)
            emptied.signal()
            if isLast { break }
        }
        finished.signal()
    }
}

/// What reading one row did: nothing left, a row read into the batch, or a row found wrong.
enum AuditRowStep {
    case end
    case read
    case failed((sequence: Int64, problem: String))
}
