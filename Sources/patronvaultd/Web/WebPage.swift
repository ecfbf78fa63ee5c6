import Foundation
import HTTPTypes
import Hummingbird

/// One HTML page of the patron's web pages, sent with the headers that keep it to itself: a
/// content security policy that allows nothing but this server's stylesheet and forms posting
/// back to it, no framing, no referrer to other sites, and no caching of a page that shows a patron's data.
struct WebPage: ResponseGenerator {
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    let title: String
    let body: HTML
    var status: HTTPResponse.Status = .ok
    var cookies: [Cookie] = []
    var retryAfter: Duration?

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let document: HTML = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title) · Your library account</title>
            <link rel="stylesheet" href="/style.css">
            </head>
            <body>
            <a class="skip" href="#main">Skip to the page's content</a>
            <header><p class="brand">Your library account</p></header>
            <main id="main">
            \(body)
            </main>
            <footer><p>Only you can see your reading history here. Every time library staff look at your record, it is listed on your account page.</p></footer>
            </body>
            </html>

            """
        var response = Response(status: status, headers: Self.headers(contentType: "text/html; charset=utf-8"), body: .init(byteBuffer: ByteBuffer(string: document.markup)))
        for cookie in cookies { response.setCookie(cookie) }
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter.components.seconds) }
        return response
    }

    static func headers(contentType: String) -> HTTPFields {
        [
            .contentType: contentType,
            .contentSecurityPolicy: contentSecurityPolicy,
            .xContentTypeOptions: "nosniff",
            // Same-origin: the browser names this origin on the pages' own forms (checked), and
            // tells no other site where a patron came from.
            HTTPField.Name("Referrer-Policy")!: "same-origin",
            HTTPField.Name("X-Frame-Options")!: "DENY",
            .cacheControl: "no-store",
        ]
    }

    /// A redirect after a form (post, redirect, get), so reloading never repeats an action.
    static func redirect(to location: String, cookies: [Cookie] = []) -> Response {
        var headers = headers(contentType: "text/plain; charset=utf-8")
        headers[.location] = location
        var response = Response(status: .seeOther, headers: headers)
        for cookie in cookies { response.setCookie(cookie) }
        return response
    }
}
