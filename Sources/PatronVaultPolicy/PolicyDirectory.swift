import Foundation

/// Reads policy, schema and test files from disk, refusing oversized files before reading them.
enum PolicyDirectory {
    static func fileNames(in directory: URL, endingWith suffix: String) throws(PolicyLoadError) -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw PolicyLoadError(file: directory.lastPathComponent, line: 1, column: 1, message: "the directory cannot be read (\(error.localizedDescription))")
        }
        // Every visible name with the suffix is a rule file: one that cannot be read (a dangling
        // link, a folder, no permission) stops the load rather than being skipped, since a
        // skipped file of forbid rules would open the vault wider than its policy says.
        let selected = names.filter { $0.hasSuffix(suffix) && !$0.hasPrefix(".") }.sorted()
        for name in selected {
            var isDirectory: ObjCBool = false
            let path = directory.appendingPathComponent(name).path
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  FileManager.default.isReadableFile(atPath: path)
            else {
                throw PolicyLoadError(
                    file: name, line: 1, column: 1, message: "the file cannot be read (a dangling link, a folder or no permission); fix or remove it")
            }
        }
        return selected
    }

    static func read(_ name: String, in directory: URL) throws(PolicyLoadError) -> [UInt8] {
        let path = directory.appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw PolicyLoadError(file: name, line: 1, column: 1, message: "the file does not exist in \(directory.path)")
        }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber,
           size.intValue > PolicySource.maximumByteCount {
            throw PolicyLoadError(file: name, line: 1, column: 1, message: "the file is larger than 1 MiB (\(size.intValue) bytes); policy files must be small enough to read")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PolicyLoadError(file: name, line: 1, column: 1, message: "the file cannot be read")
        }
        return [UInt8](data)
    }
}
