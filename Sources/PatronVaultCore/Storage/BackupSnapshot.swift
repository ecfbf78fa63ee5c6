/// A store's contents as committed at one moment, pinned while the backup holds the vault's write
/// lock and written out once the lock is released: so the record store and the key store are
/// copied as of the same moment, and requests are held up only while the two are pinned, not
/// while a large vault is copied.
package protocol BackupSnapshot: Sendable {
    /// Writes the pinned contents to the file named when the snapshot was taken, then lets the
    /// snapshot go.
    func write() async throws
    /// Lets the snapshot go without writing it (the backup failed elsewhere). Never waits.
    func discard()
}

/// A snapshot already written when it was taken: SQLite's online backup copies a local file at
/// disk speed, under the lock.
struct WrittenBackupSnapshot: BackupSnapshot {
    func write() async throws {}
    func discard() {}
}
