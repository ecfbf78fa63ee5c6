import Foundation

/// The rows one run measured: printed as a table as they come, or as JSON at the end (`--json`)
/// so runs can be compared by a script.
final class BenchmarkReport {
    /// One measured operation, its baseline measured in the same run (or none), and their ratio.
    struct Row: Encodable {
        let name: String
        let rate: Double
        let unit: String
        let baseline: Double?
        let ratio: Double?
        var p50_us: Double?
        var p99_us: Double?

        private enum CodingKeys: String, CodingKey {
            case name, rate, unit, baseline, ratio, p50_us, p99_us
        }

        /// A row without a baseline says so with `null`, so every row has the same keys.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(rate, forKey: .rate)
            try container.encode(unit, forKey: .unit)
            try container.encode(baseline, forKey: .baseline)
            try container.encode(ratio, forKey: .ratio)
            try container.encodeIfPresent(p50_us, forKey: .p50_us)
            try container.encodeIfPresent(p99_us, forKey: .p99_us)
        }
    }

    let json: Bool
    private(set) var rows: [Row] = []

    init(json: Bool) {
        self.json = json
    }

    /// A line of prose; only in the table form.
    func line(_ text: String = "") {
        if !json { print(text) }
    }

    /// A row with a baseline that does the same work (or says in its label what it leaves out).
    func row(_ name: String, _ label: String, count: Int, time: Double, baseline: Double?, baselineLabel: String = "", unit: String = "records") {
        let rate = Double(count) / time
        let baselineRate = baseline.map { Double(count) / $0 }
        let ratio = baselineRate.map { rate / $0 }
        rows.append(Row(name: name, rate: rate, unit: unit + "/s", baseline: baselineRate, ratio: ratio))
        let rateText = Self.format(rate)
        let baselineText = baselineRate.map(Self.format) ?? "—"
        let ratioText = ratio.map { String(format: "%.2f×", $0) } ?? ""
        line("\(label.padding(toLength: 46, withPad: " ", startingAt: 0))\(rateText.leftPadded(9))/s \(baselineText.leftPadded(9))/s \(ratioText.leftPadded(7))\(baselineLabel.isEmpty ? "" : "  " + baselineLabel)")
    }

    /// A row whose baseline is another rate from this run (import against ingest).
    func row(_ name: String, _ label: String, rate: Double, baselineRate: Double?, baselineLabel: String, unit: String) {
        let ratio = baselineRate.map { rate / $0 }
        rows.append(Row(name: name, rate: rate, unit: unit + "/s", baseline: baselineRate, ratio: ratio))
        line("\(label.padding(toLength: 46, withPad: " ", startingAt: 0))\(Self.format(rate).leftPadded(9))/s \((baselineRate.map(Self.format) ?? "—").leftPadded(9))/s \((ratio.map { String(format: "%.2f×", $0) } ?? "").leftPadded(7))  \(baselineLabel)")
    }

    func add(_ row: Row) {
        rows.append(row)
    }

    func finish() throws {
        guard json else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(["rows": rows]), as: UTF8.self))
    }

    static func format(_ perSecond: Double) -> String {
        perSecond >= 10_000 ? String(format: "%.0f K", perSecond / 1000) : String(format: "%.0f", perSecond)
    }
}
