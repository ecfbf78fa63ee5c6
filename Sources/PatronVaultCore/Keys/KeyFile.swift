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
        let written: Int
        do {
            let hex = try key.hexEncoded()
            written = hex.withUnsafeBytes { write(fd, $0.baseAddress, $0.count - 1) } + write(fd, "\n", 1)
        } catch {
            written = -1
        }
        guard written == SymmetricKey.byteCount * 2 + 1, fsync(fd) == 0 else {
            unlink(url.path)
            throw .storage("the key file could not be written")
        }
        // The file's name is on disk too before anything is wrapped under the key it holds.
        let folder = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folder >= 0 {
            fsync(folder)
            close(folder)
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
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VaultError(.wrongMasterKey, "the key file \(url.path) cannot be read") }
        defer { close(fd) }
        let malformed = VaultError(.wrongMasterKey, "the key file \(url.path) does not hold a 32-byte hex key")
        // Read into guarded memory: the key never sits in an ordinary buffer.
        let buffer: SecureBytes
        do { buffer = try SecureBytes(count: 256) } catch { throw .storage("secure memory for the master key could not be allocated") }
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0, count < buffer.count else { throw malformed }
        do {
            return try buffer.withUnsafeBytes { raw throws(CryptoError) in try SymmetricKey(hex: UnsafeRawBufferPointer(rebasing: raw[..<count])) }
        } catch .secureMemoryUnavailable {
            throw .storage("secure memory for the master key could not be allocated")
        } catch {
            throw malformed
        }
    }
}
