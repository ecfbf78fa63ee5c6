import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS

/// Where the daemon listens. Loopback by default; any other address carries tokens and patron
/// data across a network, so it needs TLS, or an explicit `--insecure-bind` (behind a
/// TLS-terminating proxy on the same host).
struct ListenOptions: ParsableArguments {
    @Option(name: .long, help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(name: .long, help: "Port to listen on; 0 picks a free one (printed when listening).")
    var port = 8470

    @Option(name: .long, help: "Listen on this Unix domain socket instead (mode 0660).")
    var socket: String?

    @Option(name: .long, help: "TLS certificate chain, PEM.")
    var tlsCertificate: String?

    @Option(name: .long, help: "TLS private key, PEM; a file only the daemon's user can read (0600).")
    var tlsKey: String?

    @Flag(name: .long, help: "Listen on a non-loopback address without TLS.")
    var insecureBind = false

    @Option(name: .long, help: "Seconds a connection may send nothing before it is closed (a slow or idle client).")
    var idleTimeout = 30

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard (1...3_600).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be between 1 and 3600 seconds") }
        guard (tlsCertificate == nil) == (tlsKey == nil) else {
            throw ValidationError("TLS needs both --tls-certificate and --tls-key")
        }
        if socket == nil, tlsCertificate == nil, !insecureBind, !Self.isLoopback(host) {
            throw ValidationError(
                "refusing to listen on \(host) without TLS: give --tls-certificate and --tls-key, or --insecure-bind behind a TLS proxy")
        }
    }

    var scheme: String { tlsCertificate == nil ? "http" : "https" }

    var bindAddress: BindAddress {
        socket.map { .unixDomainSocket(path: $0) } ?? .hostname(host, port: port)
    }

    /// HTTP/1.1, inside TLS when a certificate is given; a key file others can read is refused.
    /// A connection that sends nothing for `idleTimeout` seconds is closed, so slow or idle
    /// clients cannot hold the server's connections.
    func serverBuilder() throws -> HTTPServerBuilder {
        if let socket { try Self.clearStaleSocket(socket) }
        let http: HTTPServerBuilder = .http1(configuration: .init(idleTimeout: .seconds(Int64(idleTimeout))))
        guard let tlsCertificate, let tlsKey else { return http }
        var status = stat()
        guard stat(tlsKey, &status) == 0 else { throw ValidationError("the TLS key file \(tlsKey) cannot be read") }
        guard status.st_mode & 0o077 == 0 else {
            throw ValidationError("the TLS key file \(tlsKey) is readable by others (mode \(String(status.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(tlsCertificate)
            key = try NIOSSLPrivateKey(file: tlsKey, format: .pem)
        } catch {
            throw ValidationError("the TLS certificate or key is not a PEM file the daemon can use")
        }
        let configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        return try .tls(http, tlsConfiguration: configuration)
    }

    /// A socket file left by a daemon that did not stop cleanly would make the bind fail; any
    /// other kind of file at that path is refused, never removed.
    private static func clearStaleSocket(_ path: String) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFSOCK else { throw ValidationError("\(path) exists and is not a socket") }
        unlink(path)
    }

    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}
