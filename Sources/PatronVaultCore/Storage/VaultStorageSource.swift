import Foundation

/// Where a vault's two stores are: the embedded SQLite files in the vault folder, or stores a
/// front end opens elsewhere (the PostgreSQL target's), which the core never names.
package enum VaultStorageSource: Sendable {
    case embedded
    /// `open` opens the stores (or makes them, when `create`); `remove` takes back what a failed
    /// creation made.
    case external(open: @Sendable (_ create: Bool) throws -> VaultStorage, remove: @Sendable () -> Void)

    func open(directory: URL, create: Bool) throws(VaultError) -> VaultStorage {
        switch self {
        case .embedded:
            return try SQLiteStorage.open(directory: directory, create: create)
        case .external(let open, _):
            do {
                return try open(create)
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
