import Dispatch
import Foundation
import Synchronization

/// Rows and keys sealed for one chunk of an import.
struct SealedShare: Sendable {
    var keys = KeyBatch()
    var patrons: [NewPatronRow] = []
    var records: [NewRecord] = []
}

/// Seals an import chunk by chunk, on threads of its own and ahead of the transaction that writes
/// it: the writer stores chunk k while chunk k+1 is sealed, and the key store commits each
/// chunk's keys as soon as it is sealed. Both consumers wait for a chunk in order; a chunk that
/// failed to seal fails both, and every later chunk with it.
final class ImportPipeline: Sendable {
    let chunkCount: Int
    private let results: Mutex<[Result<SealedShare, VaultError>?]>
    private let readyForWriter: [DispatchSemaphore]
    private let readyForKeys: [DispatchSemaphore]

    init(_ batch: [PatronImport], chunkSize: Int, seal: @escaping @Sendable (ArraySlice<PatronImport>) throws(VaultError) -> SealedShare) {
        let ranges = stride(from: 0, to: batch.count, by: chunkSize).map { $0..<min(batch.count, $0 + chunkSize) }
        chunkCount = ranges.count
        results = Mutex(Array(repeating: nil, count: ranges.count))
        readyForWriter = ranges.map { _ in DispatchSemaphore(value: 0) }
        readyForKeys = ranges.map { _ in DispatchSemaphore(value: 0) }
        DispatchQueue.global().async { [self] in
            var failure: VaultError?
            for (index, range) in ranges.enumerated() {
                let result: Result<SealedShare, VaultError>
                if let failure {
                    result = .failure(failure)
                } else {
                    result = Result { () throws(VaultError) -> SealedShare in try seal(batch[range]) }
                    if case .failure(let error) = result { failure = error }
                }
                results.withLock { $0[index] = result }
                readyForWriter[index].signal()
                readyForKeys[index].signal()
            }
        }
    }

    /// Chunk `index` for the record writer, blocking its thread (the store's writer) until sealed.
    func share(_ index: Int) throws(VaultError) -> SealedShare {
        readyForWriter[index].wait()
        return try results.withLock { $0[index]! }.get()
    }

    /// Chunk `index`'s keys, waited for off the cooperative pool.
    func keys(_ index: Int) async throws(VaultError) -> KeyBatch {
        let ready = readyForKeys[index]
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                ready.wait()
                done.resume()
            }
        }
        return try results.withLock { $0[index]! }.get().keys
    }
}
