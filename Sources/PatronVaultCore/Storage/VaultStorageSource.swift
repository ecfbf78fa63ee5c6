import Foundation

/// Where a vault's two stores are: the embedded SQLite files in the vault folder, or stores a
/// front end opens elsewhere (the PostgreSQL target's), which the core never names.
package enum VaultStorageSource: Sendable {
    case embedded
    /// `open` opens the stores (or makes them) as `mode` says; `remove` takes back what a
    /// failed creation made.
    case external(open: @Sendable (_ mode: VaultStorageMode) throws -> VaultStorage, remove: @Sendable () -> Void)

    func open(directory: URL, mode: VaultStorageMode) throws(VaultError) -> VaultStorage {
        switch self {
        case .embedded:
            return try SQLiteStorage.open(directory: directory, create: mode == .create)
        case .external(let open, _):
            do {
                return try open(mode)
            } catch let error as VaultError {
                throw error
            } catch {
                throw VaultError.storage("the vault's storage could not be opened")
            }
        }
    }

    func remove(directory: URL) {
        switch self {
        case .embedded: SQLiteStorage.remove(in: directory)
        case .external(_, let remove): remove()
        }
    }
}

/// How a vault's stores are opened. The embedded store's exclusion is the vault folder's lock
/// file; stores on a server shared by several hosts claim the vault on the server itself.
package enum VaultStorageMode: Sendable, Equatable {
    /// Making a new vault's stores.
    case create
    /// Beside any number of other processes (daemons, commands), none of them alone.
    case shared
    /// Alone: refused while any other process has the vault open, and keeping every other
    /// process out until closed (a key rotation).
    case exclusive
}
