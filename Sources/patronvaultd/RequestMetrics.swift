import Foundation
import Hummingbird
import Synchronization

/// Request counts and latency histograms by route and status, for `/metrics` in Prometheus's
/// text format. Labels are the route's template (`/v1/patrons/{card}`), the method and the
/// status: never a card, token or any other value from a request.
final class RequestMetrics: Sendable {
    /// Upper bounds of the latency buckets, in seconds.
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]

    private struct Series {
        var count = 0
        var sum = 0.0
        var buckets = [Int](repeating: 0, count: RequestMetrics.buckets.count)
    }

    private struct Key: Hashable, Comparable {
        let route: String
        let method: String
        let status: Int

        static func < (a: Key, b: Key) -> Bool { (a.route, a.method, a.status) < (b.route, b.method, b.status) }
    }

    private let series = Mutex<[Key: Series]>([:])

    func record(route: String, method: String, status: Int, seconds: Double) {
        series.withLock { all in
            var entry = all[Key(route: route, method: method, status: status)] ?? Series()
            entry.count += 1
            entry.sum += seconds
            for (index, bound) in Self.buckets.enumerated() where seconds <= bound { entry.buckets[index] += 1 }
            all[Key(route: route, method: method, status: status)] = entry
        }
    }

    /// The exposition text (version 0.0.4).
    var text: String {
        let snapshot = series.withLock { $0 }
        var out = "# HELP patronvault_http_requests_total Requests answered, by route template, method and status.\n"
        out += "# TYPE patronvault_http_requests_total counter\n"
        let keys = snapshot.keys.sorted()
        for key in keys { out += "patronvault_http_requests_total{\(Self.labels(key))} \(snapshot[key]!.count)\n" }
        out += "# HELP patronvault_http_request_duration_seconds Time to answer, by route template, method and status.\n"
        out += "# TYPE patronvault_http_request_duration_seconds histogram\n"
        for key in keys {
            let entry = snapshot[key]!
            let labels = Self.labels(key)
            for (index, bound) in Self.buckets.enumerated() {
                out += "patronvault_http_request_duration_seconds_bucket{\(labels),le=\"\(bound)\"} \(entry.buckets[index])\n"
            }
            out += "patronvault_http_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(entry.count)\n"
            out += "patronvault_http_request_duration_seconds_sum{\(labels)} \(entry.sum)\n"
            out += "patronvault_http_request_duration_seconds_count{\(labels)} \(entry.count)\n"
        }
        return out
    }

    private static func labels(_ key: Key) -> String {
        "route=\"\(key.route)\",method=\"\(key.method)\",status=\"\(key.status)\""
    }
}

/// Times every request and records it under its route's template; a request no route matched
/// is recorded as `unmatched`, so probing for paths cannot grow the label set.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: RequestMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        // A matched route's template starts with a slash; Hummingbird names the rest "NotFound".
        let route = context.endpointPath.flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "unmatched"
        metrics.record(route: route, method: request.method.rawValue, status: response.status.code, seconds: seconds)
        return response
    }
}
