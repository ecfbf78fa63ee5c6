import Foundation
import PatronVaultCrypto
#if canImport(Glibc)
import Glibc
#endif

/// The master key on disk: 32 random bytes, hex encoded, created with mode 0600 and refused
/// when group or others can read it.
enum KeyFile {
    static func create(at url: URL) throws(VaultError) -> SymmetricKey {
        let key: SymmetricKey
        do { key = try SymmetricKey.random() } catch { throw .storage("secure memory for the master key could not be allocated") }
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw VaultError(.alreadyInitialized, "a key file already exists at \(url.path)") }
            throw .storage("the key file could not be created at \(url.path)")
        }
        defer { close(fd) }
        var text = key.withUnsafeBytes { Hex.encode(Array($0)) } + "\n"
        let written = text.withUTF8 { write(fd, $0.baseAddress, $0.count) }
        text.withUTF8 { _ = $0 }
        guard written == 65, fsync(fd) == 0 else {
            unlink(url.path)
            throw .storage("the key file could not be written")
        }
        return key
    }

    static func read(at url: URL) throws(VaultError) -> SymmetricKey {
        var info = stat()
        guard stat(url.path, &info) == 0 else {
            throw VaultError(.wrongMasterKey, "the key file \(url.path) does not exist")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw VaultError(
                .keyFilePermissions,
                "the key file \(url.path) is readable by group or others (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 on it")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw VaultError(.wrongMasterKey, "the key file \(url.path) cannot be read")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard var raw = Hex.decode(text), raw.count == SymmetricKey.byteCount else {
            throw VaultError(.wrongMasterKey, "the key file \(url.path) does not hold a 32-byte hex key")
        }
        defer { for i in raw.indices { raw[i] = 0 } }
        do { return try SymmetricKey(bytes: raw) } catch { throw .storage("secure memory for the master key could not be allocated") }
    }
}
