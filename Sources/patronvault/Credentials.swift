import ArgumentParser
import Foundation
import PatronVaultCore
import PatronVaultFrontEnd

/// How a staff member proves who they are: a bearer token from the environment or a file,
/// never from the command line where `ps` and shell history would show it.
struct StaffCredentials: ParsableArguments {
    @Option(name: .long, help: "A file holding the staff token (default: $PATRONVAULT_TOKEN).")
    var tokenFile: String?

    func principal(in vault: Vault) async throws -> Principal {
        try await vault.signIn.staff(token: token())
    }

    /// The token itself, to send to the daemon.
    func token() throws -> String {
        let token: String
        if let tokenFile {
            // A token is as good as the account: a file others can read is refused, as the
            // master key file is.
            if let mode = (try? FileManager.default.attributesOfItem(atPath: tokenFile))?[.posixPermissions] as? Int, mode & 0o077 != 0 {
                throw CommandFailure(
                    .keyFilePermissions,
                    "the token file \(tokenFile) is readable by group or others (mode \(String(mode & 0o777, radix: 8))); run chmod 600 on it")
            }
            guard let data = FileManager.default.contents(atPath: tokenFile) else {
                throw ValidationError("the token file \(tokenFile) cannot be read")
            }
            token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let value = Environment.value("PATRONVAULT_TOKEN") {
            token = value.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            throw ValidationError("no staff token: set PATRONVAULT_TOKEN or pass --token-file")
        }
        return token
    }
}

/// How a patron proves who they are: card barcode and a PIN read from stdin or the environment.
struct PatronCredentials: ParsableArguments {
    @Option(name: .long, help: "Your library card barcode.")
    var card: String

    @Flag(name: .long, help: "Read the PIN from standard input (else $PATRONVAULT_PIN).")
    var pinStdin = false

    /// A PIN already read (the current PIN of `me change-pin`).
    private var given: String?

    init() {}

    init(card: String, pin: String) {
        self.card = card
        given = pin
    }

    private enum CodingKeys: String, CodingKey { case card, pinStdin }

    func principal(in vault: Vault) async throws -> Principal {
        try await vault.signIn.patron(card: card, pin: try PIN.read(fromStdin: pinStdin))
    }

    /// Signs in at the daemon, runs `body` with the session token, and signs out whatever happens.
    func session<T>(at client: DaemonClient, _ body: (String) async throws -> T) async throws -> T {
        let pin = try given ?? String(decoding: PIN.read(fromStdin: pinStdin), as: UTF8.self)
        let token = try await client.send("POST", "/v1/sessions", token: nil, body: SessionRequest(card: card, pin: pin), as: OpenedSession.self).token
        let outcome: Result<T, any Error>
        do {
            outcome = .success(try await body(token))
        } catch {
            outcome = .failure(error)
        }
        _ = try? await client.exchange("DELETE", "/v1/sessions", token: token)
        return try outcome.get()
    }
}

enum PIN {
    static func read(fromStdin: Bool) throws -> [UInt8] {
        if fromStdin {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw ValidationError("no PIN on standard input")
            }
            return Array(line.utf8)
        }
        if let value = Environment.value("PATRONVAULT_PIN") { return Array(value.utf8) }
        throw ValidationError("no PIN: pass --pin-stdin or set PATRONVAULT_PIN")
    }
}

/// A patron's sign-in at the daemon, and what it answers.
private struct SessionRequest: Encodable, Sendable {
    let card: String
    let pin: String
}

private struct OpenedSession: Decodable {
    let token: String
}
