import Foundation
import PatronVaultAudit
import PatronVaultCore
import PostgresNIO

/// Turns driver and server failures into one sentence each. Only the kind of failure and where
/// the database is are named: a server's message can quote a value (a duplicate key's bytes), and
/// postgres-nio's errors carry the query, so neither is ever passed on.
enum PostgresFailure {
    static func translate(_ error: any Error, store: String, location: PostgresLocation) -> VaultError {
        if let vaultError = error as? VaultError { return vaultError }
        if let timedOut = error as? PostgresSession.AnswerTimedOut {
            return VaultError.storage(
                "\(store) at \(location) did not answer within \(timedOut.after.components.seconds) s; the connection was closed and the next request connects again (a change whose commit was already sent may have been written: its audit entries say so)")
        }
        // The trail's own sentences name sequence numbers and sizes, never an entry's content.
        if let error = error as? AuditError { return VaultError(.integrityFailure, error.description) }
        if let error = error as? PSQLError {
            switch error.code {
            case .server:
                return server(state: error.serverInfo?[.sqlState] ?? "", store: store, location: location)
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .sslUnsupported,
                .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest:
                return unreachable(store: store, location: location)
            case .authMechanismRequiresPassword, .unsupportedAuthMechanism, .saslError:
                return VaultError.storage("\(store) at \(location) refused the sign-in: check the user and the password file")
            case .queryCancelled:
                return VaultError.storage("a statement on \(store) was cancelled; nothing was written")
            default:
                return VaultError.storage("\(store) at \(location) answered in a way PatronVault does not understand")
            }
        }
        // A prepared statement's failures come in postgres-nio's older error type.
        if let error = error as? PostgresError {
            switch error {
            case .server:
                return server(state: sqlState(of: error) ?? "", store: store, location: location)
            case .connectionClosed:
                return unreachable(store: store, location: location)
            case .protocol:
                return VaultError.storage("\(store) at \(location) answered in a way PatronVault does not understand")
            }
        }
        if error is PostgresDecodingError {
            return VaultError(.corruptVault, "\(store) at \(location) holds a value of the wrong type: it was edited or is not a PatronVault database")
        }
        if error is CancellationError { return .storage("the operation was cancelled before it was written") }
        // NIO's connect errors (refused, timed out, no such host).
        return unreachable(store: store, location: location)
    }

    /// The SQLSTATE a server's error carries, from either of postgres-nio's error types.
    static func sqlState(of error: any Error) -> String? {
        if let error = error as? PSQLError, error.code == .server { return error.serverInfo?[.sqlState] }
        if case .server(let message) = error as? PostgresError { return message.fields[.sqlState] }
        return nil
    }

    static func unreachable(store: String, location: PostgresLocation) -> VaultError {
        VaultError.storage("\(store) at \(location) cannot be reached; nothing was written")
    }

    /// SQLSTATE classes, from PostgreSQL's appendix A.
    private static func server(state: String, store: String, location: PostgresLocation) -> VaultError {
        switch state {
        case "23505":
            return VaultError(.alreadyExists, "a card barcode or item barcode is already in the vault")
        case "25006":
            return VaultError.storage("\(store) at \(location) is read-only (a replica?); point the vault at the primary")
        case "28P01", "28000":
            return VaultError.storage("\(store) at \(location) refused the sign-in: check the user and the password file")
        case "3D000":
            return VaultError(.notInitialized, "\(store) at \(location) does not exist; create the database first")
        case "42P01", "42703":
            return VaultError(.corruptVault, "\(store) at \(location) is not a PatronVault database, or its tables were altered")
        case "40001", "40P01", "55P03":
            return VaultError.storage("\(store) is busy; try again")
        case "53100":
            return VaultError.storage("the disk of \(store) is full; nothing was written")
        case "42501":
            return VaultError.storage("the user of \(store) at \(location) lacks a permission PatronVault needs")
        default:
            if state.hasPrefix("57P") || state.hasPrefix("08") { return unreachable(store: store, location: location) }
            if state.hasPrefix("53") { return VaultError.storage("\(store) at \(location) is out of resources; try again") }
            return VaultError.storage("\(store) failed (SQLSTATE \(state.isEmpty ? "unknown" : state))")
        }
    }
}
