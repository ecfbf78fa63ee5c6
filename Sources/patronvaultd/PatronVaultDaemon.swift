import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import PatronVaultCore
import PatronVaultFrontEnd

/// `patronvaultd`: the one long-running process that holds the master key. Staff and patrons
/// reach the vault through its HTTP JSON API, so the policy engine binds everyone who does not
/// hold the key file. SIGTERM or SIGINT stops it gracefully: requests in flight finish, the
/// maintenance pass runs once more, and both stores close.
@main
struct PatronVaultDaemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patronvaultd",
        abstract: "Serve the vault's HTTP JSON API; the one process that needs the master key.",
        discussion: "Prints one line when it is listening (\"patronvaultd: listening on URL\"), then logs to stderr.")

    @OptionGroup var location: VaultLocation
    @OptionGroup var listen: ListenOptions

    @Option(name: .long, help: "Seconds a patron session may sit unused before it closes (at most an hour).")
    var sessionIdle = 900

    @Option(name: .long, help: "Seconds between verifications of the whole audit trail, reported by /health.")
    var auditCheckInterval = 300

    @Option(name: .long, help: "Settings in a file, one 'name = value' a line, named as these options (vault, port, tls-key, …); an option given here wins.")
    var config: String?

    @Flag(name: .long, help: "Print every route served (METHOD /path), then exit.")
    var listRoutes = false

    func validate() throws {
        guard (1...3_600).contains(sessionIdle) else { throw ValidationError("--session-idle must be between 1 and 3600 seconds") }
        guard (1...86_400).contains(auditCheckInterval) else { throw ValidationError("--audit-check-interval must be between 1 and 86400 seconds") }
    }

    /// The options a `--config` file may set, and which of them are flags.
    static let configurable: Set<String> = VaultLocation.configurable.union(ConfigurationFile.daemonSettings)
    static let configurableFlags: Set<String> = ConfigurationFile.daemonFlags

    /// Puts a `--config` file's settings in front of the command line, then runs as usual.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            await main(try ConfigurationFile.expand(arguments, known: configurable, flags: configurableFlags))
        } catch {
            exit(withError: error)
        }
    }

    func run() async throws {
        Self.raiseOpenFileLimit()
        let vault: Vault
        let server: HTTPServerBuilder
        do {
            server = try listen.serverBuilder()
            vault = try await location.open(for: .daemon) { $0.auditCheckInterval = .seconds(auditCheckInterval) }
        } catch {
            throw StartupFailure(error)
        }
        var logger = Logger(label: "patronvaultd")
        logger.logLevel = Environment.value("PATRONVAULT_LOG_LEVEL").flatMap(Logger.Level.init(rawValue:)) ?? .info

        let router = Router(context: DaemonRequestContext.self)
        let metrics = RequestMetrics()
        // Outermost, so what it records is the status the client got, problem documents included.
        router.add(middleware: MetricsMiddleware<DaemonRequestContext>(metrics: metrics))
        router.add(middleware: ProblemMiddleware<DaemonRequestContext>(logger: logger))
        let table = RouteTable(router: router)
        DaemonRoutes(vault: vault).add(to: table)
        AdminRoutes(vault: vault).add(to: table)
        LegalOrderRoutes(vault: vault).add(to: table)
        var sessionSettings = PatronSessions.Configuration()
        sessionSettings.idle = .seconds(sessionIdle)
        let sessions = PatronSessions(signIn: vault.signIn, configuration: sessionSettings)
        PatronRoutes(vault: vault, sessions: sessions).add(to: table)
        PatronWebRoutes(vault: vault, sessions: sessions, forms: try FormToken()).add(to: table)
        table.on(.get, "v1/openapi.yaml", use: OpenAPIDocument.serve)
        table.on(.get, "metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.text)))
        }
        if listRoutes {
            await vault.close()
            FileHandle.standardOutput.write(Data(table.served.map { $0 + "\n" }.joined().utf8))
            return
        }
        let socket = listen.socket
        let base = "\(listen.scheme)://\(listen.host)"
        let app = Application(
            router: router,
            server: server,
            configuration: ApplicationConfiguration(address: listen.bindAddress, serverName: nil),
            services: [vault.maintenance, vault.auditWatch],
            onServerRunning: { channel in
                if let socket {
                    // Staff tools in the daemon's group may connect; nobody else.
                    chmod(socket, 0o660)
                    Self.announce("unix:\(socket)")
                } else if let port = channel.localAddress?.port {
                    Self.announce("\(base):\(port)")
                }
            },
            logger: logger)
        do {
            try await app.runService()
        } catch {
            await vault.close()
            throw StartupFailure(error)
        }
        await vault.close()
    }

    /// Every connection is a file descriptor: the soft limit (often 1,024) is raised to the hard
    /// one, so a thousand idle clients cannot stop the server from accepting or opening files.
    private static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = min(limit.rlim_max, 65_536)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// The line a supervisor or a test waits for, flushed at once.
    private static func announce(_ url: String) {
        FileHandle.standardOutput.write(Data("patronvaultd: listening on \(url)\n".utf8))
    }
}

/// A failure before or while serving: one line naming what was wrong, and a non-zero exit.
struct StartupFailure: Error, CustomStringConvertible {
    let description: String

    init(_ error: any Error) {
        switch error {
        case let error as VaultError: description = error.message
        case let error as ValidationError: description = error.message
        default: description = "the server could not start or stopped with an error (\(type(of: error)))"
        }
    }
}

extension StartupFailure: CustomNSError {
    static var errorDomain: String { "patronvaultd" }
}
