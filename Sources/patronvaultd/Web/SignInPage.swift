/// The first page: card and PIN, with a line saying why the last attempt did not get in.
struct SignInPage {
    var message: String?
    var isError = false
    let formToken: String

    var html: HTML {
        """
        <h1>Sign in to your library account</h1>
        \(WebNotice(message: message, isError: isError).html)
        <p>See your details and loans, the reading history you chose to keep, and every time library staff looked at your record. Download everything the library holds about you, or erase it.</p>
        <form method="post" action="/sign-in">
        <input type="hidden" name="form_token" value="\(formToken)">
        <p><label for="card">Library card number</label>
        <input id="card" name="card" type="text" autocomplete="username" required maxlength="64"></p>
        <p><label for="pin">PIN</label>
        <input id="pin" name="pin" type="password" autocomplete="current-password" required maxlength="128"></p>
        <p><button type="submit">Sign in</button></p>
        </form>
        <p class="aside">Too many wrong PINs lock the card for a while. Library staff can set a new PIN at the desk.</p>
        <p><a href="/privacy">How the library handles your records</a> (the privacy notice, generated from the rules the library enforces).</p>
        """
    }
}

/// A status line (`role="status"`) after an action, or an alert (`role="alert"`) naming what was
/// wrong; nothing when there is nothing to say.
struct WebNotice {
    let message: String?
    var isError = false

    var html: HTML {
        guard let message else { return "" }
        return isError ? "<p class=\"error\" role=\"alert\">\(message)</p>" : "<p class=\"notice\" role=\"status\">\(message)</p>"
    }
}
