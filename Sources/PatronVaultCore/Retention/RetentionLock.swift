import Foundation

/// One retention run at a time per vault: an advisory lock on a file in the vault folder. The
/// kernel releases it when the process ends, however it ends, so a killed run never leaves the
/// vault locked.
final class RetentionLock {
    private let descriptor: Int32

    init(at url: URL) throws(VaultError) {
        let descriptor = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw VaultError.storage("the retention lock file \(url.path) could not be opened") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw VaultError(.conflict, "another retention run is in progress on this vault; wait for it to finish, then run again")
        }
        self.descriptor = descriptor
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
