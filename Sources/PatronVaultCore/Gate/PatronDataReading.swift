/// A transaction that can open a patron's sealed records: the gate's, or sign-in's.
protocol PatronDataReading {
    var records: any RecordTransaction { get }
    func openRecords(_ sealed: [SealedRecord], of patron: PatronPseudonym) throws -> [[UInt8]]
}

extension GatedTransaction: PatronDataReading {}
