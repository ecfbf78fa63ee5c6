import Foundation
import Synchronization
import Testing

/// A consortium's vault: daemons on two hosts (here two processes) sharing one pair of
/// PostgreSQL databases, writing one audit chain between them.
@Suite("PostgreSQL: several daemons, one vault", .enabled(if: Backend.server != nil))
struct PostgresDaemonTests {
    @Test("two daemons under concurrent lookups, checkouts and returns: no errors, the trail verifies, one entry for each answer")
    func twoDaemonsOneChain() throws {
        let cli = try CLI.initialized(backend: .postgres)
        defer { cli.removeHome() }
        let added = try cli.run(["staff", "add", "desk1", "--role", "staff", "--json"])
        let desk = try #require(added.json["token"] as? String)
        let workers = 4
        for worker in 0..<workers {
            let registered = try cli.run(["patron", "register", "--card", "PG\(worker)", "--name", "Reader \(worker)", "--email", "r\(worker)@example.org"])
            #expect(registered.status == 0, "\(registered.stderr)")
        }
        let config = try #require(cli.configFile)
        let daemons = [try Daemon(cli, arguments: ["--port", "0", "--config", config]), try Daemon(cli, arguments: ["--port", "0", "--config", config])]
        let answered = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        let rounds = 12
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for round in 0..<rounds {
                let item = "W\(worker)-\(round)"
                let steps: [(Daemon, String, String, [String: Any])] = [
                    (daemons[round % 2], "POST", "/v1/loans", ["card": "PG\(worker)", "item": item, "title": "Book \(round)"]),
                    (daemons[(round + 1) % 2], "POST", "/v1/patrons/lookup", ["card": "PG\(worker)", "purpose": "circulation"]),
                    (daemons[round % 2], "POST", "/v1/loans/return", ["item": item]),
                ]
                for (daemon, method, path, body) in steps {
                    do {
                        let response = try daemon.request(method, path, token: desk, json: body)
                        answered.add(1, ordering: .relaxed)
                        if !(200..<300).contains(response.status) {
                            failures.withLock { $0.append("\(path) \(response.status): \(response.text)") }
                        }
                    } catch {
                        failures.withLock { $0.append("\(path): \(error)") }
                    }
                }
            }
        }
        for daemon in daemons { #expect(daemon.stop() == 0) }

        #expect(failures.withLock { $0 } == [])
        let total = answered.load(ordering: .relaxed)
        #expect(total == workers * rounds * 3)
        let verified = try cli.run(["audit", "verify", "--json"])
        #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
        // Each answer left its entries, once: a checkout and a return one each, a lookup one for
        // each action it read (the registration, open loans, fees).
        let daemonEntries = try cli.psql("SELECT action, count(*), count(DISTINCT seq) FROM audit_entry WHERE front_end = 'daemon' GROUP BY action ORDER BY action")
        let each = workers * rounds
        #expect(daemonEntries == ["loan.checkout|\(each)|\(each)", "loan.read-held|\(each)|\(each)", "loan.read-open|\(each)|\(each)",
                                  "loan.return|\(each)|\(each)", "patron.read|\(each)|\(each)"])
    }

    @Test("wrong PINs sent to two daemons count together: the card locks on both, and the right PIN then waits on both")
    func oneLockoutAcrossDaemons() throws {
        let cli = try CLI.initialized(backend: .postgres)
        defer { cli.removeHome() }
        #expect(try cli.run(["patron", "register", "--card", "Q1", "--name", "Quinn", "--email", "q@example.org", "--pin-stdin"], stdin: "1357").status == 0)
        let config = try #require(cli.configFile)
        let daemons = [try Daemon(cli, arguments: ["--port", "0", "--config", config]), try Daemon(cli, arguments: ["--port", "0", "--config", config])]
        for attempt in 0..<5 {
            #expect(try daemons[attempt % 2].request("POST", "/v1/sessions", json: ["card": "Q1", "pin": "0000"]).status == 401)
        }
        for daemon in daemons {
            let locked = try daemon.request("POST", "/v1/sessions", json: ["card": "Q1", "pin": "1357"])
            #expect(locked.status == 429 && Int(locked.header("Retry-After") ?? "") ?? 0 > 0)
        }
        for daemon in daemons { #expect(daemon.stop() == 0) }
    }
}
