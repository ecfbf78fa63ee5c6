import Foundation
import Testing

/// README's first command runs the demo: it must show the main job end to end, and fail if any
/// patron field reached the vault's files in the clear.
@Suite("The demo")
struct DemoTests {
    @Test("patronvault demo runs the main job, exports, erases (an old record backup restored beside today's keys cannot open her), applies the retention schedule three years on, and finds no plaintext in the vault folder or the backups")
    func demoRuns() throws {
        let cli = try CLI()
        defer { cli.removeHome() }
        let result = try cli.run(["demo"])
        #expect(result.status == 0, "\(result.stderr)")
        for line in [
            "desk-1 looks Ada up without saying why", "Ada exports everything the vault holds about her", "none left out",
            "erases her account", "no patron is registered with that card barcode", "audit trail: intact",
            "kept-history: 1 record due", "kept-history: 1 record removed", "settled-fee-loans: 1 record removed",
            "desk-1 sees B-5 1.50, returned", "never the title", "its keys destroyed. Cleo's history now: empty",
            "B-4 central \(Date().formatted(.iso8601).prefix(4)) ×1",
            "The admin takes a backup", "2 patrons, 1 unrecoverable. Ada's sealed rows came back",
            "the backup and the restored copy finds no name, email, card number or title",
        ] {
            #expect(result.stdout.contains(line), "missing: \(line)")
        }
    }
}
