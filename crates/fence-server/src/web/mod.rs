//! The web UI: server-rendered pages for logging in, Settings → Notifications (channels with their health, the
//! add/edit form with every field, Test Integration, previews), findings with triage, scans with reports, and the
//! dashboard. Sessions are HttpOnly SameSite cookies; every form carries a CSRF token checked on submission.

mod auth;
mod channel_form;
mod dashboard;
mod escalation_form;
mod exploit_form;
mod findings;
mod findings_sort;
mod form_choices;
mod labels;
mod page;
mod profile;
mod scans;
mod settings;
mod sign_in;
mod silences;
mod slack_look;
mod trend;
mod users;
mod when;

use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use fence_store::users::UserRow;

/// The web UI's one stylesheet, served (not inline) so the Content-Security-Policy needs no `'unsafe-inline'` for
/// style elements.
async fn stylesheet() -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../templates/web/style.css"),
    )
        .into_response()
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/static/style.css", get(stylesheet))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/login/oidc", get(sign_in::start))
        .route("/login/oidc/callback", get(sign_in::callback))
        .route("/logout", post(auth::logout))
        .route("/dashboard", get(dashboard::dashboard))
        .route("/findings", get(findings::list))
        .route("/findings/{id}", get(findings::show))
        .route("/findings/{id}/triage", post(findings::triage))
        .route("/scans", get(scans::scans))
        .route("/scans/{id}", get(scans::scan))
        .route("/scans/{id}/report.csv", get(scans::scan_csv))
        .route("/domains/{name}", get(dashboard::domain))
        .route("/docs/certificates", get(dashboard::certificate_docs))
        .route("/settings/profile", get(profile::show).post(profile::save))
        .route("/silences", get(silences::list).post(silences::create))
        .route("/silences/{id}/expire", post(silences::expire))
        .route("/settings/users", get(users::list))
        .route("/settings/users/{id}/role", post(users::set_role))
        .route("/settings/notifications", get(settings::list))
        .route("/settings/notifications/new", get(settings::new_form))
        .route("/settings/notifications/save", post(settings::save))
        .route(
            "/settings/notifications/add-to-slack",
            get(settings::add_to_slack),
        )
        .route("/settings/notifications/{id}", get(settings::edit_form))
        .route(
            "/settings/notifications/{id}/delete",
            post(settings::delete),
        )
        .route(
            "/settings/notifications/{id}/preview",
            get(settings::preview),
        )
}

/// A logged-in user with the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: UserRow,
    pub csrf: String,
    /// The organization's time zone, and the zone this user's pages show times in (their own, else it).
    pub org_timezone: String,
    pub zone: jiff::tz::TimeZone,
}

impl Session {
    /// A stored time (ms) as this reader's pages show it.
    pub fn when(&self, ms: i64) -> Option<when::When> {
        when::When::at(ms, &self.zone)
    }

    /// Viewers read; members and admins change things.
    pub fn can_edit(&self) -> bool {
        self.user.role.can_edit()
    }

    /// Checks a submitted form's CSRF token.
    pub fn check_csrf(&self, form: &[(String, String)]) -> Result<(), Refused> {
        let sent = form
            .iter()
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        let ok: bool = subtle::ConstantTimeEq::ct_eq(sent.as_bytes(), self.csrf.as_bytes()).into();
        if ok {
            Ok(())
        } else {
            Err(Refused("The form expired or did not come from Fence (CSRF check failed). Reload the page and try again."))
        }
    }

    /// Parses a submitted form that changes something: its CSRF token must match and the user must not be a viewer.
    pub fn editing_form(&self, body: &[u8]) -> Result<Vec<(String, String)>, Refused> {
        let f = form(body);
        self.check_csrf(&f)?;
        self.require_editor()?;
        Ok(f)
    }

    pub fn require_editor(&self) -> Result<(), Refused> {
        if self.can_edit() {
            Ok(())
        } else {
            Err(Refused(
                "Viewers cannot change settings or triage findings.",
            ))
        }
    }
}

/// A form refused before doing anything (403 with the reason).
#[derive(Debug)]
pub struct Refused(&'static str);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (StatusCode::FORBIDDEN, page::plain(self.0)).into_response()
    }
}

pub use crate::http::session::{cookie, SESSION_COOKIE};

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Not logged in: the log-in page, which comes back here afterwards (a page asked for with GET, such as a
        // finding opened from Slack's View Details).
        let to_login = || {
            let here = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let back = (parts.method == axum::http::Method::GET)
                .then(|| auth::safe_next(here))
                .flatten()
                .filter(|p| *p != "/" && *p != "/dashboard");
            match back {
                Some(p) => Redirect::to(&format!(
                    "/login?next={}",
                    url::form_urlencoded::byte_serialize(p.as_bytes()).collect::<String>()
                )),
                None => Redirect::to("/login"),
            }
            .into_response()
        };
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        match state.store.session(id, state.clock.now_ms()).await {
            Ok(Some(s)) => Ok(Session {
                zone: when::reader_zone(s.user.timezone.as_deref(), Some(&s.org_timezone)),
                org_timezone: s.org_timezone,
                user: s.user,
                csrf: s.csrf,
            }),
            _ => Err(to_login()),
        }
    }
}

/// Parses a urlencoded form body.
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

pub fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

pub fn fields<'a>(form: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}
