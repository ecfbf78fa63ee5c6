import Foundation
import Logging
import NIOCore
import NIOSSL
import PatronVaultCore
import PostgresNIO
import Synchronization

/// One connection to one database, used synchronously. The storage protocols' transaction bodies
/// are synchronous and run on a thread of their own (never an event loop), where waiting on a
/// future is allowed; a link serialises its users, since one connection runs one transaction at a
/// time. A connection the server or the network dropped is replaced on the next use: the call
/// that met the drop fails (nothing it began is committed) and the next one reconnects.
final class PostgresLink: @unchecked Sendable {
    let location: PostgresLocation
    private let lock = NSLock()
    private var connection: PostgresConnection?
    /// The statements prepared on `connection`; a new connection starts with none.
    private var prepared = PostgresPreparedStatements()
    private var closed = false
    private let logger: Logger
    private let name: String
    private let claim: PostgresClaim?

    /// `name` says which store this link serves in messages ("the key database"); `claim` is
    /// the vault claim each new connection takes before it is used.
    init(_ location: PostgresLocation, name: String, claim: PostgresClaim? = nil) {
        self.location = location
        self.name = name
        self.claim = claim
        var logger = Logger(label: "patronvault.postgres")
        logger.logLevel = .critical
        self.logger = logger
    }

    /// Runs `body` on this thread with the connection, connecting first if needed. Any failure
    /// is translated into a `VaultError` sentence that names neither a query nor a value.
    func withSession<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        try lock.withLock { try holding(body) }
    }

    /// The same if no one is using the link, else nil at once.
    func withSessionIfFree<T>(_ body: (PostgresSession) throws -> T) throws -> T? {
        guard lock.try() else { return nil }
        defer { lock.unlock() }
        return try holding(body)
    }

    /// `withSession`'s work, with the lock held.
    private func holding<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        guard !closed else { throw VaultError.storage("\(name) is closed") }
        let session = PostgresSession(connection: try connected(), prepared: prepared, logger: logger, answerTimeout: location.answerTimeout)
        do {
            return try body(session)
        } catch {
            if session.connection.isClosed { connection = nil }
            throw PostgresFailure.translate(error, store: name, location: location)
        }
    }

    /// The same, off the caller's task: the body runs on a dispatch thread, so a waiting task
    /// holds no thread of the cooperative pool.
    func run<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try self.withSession(body) })
            }
        }
    }

    /// A transaction: BEGIN, the body, COMMIT; ROLLBACK if anything failed.
    func transaction<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        try withSession { session in try session.transaction(body) }
    }

    /// A failure met outside `withSession` (a group's commit), as the sentence `withSession` gives.
    func translate(_ error: any Error) -> VaultError {
        PostgresFailure.translate(error, store: name, location: location)
    }

    func close() {
        lock.withLock {
            closed = true
            if let connection { try? connection.close().wait() }
            connection = nil
        }
    }

    /// Closes the connection without waiting for the server's answer (the server ends whatever
    /// transaction it had open): for a caller that must not block.
    func closeWithoutWaiting() {
        lock.withLock {
            closed = true
            if let connection {
                // Kept until the close completes: a connection must not be released while open.
                let closing: EventLoopFuture<Void> = connection.close()
                closing.whenComplete { _ in withExtendedLifetime(connection) {} }
            }
            connection = nil
        }
    }

    /// A new link to the same database, with its own connection and the same claim on the vault.
    func sibling() -> PostgresLink {
        PostgresLink(location, name: name, claim: claim)
    }

    private func connected() throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        connection = nil
        let opened: PostgresConnection
        do {
            opened = try PostgresConnection.connect(
                on: PostgresConnection.defaultEventLoopGroup.any(), configuration: try configuration(), id: 1, logger: logger
            ).wait()
        } catch let error as VaultError {
            throw error
        } catch {
            throw PostgresFailure.translate(error, store: name, location: location)
        }
        if let claim {
            do {
                try claim.take(on: PostgresSession(connection: opened, prepared: PostgresPreparedStatements(), logger: logger, answerTimeout: location.answerTimeout))
            } catch {
                try? opened.close().wait()
                if let error = error as? VaultError { throw error }
                throw PostgresFailure.translate(error, store: name, location: location)
            }
        }
        connection = opened
        prepared = PostgresPreparedStatements()
        return opened
    }

    private func configuration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch location.transportSecurity {
        case .disable:
            tls = .disable
        case .verifyFull:
            var settings = TLSConfiguration.makeClientConfiguration()
            if let file = location.certificateAuthorityFile {
                do {
                    settings.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file))
                } catch {
                    throw VaultError(.invalidInput, "the certificate authority file \(file) cannot be read as PEM certificates")
                }
            }
            do {
                tls = .require(try NIOSSLContext(configuration: settings))
            } catch {
                throw VaultError.storage("TLS for \(location) could not be set up")
            }
        }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password, database: location.database, tls: tls)
        configuration.options.connectTimeout = .seconds(10)
        if location.transportSecurity == .verifyFull { configuration.options.tlsServerName = location.host }
        return configuration
    }
}

/// A vault claimed on the records server, where every host's processes meet: each connection
/// of a process that opens the vault holds a shared advisory lock on the vault's number, for as
/// long as the connection lives (a connection that is lost and made again claims again), and a
/// key rotation holds the exclusive one. So a rotation cannot start while any process anywhere
/// has a connection open, and no process connects while it runs.
enum PostgresClaim: Sendable {
    case shared(Int64)
    case exclusive(Int64)

    /// The lock's number: the first eight bytes of the vault's id.
    static func number(vaultID: [UInt8]) -> Int64 {
        Int64(bitPattern: vaultID.prefix(8).reduce(0) { $0 << 8 | UInt64($1) })
    }

    func take(on session: PostgresSession) throws {
        switch self {
        case .shared(let number):
            guard try session.query("SELECT pg_try_advisory_lock_shared(\(number))")[0].makeRandomAccess().bool(0) else {
                throw VaultError(.conflict, "the vault's master key is being rotated by another process; wait for it to finish")
            }
        case .exclusive(let number):
            guard try session.query("SELECT pg_try_advisory_lock(\(number))")[0].makeRandomAccess().bool(0) else {
                throw VaultError(.conflict, "the vault is open in another process (a running daemon or command, on this host or another); stop it, then run this again")
            }
        }
    }
}

/// A connection lent to a synchronous body.
final class PostgresSession {
    let connection: PostgresConnection
    let logger: Logger
    private let prepared: PostgresPreparedStatements
    /// Statements to send ahead of the next one, waited for with it (a read's BEGIN).
    private var opening: [PostgresStatement] = []
    /// How many more statements may be sent, when limited: a read run without a transaction
    /// is one statement, its own snapshot, and a second would see another.
    var statementsLeft: Int?
    /// See `PostgresLocation.answerTimeout`; nil while `withoutAnswerTimeout` runs.
    private var answerTimeout: Duration?

    /// Thrown instead of sending a statement past `statementsLeft`.
    struct StatementLimitReached: Error {}

    init(connection: PostgresConnection, prepared: PostgresPreparedStatements, logger: Logger, answerTimeout: Duration? = nil) {
        self.connection = connection
        self.prepared = prepared
        self.logger = logger
        self.answerTimeout = answerTimeout
    }

    /// Runs `body` with no answer timeout: maintenance such as VACUUM takes as long as the
    /// tables need.
    @discardableResult
    func withoutAnswerTimeout<T>(_ body: () throws -> T) rethrows -> T {
        let kept = answerTimeout
        answerTimeout = nil
        defer { answerTimeout = kept }
        return try body()
    }

    /// Waits for every future; if they are not all answered within the answer timeout, closes
    /// the connection (which fails whatever is still waiting) and reports each failure as the
    /// timeout.
    private func answers<T>(_ futures: [EventLoopFuture<T>]) -> [Result<T, any Error>] {
        guard let answerTimeout else { return futures.map { future in Result { try future.wait() } } }
        let expired = PostgresAnswerWatch.Expiry()
        let watch = PostgresAnswerWatch.shared.begin(
            connection, deadline: .now() + .nanoseconds(Int64(answerTimeout.components.seconds) * 1_000_000_000), expiry: expired)
        let results = futures.map { future in Result { try future.wait() } }
        PostgresAnswerWatch.shared.end(watch)
        guard expired.hasExpired else { return results }
        let timedOut = AnswerTimedOut(after: answerTimeout)
        return results.map { result in result.flatMapError { _ in .failure(timedOut) } }
    }

    /// A statement went unanswered for the answer timeout and its connection was closed.
    struct AnswerTimedOut: Error {
        let after: Duration
    }

    /// Runs one statement and returns its rows.
    @discardableResult
    func query(_ query: PostgresQuery) throws -> [PostgresRow] {
        try run(.text(query)).rows
    }

    /// Runs a prepared statement and returns its rows.
    @discardableResult
    func query(prepared sql: PreparedSQL, _ binds: PostgresData...) throws -> [PostgresRow] {
        try run(.prepared(sql, binds)).rows
    }

    /// Runs one statement and returns how many rows it changed.
    @discardableResult
    func execute(_ query: PostgresQuery) throws -> Int {
        try run(.text(query)).changed ?? 0
    }

    private func run(_ statement: PostgresStatement) throws -> StatementAnswer {
        guard !opening.isEmpty else {
            try count(1)
            try prepareAll([statement])
            return try answers([send(statement)])[0].get()
        }
        let results = try pipeline([statement])
        if let error = results[0].error { throw error }
        return results[0].answer!
    }

    /// Sends one statement; a prepared one must have been prepared on this connection.
    private func send(_ statement: PostgresStatement) -> EventLoopFuture<StatementAnswer> {
        switch statement {
        case .text(let query):
            connection.query(query, logger: logger).map { StatementAnswer(rows: $0.rows, command: $0.metadata.command, changed: $0.metadata.rows) }
        case .prepared(let sql, let binds):
            prepared.statements[sql]!.execute(binds).map { StatementAnswer(rows: $0, command: nil, changed: nil) }
        }
    }

    /// Prepares on this connection the statements among `statements` it has not prepared yet,
    /// each in a round trip of its own, once per connection.
    private func prepareAll(_ statements: [PostgresStatement]) throws {
        for case .prepared(let sql, _) in statements where prepared.statements[sql] == nil {
            prepared.statements[sql] = try answers([connection.prepare(query: sql.text)])[0].get()
        }
    }

    private func count(_ statements: Int) throws {
        guard let left = statementsLeft else { return }
        guard statements <= left else { throw StatementLimitReached() }
        statementsLeft = left - statements
    }

    /// Sends `query` just ahead of the next statement and waits for both at once; if no
    /// statement follows, it is never sent (see `dropUnsent`).
    func sendWithNext(_ query: PostgresQuery) {
        opening.append(.text(query))
    }

    /// Whether statements queued by `sendWithNext` are still waiting for one to follow.
    var hasUnsent: Bool { !opening.isEmpty }

    /// Forgets statements queued by `sendWithNext` that nothing followed.
    func dropUnsent() {
        opening = []
    }

    /// Sends `query` and does not wait for its answer: statements sent on this connection after
    /// it run after it.
    func sendWithoutWaiting(_ query: PostgresQuery) {
        _ = connection.query(query, logger: logger)
    }

    /// Sends `queries` (after any queued by `sendWithNext`) one after another without waiting
    /// for each answer, then waits for all. postgres-nio still runs them one after another on the
    /// connection, but the waiting thread wakes once instead of once each. Every answer is
    /// waited for, so the connection is idle again when this returns. A failed statement's error
    /// is in its result: PostgreSQL fails the later statements of an aborted transaction too,
    /// and answers a COMMIT there with ROLLBACK. A failure of a queued statement is thrown.
    func pipeline(_ queries: [PostgresQuery]) throws -> [PipelinedResult] {
        try pipeline(queries.map(PostgresStatement.text))
    }

    /// The same, for statements some of which are prepared.
    func pipeline(_ statements: [PostgresStatement]) throws -> [PipelinedResult] {
        try count(opening.count + statements.count)
        // Before the queued statements are taken: if a preparation fails, they stay unsent, and
        // a read's cleanup drops its BEGIN instead of ending a transaction never begun.
        try prepareAll(statements)
        let queued = opening
        opening = []
        let results = answers((queued + statements).map(send)).map { result in
            switch result {
            case .success(let answer): PipelinedResult(answer: answer, error: nil)
            case .failure(let error): PipelinedResult(answer: nil, error: error)
            }
        }
        if let error = results.prefix(queued.count).lazy.compactMap(\.error).first { throw error }
        return Array(results.dropFirst(queued.count))
    }

    /// `begin` may name an isolation level (a backup's one snapshot of every table).
    func transaction<T>(beginning begin: PostgresQuery = "BEGIN", _ body: (PostgresSession) throws -> T) throws -> T {
        try execute(begin)
        do {
            let result = try body(self)
            try execute("COMMIT")
            return result
        } catch {
            if !connection.isClosed { _ = try? execute("ROLLBACK") }
            throw error
        }
    }
}

/// Closes the connections whose statements have gone unanswered past their deadline. One sweep
/// a second serves the whole process, so a wait costs a lock and a table entry instead of a
/// timer of its own on the connection's event loop (which cost lookups about a tenth of their
/// rate, a wake-up of the event loop to set it and another to cancel it).
final class PostgresAnswerWatch: Sendable {
    static let shared = PostgresAnswerWatch()

    /// Marked when the sweep closes a wait's connection.
    final class Expiry: Sendable {
        private let mark = Atomic<Bool>(false)
        var hasExpired: Bool { mark.load(ordering: .relaxed) }
        fileprivate func expire() { mark.store(true, ordering: .relaxed) }
    }

    private struct Wait: @unchecked Sendable {
        let connection: PostgresConnection
        let deadline: NIODeadline
        let expiry: Expiry
    }

    private let state = Mutex<(next: Int, waits: [Int: Wait], sweeping: RepeatedTask?)>((0, [:], nil))

    /// Registers a wait; the first one starts the sweep, which runs for the life of the process.
    func begin(_ connection: PostgresConnection, deadline: NIODeadline, expiry: Expiry) -> Int {
        state.withLock { state in
            if state.sweeping == nil {
                state.sweeping = PostgresConnection.defaultEventLoopGroup.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
                    self.sweep()
                }
            }
            state.next += 1
            state.waits[state.next] = Wait(connection: connection, deadline: deadline, expiry: expiry)
            return state.next
        }
    }

    func end(_ id: Int) {
        _ = state.withLock { $0.waits.removeValue(forKey: id) }
    }

    private func sweep() {
        let now = NIODeadline.now()
        let expired = state.withLock { state -> [Wait] in
            let due = state.waits.filter { $0.value.deadline <= now }
            for id in due.keys { state.waits.removeValue(forKey: id) }
            return Array(due.values)
        }
        for wait in expired {
            wait.expiry.expire()
            let _: EventLoopFuture<Void> = wait.connection.close()
        }
    }
}

/// The text of a statement the server parses and plans once per connection and then only
/// binds and runs: parsing and planning were about two fifths of the server's work on a lookup.
/// Only statements with a fixed text (values bound, never spliced) are prepared.
struct PreparedSQL: Hashable, Sendable, ExpressibleByStringLiteral {
    let text: String

    init(stringLiteral text: String) {
        self.text = text
    }

    init(_ text: String) {
        self.text = text
    }
}

/// The statements prepared on one connection, by text.
final class PostgresPreparedStatements {
    var statements: [PreparedSQL: PreparedQuery] = [:]
}

/// A statement to send: a text the server parses each time, or a prepared one with its values.
enum PostgresStatement {
    case text(PostgresQuery)
    case prepared(PreparedSQL, [PostgresData])
}

/// What a statement answered: its rows, and for a text statement its command tag's command
/// and the rows it changed.
struct StatementAnswer {
    let rows: [PostgresRow]
    let command: String?
    let changed: Int?
}

/// One statement's answer in a pipeline.
struct PipelinedResult {
    let answer: StatementAnswer?
    let error: (any Error)?

    /// The command tag's command ("COMMIT", or "ROLLBACK" for a COMMIT that could not commit).
    var command: String? { answer?.command }

    /// The rows, or the statement's error.
    func get() throws -> [PostgresRow] {
        if let error { throw error }
        return answer?.rows ?? []
    }
}

/// Binding byte arrays as `bytea` (an `[UInt8]` would otherwise bind as an array of "char").
extension Array where Element == UInt8 {
    var bytea: ByteBuffer { ByteBuffer(bytes: self) }

    /// The same as a prepared statement's value.
    var byteaValue: PostgresData { PostgresData(type: .bytea, value: ByteBuffer(bytes: self)) }
}

extension PostgresRandomAccessRow {
    func bytes(_ index: Int) throws -> [UInt8] {
        guard let buffer = self[index].bytes else { throw PostgresDecodingError.Code.missingData }
        return Array(buffer.readableBytesView)
    }

    func optionalBytes(_ index: Int) throws -> [UInt8]? {
        self[index].bytes.map { Array($0.readableBytesView) }
    }

    func int64(_ index: Int) throws -> Int64 {
        try cell(index).decode(Int64.self)
    }

    func bool(_ index: Int) throws -> Bool {
        try cell(index).decode(Bool.self)
    }

    func string(_ index: Int) throws -> String {
        try cell(index).decode(String.self)
    }

    func optionalInt64(_ index: Int) throws -> Int64? {
        self[index].bytes == nil ? nil : try int64(index)
    }

    /// Every value arrives in binary: postgres-nio asks for binary results in each Bind. A
    /// prepared statement's description still says text (the server describes a statement before
    /// any Bind chose a format), so the cell is told what it holds before it is decoded.
    private func cell(_ index: Int) -> PostgresCell {
        var cell = self[index]
        cell.format = .binary
        return cell
    }
}
