import Foundation

/// Where the key-encryption key comes from: a 0600 key file, or a passphrase stretched with
/// Argon2id and a salt stored in the vault.
public enum MasterKeySource: Sendable {
    case keyFile(URL)
    case passphrase([UInt8])
}
