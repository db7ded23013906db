//! Pages from templates (`templates/web/`): the layout for a logged-in user (`base.html`, with the navigation and the
//! session's CSRF token), the bare one for logging in and errors (`bare.html`), and short messages in either. The
//! environment escapes every value, so handlers hand over plain text.

use super::Session;
use axum::response::Html;
use serde::Serialize;

/// Who is logged in, as the navigation shows them (and the token of its Log out form).
#[derive(Serialize)]
struct User<'a> {
    email: &'a str,
    role: &'a str,
    csrf: &'a str,
}

/// A template's context: the layout's fields next to the page's own.
#[derive(Serialize)]
struct Context<'a, T: Serialize> {
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<User<'a>>,
    #[serde(flatten)]
    page: T,
}

/// A message page's text, shown as an error or plainly.
#[derive(Serialize)]
struct Message<'a> {
    text: &'a str,
    error: bool,
}

/// A page for a logged-in user: `template` extends `web/base.html`.
pub fn page<T: Serialize>(template: &str, title: &str, session: &Session, page: T) -> Html<String> {
    let user = User {
        email: &session.user.email,
        role: session.user.role.as_str(),
        csrf: &session.csrf,
    };
    Html(crate::html::render(
        template,
        Context {
            title,
            user: Some(user),
            page,
        },
    ))
}

/// A page without the navigation (log-in, errors): `template` extends `web/bare.html`.
pub fn bare<T: Serialize>(template: &str, title: &str, page: T) -> Html<String> {
    Html(crate::html::render(
        template,
        Context {
            title,
            user: None,
            page,
        },
    ))
}

/// A logged-in page saying one thing ("No such finding.").
pub fn message(title: &str, session: &Session, text: &str) -> Html<String> {
    page(
        "web/message.html",
        title,
        session,
        Message { text, error: false },
    )
}

/// A page without navigation saying one thing (a refused form).
pub fn plain(text: &str) -> Html<String> {
    bare("web/notice.html", "Fence", Message { text, error: false })
}

/// A page without navigation with an error message.
pub fn bare_error(title: &str, text: &str) -> Html<String> {
    bare("web/notice.html", title, Message { text, error: true })
}

/// The context of a page that shows nothing but its template.
#[derive(Serialize)]
pub struct Static {}

/// The channel settings pages still build their HTML by hand; these go once they use templates too.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The logged-in layout around a hand-built body (the channel settings pages, until they use templates).
pub fn layout(title: &str, session: &Session, body: &str) -> Html<String> {
    page(
        "web/raw.html",
        title,
        session,
        Raw {
            body: minijinja::Value::from_safe_string(body.to_string()),
        },
    )
}

/// A hand-built, already escaped body.
#[derive(Serialize)]
struct Raw {
    body: minijinja::Value,
}

pub fn csrf_input(session: &Session) -> String {
    format!(
        "<input type=hidden name=_csrf value=\"{}\">",
        esc(&session.csrf)
    )
}
