import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Which processes have a vault folder open: every open holds a shared advisory lock on
/// `vault.lock`, and a master key rotation holds it exclusively. A daemon serving the vault keeps
/// wrapping new patron keys under the master key it opened with, so a rotation beside it would
/// leave keys the new master key cannot open; the lock refuses the rotation instead. The kernel
/// drops the lock when the process ends, however it ends.
package final class VaultLock: Sendable {
    static let fileName = "vault.lock"
    private let descriptor: Mutex<Int32?>

    package init(in directory: URL, exclusive: Bool) throws(VaultError) {
        let path = directory.appendingPathComponent(Self.fileName).path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw VaultError.storage("the lock file \(path) could not be opened") }
        guard flock(descriptor, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 else {
            close(descriptor)
            if exclusive {
                throw VaultError(
                    .conflict, "the vault is open in another process (a running daemon or command); stop it, then run this again")
            }
            throw VaultError(.conflict, "the vault's master key is being rotated by another process; wait for it to finish")
        }
        self.descriptor = Mutex(descriptor)
    }

    /// Lets go of the folder: a closed vault no longer counts as open, even while the object lives.
    package func release() {
        descriptor.withLock { held in
            guard let fd = held else { return }
            flock(fd, LOCK_UN)
            close(fd)
            held = nil
        }
    }

    deinit {
        release()
    }
}
