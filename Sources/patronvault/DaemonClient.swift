import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PatronVaultCore
import PatronVaultFrontEnd

/// The CLI as the daemon's client (`--server URL` or `PATRONVAULT_SERVER`: `http://…`,
/// `https://…`, or `unix:PATH`). The command sends what it would have done to the daemon, which
/// holds the keys, and renders the answer exactly as in direct mode: the daemon's bodies are the
/// core's documents, and its problem documents carry the kind of failure, so output and exit
/// codes are the same.
struct DaemonClient: Sendable {
    enum Address: Sendable {
        case web(URL)
        case unix(path: String)
    }

    let address: Address

    init(_ text: String) throws {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard path.hasPrefix("/") || path.hasPrefix(".") else { throw CommandFailure(.invalidInput, "a unix: server address needs a socket path, such as unix:/run/patronvault/pv.sock") }
            address = .unix(path: path)
        } else if let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil {
            address = .web(url)
        } else {
            throw CommandFailure(.invalidInput, "the server address must be http://HOST:PORT, https://HOST:PORT or unix:PATH")
        }
    }

    struct Answer: Sendable {
        let status: Int
        let body: Data
    }

    /// Sends one request and decodes a success; a failure becomes the CLI's error of the same kind.
    func send<Reply: Decodable>(
        _ method: String, _ path: String, token: String?, body: (any Encodable & Sendable)? = nil, as: Reply.Type = Reply.self
    ) async throws -> Reply {
        let answer = try await exchange(method, path, token: token, body: body)
        do {
            return try JSONDecoder().decode(Reply.self, from: answer.body)
        } catch {
            throw CommandFailure(.storageFailure, "the daemon's answer was not the document expected (is --server a PatronVault daemon of the same version?)")
        }
    }

    /// Sends one request; a failure becomes the CLI's error of the same kind.
    func exchange(_ method: String, _ path: String, token: String?, body: (any Encodable & Sendable)? = nil) async throws -> Answer {
        var headers = ["Accept": "application/json"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        var payload: Data?
        if let body {
            payload = try JSONEncoder().encode(body)
            headers["Content-Type"] = "application/json"
        }
        let answer: Answer
        do {
            switch address {
            case .web(let base): answer = try await Self.web(base, method, path, headers: headers, body: payload)
            case .unix(let socket): answer = try await UnixSocketHTTP.exchange(socket: socket, method: method, path: path, headers: headers, body: payload)
            }
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(.storageFailure, "cannot reach the daemon at \(description): is patronvaultd running there?")
        }
        guard (200..<300).contains(answer.status) else { throw Self.failure(answer) }
        return answer
    }

    /// A path segment: a card or id, percent-encoded so no character can change the route.
    static func segment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// `?name=value&…` of the parameters that have a value, or nothing.
    static func query(_ parameters: [String: String?]) -> String {
        let pairs = parameters.sorted { $0.key < $1.key }.compactMap { name, value in value.map { "\(name)=\(segment($0))" } }
        return pairs.isEmpty ? "" : "?" + pairs.joined(separator: "&")
    }

    var description: String {
        switch address {
        case .web(let url): url.absoluteString
        case .unix(let path): "unix:\(path)"
        }
    }

    /// The problem document's type names the core's kind of failure; its detail is the sentence.
    private static func failure(_ answer: Answer) -> CommandFailure {
        struct Problem: Decodable {
            let type: String
            let detail: String
        }
        guard let problem = try? JSONDecoder().decode(Problem.self, from: answer.body) else {
            return CommandFailure(.storageFailure, "the daemon answered HTTP \(answer.status)")
        }
        // What the server itself refused (http-STATUS) keeps the nearest kind.
        let fallback: VaultError.Kind = switch answer.status {
        case 400, 413, 422: .invalidInput
        case 404: .notFound
        default: .storageFailure
        }
        return CommandFailure(ProblemType.kind(of: problem.type) ?? fallback, problem.detail)
    }

    private static func web(_ base: URL, _ method: String, _ path: String, headers: [String: String], body: Data?) async throws -> Answer {
        var request = URLRequest(url: URL(string: path, relativeTo: base)!)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let (data, response) = try await URLSession.shared.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        return Answer(status: http.statusCode, body: data)
    }
}

/// HTTP/1.1 over a Unix domain socket, one request per connection (`Connection: close`): all a
/// CLI command needs, without a client library that would have to be built for it.
enum UnixSocketHTTP {
    static func exchange(socket path: String, method: String, path target: String, headers: [String: String], body: Data?) async throws -> DaemonClient.Answer {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try blockingExchange(socket: path, method: method, target: target, headers: headers, body: body) })
            }
        }
    }

    private struct Failure: Error {}

    private static func blockingExchange(socket path: String, method: String, target: String, headers: [String: String], body: Data?) throws -> DaemonClient.Answer {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure() }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw Failure() }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw Failure() }

        var head = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: \(body?.count ?? 0)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        var request = Data((head + "\r\n").utf8)
        if let body { request += body }
        try request.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let written = send(descriptor, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                guard written > 0 else { throw Failure() }
                sent += written
            }
        }
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            response.append(contentsOf: buffer[0..<count])
        }
        return try parse(response)
    }

    /// Status line, headers, and a body by Content-Length, chunks, or to the end.
    private static func parse(_ response: Data) throws -> DaemonClient.Answer {
        guard let split = response.range(of: Data("\r\n\r\n".utf8)) else { throw Failure() }
        let head = String(decoding: response[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure() }
        var fields: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Data(response[split.upperBound...])
        if fields["transfer-encoding"]?.lowercased() == "chunked" {
            var decoded = Data()
            var rest = body[...]
            while let lineEnd = rest.range(of: Data("\r\n".utf8)) {
                guard let size = Int(String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";")[0], radix: 16) else { throw Failure() }
                if size == 0 { break }
                let start = lineEnd.upperBound
                guard rest.distance(from: start, to: rest.endIndex) >= size else { throw Failure() }
                let end = rest.index(start, offsetBy: size)
                decoded.append(rest[start..<end])
                rest = rest[(rest.index(end, offsetBy: 2, limitedBy: rest.endIndex) ?? rest.endIndex)...]
            }
            body = decoded
        } else if let length = fields["content-length"].flatMap(Int.init), length <= body.count {
            body = body.prefix(length)
        }
        return DaemonClient.Answer(status: status, body: body)
    }
}
