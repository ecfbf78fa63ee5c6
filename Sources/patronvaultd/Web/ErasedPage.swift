import Foundation
import PatronVaultCore

/// What is left after erasure: the signed receipt, shown once, for the patron to keep.
struct ErasedPage {
    let receipt: ErasureReceipt
    let receiptJSON: String

    var html: HTML {
        """
        <h1>Your account is erased</h1>
        <p class="notice" role="status">Your details, loans and reading history were destroyed with their keys.</p>
        <dl>
        <dt>Erased at</dt><dd>\(receipt.erasedAt.formatted(.iso8601))</dd>
        <dt>Records destroyed</dt><dd>\(receipt.recordsDestroyed) (reading history: \(receipt.historyDestroyed))</dd>
        <dt>Audit entries kept, naming no one</dt><dd>\(receipt.auditEntriesKept)</dd>
        <dt>Keys destroyed</dt><dd>\(receipt.keysDestroyed ? "yes" : "not yet; the next maintenance pass finishes it")</dd>
        <dt>Receipt hash</dt><dd><code>\(receipt.receiptHash)</code></dd>
        </dl>
        <h2>Your receipt</h2>
        <p>Save this text as a file to prove the erasure later: <code>patronvault export verify-receipt FILE</code> checks the library's signature.</p>
        <pre>\(receiptJSON)</pre>
        <p><a href="/">Back to the sign-in page</a></p>
        """
    }
}
