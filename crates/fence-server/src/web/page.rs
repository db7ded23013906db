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

/// A logged-in page with an error message.
pub fn error(title: &str, session: &Session, text: &str) -> Html<String> {
    page(
        "web/message.html",
        title,
        session,
        Message { text, error: true },
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

#[cfg(test)]
pub(super) mod testing {
    use super::*;
    use fence_core::Role;
    use fence_store::users::UserRow;

    pub fn session() -> Session {
        Session {
            user: UserRow {
                id: "u1".into(),
                org_id: "o1".into(),
                email: "alice@example.com".into(),
                password_hash: String::new(),
                role: Role::Admin,
                timezone: None,
            },
            csrf: "fence_token".into(),
            org_timezone: "UTC".into(),
            zone: jiff::tz::TimeZone::UTC,
        }
    }

    /// A logged-in page as an admin sees it; fails on the error page a template that does not render gets.
    pub fn render<T: Serialize>(template: &str, ctx: T) -> String {
        let out = page(template, "Title", &session(), ctx).0;
        assert!(!out.contains("could not be shown"), "{template}: {out}");
        assert!(out.contains("<input type=hidden name=_csrf value=\"fence_token\">"));
        out
    }

    #[test]
    fn layouts_and_messages_escape_their_text() {
        let s = session();
        let out = message("<T>", &s, "No such <finding>.").0;
        assert!(out.contains("<title>&lt;T&gt; · Fence</title>"), "{out}");
        assert!(out.contains("<p>No such &lt;finding&gt;.</p>"), "{out}");
        assert!(out.contains("alice@example.com (admin)"));
        let out = error("Add to Slack", &s, "not <configured>").0;
        assert!(
            out.contains("<p class=error>not &lt;configured&gt;</p>"),
            "{out}"
        );
        let out = plain("Viewers cannot <change>.").0;
        assert!(out.contains("<p>Viewers cannot &lt;change&gt;.</p>") && !out.contains("Log out"));
        let out = bare_error("Log in", "Cannot start a session.").0;
        assert!(
            out.contains("<p class=error>Cannot start a session.</p>"),
            "{out}"
        );
    }
}
