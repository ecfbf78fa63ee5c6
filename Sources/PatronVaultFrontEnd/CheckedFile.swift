import ArgumentParser
import Foundation

/// A settings or secret file read through one open descriptor: its mode and owner are checked on
/// the file that is read, with no window in which another file could take its place.
struct CheckedFile {
    let data: Data
    let mode: mode_t
    let owner: uid_t

    /// `what` names the file in the one line a failure gets ("the password file /etc/…").
    init(path: String, what: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ValidationError("\(what) \(path) cannot be read") }
        defer { try? handle.close() }
        var status = stat()
        guard fstat(handle.fileDescriptor, &status) == 0, let data = try? handle.readToEnd() ?? Data() else {
            throw ValidationError("\(what) \(path) cannot be read")
        }
        self.data = data
        mode = status.st_mode & 0o777
        owner = status.st_uid
    }

    /// The mode in the octal form chmod takes.
    var octalMode: String { String(mode, radix: 8) }
}
