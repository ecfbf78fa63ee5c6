import Foundation
import PatronVaultCrypto

/// Checks an export bundle with nothing but the vault's public export key: the manifest's
/// signature, every file against its hash (and no file beside them), and completeness: the
/// record-set members in the data sum to the signed value, and every member is a record the
/// data shows (or one queued for destruction), and every record shown is a member.
public enum ExportBundleVerifier {
    /// What a bundle that verified holds, for a front end to report.
    public struct Verification: Sendable, Encodable {
        public let files: Int
        public let records: Int
        public let auditEntries: Int
        public let recordSet: String
        public let exportedAt: String
    }

    public static func verify(directory: URL, key: VerifyingKey) throws(VaultError) -> Verification {
        let fm = FileManager.default
        let manifestBytes = try read(directory, ExportBundle.manifestFileName)
        // Exactly as written: lowercase hex and one newline, so no edited byte is tolerated.
        let signatureFile = try read(directory, ExportBundle.signatureFileName)
        guard let signature = detachedSignature(signatureFile), key.isValidSignature(signature, for: manifestBytes) else {
            throw failure("the manifest's signature does not verify with this export key")
        }
        guard let manifest = try? JSONDecoder().decode(ExportManifest.self, from: Data(manifestBytes)), manifest.format == ExportManifest.format else {
            throw failure("the manifest is not a PatronVault export manifest this version reads")
        }
        let listed = Set(manifest.files.map(\.name))
        let present = Set((try? fm.contentsOfDirectory(atPath: directory.path)) ?? [])
        let expected = listed.union([ExportBundle.manifestFileName, ExportBundle.signatureFileName])
        if let extra = present.subtracting(expected).sorted().first { throw failure("the folder holds a file the manifest does not list (\(extra))") }
        for file in manifest.files {
            let bytes = try read(directory, file.name)
            guard bytes.count == file.bytes, ConstantTime.equals(Digest.blake2b(bytes), Hex.decode(file.blake2b) ?? []) else {
                throw failure("\(file.name) does not match its hash in the manifest")
            }
        }
        guard listed.contains(ExportBundle.dataFileName) else { throw failure("the manifest lists no \(ExportBundle.dataFileName)") }
        let data = try read(directory, ExportBundle.dataFileName)
        guard let export = try? JSONDecoder().decode(ExportedData.self, from: Data(data)), export.format == PatronDataExport.format else {
            throw failure("\(ExportBundle.dataFileName) is not patron data this version reads")
        }
        try checkCompleteness(export, against: manifest.recordSet)
        return Verification(
            files: manifest.files.count, records: export.recordSet.members.count, auditEntries: export.auditEntries.count,
            recordSet: manifest.recordSet.value, exportedAt: export.exportedAt)
    }

    /// Every member is shown exactly once as the record of its kind and state (or as queued for
    /// destruction); every record shown is a member; the members in the set sum to the signed value.
    private static func checkCompleteness(_ export: ExportedData, against signed: ExportManifest.RecordSet) throws(VaultError) {
        guard export.recordSet.value == signed.value, export.recordSet.count == signed.count else {
            throw failure("the record set in the data differs from the signed one")
        }
        var sum = RecordSetDigest.empty
        var count = 0
        for member in export.recordSet.members where member.inSet {
            guard let element = Hex.decode(member.element), element.count == RecordSetDigest.byteCount else {
                throw failure("a record-set member's element is malformed")
            }
            sum.add(element)
            count += 1
        }
        guard let value = Hex.decode(signed.value), sum.matches(RecordSetDigest(bytes: value)), count == signed.count else {
            throw failure("the records listed do not make up the signed record set: a record is missing or added")
        }
        var shown: [RecordReference: String] = [export.registration.record: "registration/open"]
        for loan in export.openLoans { shown[loan.record] = "loan/open" }
        for loan in export.history { shown[loan.record] = "loan/closed" }
        let held = export.heldLoans ?? []
        for loan in held { shown[loan.record] = "loan/held" }
        let pending = Set(export.pendingDestruction)
        guard shown.count == 1 + export.openLoans.count + export.history.count + held.count, pending.isDisjoint(with: shown.keys) else {
            throw failure("a record is shown twice")
        }
        var members: [RecordReference: String] = [:]
        for member in export.recordSet.members {
            let reference = RecordReference(id: member.id, version: member.version)
            guard members[reference] == nil else { throw failure("a record-set member is listed twice") }
            if let kind = member.kind {
                members[reference] = "\(kind)/\(member.state ?? "")"
            } else if !pending.contains(reference) {
                throw failure("a record-set member is neither shown nor queued for destruction")
            }
        }
        guard members == shown else {
            throw failure("the records shown differ from the record set's members")
        }
    }

    /// A `manifest.sig` as written: lowercase hex of the signature and one newline, so no edited
    /// byte is tolerated. Nil for anything else.
    static func detachedSignature(_ file: [UInt8]) -> [UInt8]? {
        guard file.count == 2 * VerifyingKey.signatureByteCount + 1, file.last == 0x0A,
              file.dropLast().allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { return nil }
        return Hex.decode(String(decoding: file.dropLast(), as: UTF8.self))
    }

    private static func read(_ directory: URL, _ name: String) throws(VaultError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else {
            throw failure("\(name) is missing")
        }
        return Array(data)
    }

    private static func failure(_ reason: String) -> VaultError {
        VaultError(.integrityFailure, "the export bundle fails verification: \(reason)")
    }

    /// The parts of `patron-data.json` verification reads.
    private struct ExportedData: Decodable {
        struct Opened: Decodable { let record: RecordReference }
        let format: String
        let exportedAt: String
        let registration: Opened
        let openLoans: [Opened]
        let history: [Opened]
        /// Absent from bundles of patrons with no held loan (and from bundles made before fees).
        let heldLoans: [Opened]?
        let pendingDestruction: [RecordReference]
        let auditEntries: [Entry]
        let recordSet: ExportedRecordSet
        struct Entry: Decodable { let sequence: Int64 }
    }
}
