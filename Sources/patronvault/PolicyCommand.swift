import ArgumentParser
import Foundation
import PatronVaultCore
import PatronVaultFrontEnd
import PatronVaultPolicy

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Check, test and explain the access rules in Policies/.",
        subcommands: [Check.self, Test.self, Explain.self, Notice.self])

    struct Location: ParsableArguments {
        @Option(name: .long, help: "The policy folder (default: $PATRONVAULT_POLICIES or ./Policies).")
        var policies: String?

        @Flag(name: .long, help: "Print machine-readable JSON.")
        var json = false

        var directory: URL { Environment.policyDirectory(policies) }
    }

    struct Notice: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "notice",
            abstract: "Print the privacy notice generated from the rules in force: what is kept, who sees what and why, for how long, and the patron's rights.")
        @OptionGroup var location: Location
        @Option(name: .long, help: "text (default), markdown, html or json.") var format = "text"

        func validate() throws {
            guard ["text", "markdown", "html", "json"].contains(format) else { throw ValidationError("--format must be text, markdown, html or json") }
        }

        func run() throws {
            try Terminal.report {
                let notice = PrivacyNotice(policies: try Vault.loadPolicies(from: location.directory), today: CalendarDay(Date()))
                switch location.json ? "json" : format {
                case "json": try Terminal.json(notice)
                case "markdown": Terminal.write(notice.markdown)
                case "html": Terminal.write(notice.html)
                default: Terminal.write(notice.text)
                }
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "check", abstract: "Validate the policy files against their schema.")
        @OptionGroup var location: Location

        /// A loaded set is a valid one: failures exit with the policy code instead.
        private struct Output: Encodable {
            let valid = true
            let rules: [String]
            let retentionRules: [String]
            let digest: String
        }

        func run() throws {
            try Terminal.report {
                let set = try Vault.loadPolicies(from: location.directory)
                if location.json {
                    try Terminal.json(Output(rules: set.ruleIDs, retentionRules: set.retention.rules.map(\.id), digest: set.digest))
                } else {
                    let retention = set.retention.rules.count
                    Terminal.line("\(set.ruleIDs.count) rules and \(retention) retention rule\(retention == 1 ? "" : "s") valid; policy digest \(set.digest)")
                }
            }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "test", abstract: "Run the policy test cases in Policies/tests and print pass/fail per case.")
        @OptionGroup var location: Location

        /// One case as scripts see it: where it is and whether it passed, not the whole decision.
        private struct Case: Encodable {
            let file: String
            let line: Int
            let name: String
            let passed: Bool
        }

        private struct Output: Encodable {
            let cases: [Case]
            let passed: Int
            let failed: Int
        }

        func run() throws {
            try Terminal.report {
                let set = try Vault.loadPolicies(from: location.directory)
                let suite: PolicyTestSuite
                do {
                    suite = try PolicyTestSuite.load(directory: location.directory.appendingPathComponent("tests"), schema: set.schema)
                } catch let error as PolicyLoadError {
                    throw VaultError.policy(error.description)
                }
                let results = suite.run(against: set)
                let failed = results.filter { !$0.passed }
                if location.json {
                    let cases = results.map { Case(file: $0.file, line: $0.line, name: $0.name, passed: $0.passed) }
                    try Terminal.json(Output(cases: cases, passed: results.count - failed.count, failed: failed.count))
                } else {
                    for result in results { Terminal.line("\(result.passed ? "PASS" : "FAIL")  \(result.summary)") }
                    Terminal.line("\(results.count - failed.count) passed, \(failed.count) failed")
                }
                if !failed.isEmpty { throw ExitCode.failure }
            }
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "explain",
            abstract: "Decide one request and show the rules that decided.",
            discussion: "Example: patronvault policy explain --principal role=staff,id=s1 --action history.read --resource kind=history,patron=p1,state=closed")
        @OptionGroup var location: Location
        @Option(name: .long, help: "Who asks, as key=value pairs: role, id, kind, patron.") var principal: String
        @Option(name: .long, help: "An action from the schema, such as patron.read.") var action: String
        @Option(name: .long, help: "What is asked about: kind, patron, state.") var resource: String
        @Option(name: .long, help: "Circumstances: purpose, consent, legalOrder, time, frontEnd.") var context = ""
        @Option(name: .long, help: "Ask a running patronvaultd, which decides with the rules it enforces and records the question (default: $PATRONVAULT_SERVER; needs a staff token). Without it the rules in the policy folder decide.")
        var server: String?
        @OptionGroup var credentials: StaffCredentials

        private struct Question: Encodable, Sendable {
            let principal: String
            let action: String
            let resource: String
            let context: String
        }

        func run() async throws {
            try await Terminal.report {
                let explanation: PolicyExplanation
                if let client = try (server ?? Environment.value("PATRONVAULT_SERVER")).map(DaemonClient.init) {
                    explanation = try await client.send(
                        "POST", "/v1/policy/explain", token: credentials.token(),
                        body: Question(principal: principal, action: action, resource: resource, context: context), as: PolicyExplanation.self)
                } else {
                    let set = try Vault.loadPolicies(from: location.directory)
                    let request: PolicyRequest
                    do {
                        request = try PolicyRequest.parse(principal: principal, action: action, resource: resource, context: context, schema: set.schema)
                    } catch let error as PolicyRequestError {
                        throw ValidationError(error.description)
                    }
                    explanation = PolicyExplanation(set.decide(request), in: set)
                }
                if location.json {
                    try Terminal.json(explanation)
                } else {
                    Terminal.line("\(explanation.effect)\(explanation.rules.isEmpty ? " (deny by default)" : " by \(explanation.rules.joined(separator: ", "))")")
                    Terminal.line(explanation.reason)
                    if explanation.effect == "permit" {
                        Terminal.line("reveals: " + (explanation.reveals.isEmpty ? "no field" : explanation.reveals.joined(separator: ", ")))
                    }
                }
            }
        }
    }
}
