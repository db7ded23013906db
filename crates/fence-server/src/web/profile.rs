//! Settings → You: the time zone this user's pages show times in (empty: the organization's), and for admins the
//! organization's own, which members without one of their own see. A zone Fence does not know is refused beside its
//! field and nothing is saved.

use super::page::page;
use super::when::is_zone;
use super::{field, form, Session};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use fence_core::Role;
use serde::Serialize;

#[derive(Serialize, Default)]
struct ProfilePage {
    timezone: String,
    org_timezone: String,
    is_admin: bool,
    /// `(input, message)` of a refused save.
    error: Option<FieldError>,
    /// An example time in the zone the pages use now.
    now: Option<super::when::When>,
}

#[derive(Serialize)]
struct FieldError {
    input: &'static str,
    message: String,
}

fn view(session: &Session, state: &AppState, error: Option<FieldError>) -> ProfilePage {
    ProfilePage {
        timezone: session.user.timezone.clone().unwrap_or_default(),
        org_timezone: session.org_timezone.clone(),
        is_admin: session.user.role == Role::Admin,
        error,
        now: session.when(state.clock.now_ms()),
    }
}

pub async fn show(State(state): State<AppState>, session: Session) -> Response {
    let ctx = view(&session, &state, None);
    page("web/profile.html", "Your settings", &session, ctx).into_response()
}

/// Checks both fields first; saves only when both are acceptable.
pub async fn save(State(state): State<AppState>, session: Session, body: Bytes) -> Response {
    let f = form(&body);
    if let Err(r) = session.check_csrf(&f) {
        return r.into_response();
    }
    let own = field(&f, "timezone").trim();
    let org = field(&f, "org_timezone").trim();
    let refuse = |input: &'static str, value: &str| {
        FieldError {
        input,
        message: format!(
            "{input}: {:?} is not a time zone Fence knows; use an IANA name such as Europe/Berlin or America/New_York, or UTC",
            fence_core::text::truncate_chars(value, 64)
        ),
    }
    };
    let error = if !own.is_empty() && !is_zone(own) {
        Some(refuse("timezone", own))
    } else if session.user.role == Role::Admin && !org.is_empty() && !is_zone(org) {
        Some(refuse("org_timezone", org))
    } else {
        None
    };
    if error.is_some() {
        let ctx = view(&session, &state, error);
        let body = page("web/profile.html", "Your settings", &session, ctx);
        return (StatusCode::UNPROCESSABLE_ENTITY, body).into_response();
    }
    let saved = async {
        state
            .store
            .set_user_timezone(&session.user.id, Some(own).filter(|z| !z.is_empty()))
            .await?;
        if session.user.role == Role::Admin && !org.is_empty() && org != session.org_timezone {
            state
                .store
                .set_org_timezone(&session.user.org_id, org)
                .await?;
            let actor = format!("user:{}", session.user.email);
            state
                .store
                .audit(
                    &session.user.org_id,
                    &actor,
                    "org.timezone",
                    None,
                    Some(org),
                    state.clock.now_ms(),
                )
                .await?;
        }
        Ok::<_, fence_store::StoreError>(())
    };
    match saved.await {
        Ok(()) => Redirect::to("/settings/profile").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot save a user's time zone");
            (StatusCode::INTERNAL_SERVER_ERROR, "cannot save now").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::page::testing::render;

    #[test]
    fn the_page_shows_both_zones_to_admins_and_names_a_refused_field() {
        let ctx = ProfilePage {
            timezone: "Europe/Berlin".into(),
            org_timezone: "UTC".into(),
            is_admin: true,
            error: Some(FieldError {
                input: "org_timezone",
                message: "org_timezone: \"Mars\" is not a time zone Fence knows".into(),
            }),
            now: None,
        };
        let out = render("web/profile.html", ctx);
        assert!(
            out.contains("name=timezone value=\"Europe&#x2f;Berlin\""),
            "{out}"
        );
        assert!(out.contains("name=org_timezone value=\"UTC\""), "{out}");
        assert!(out.contains("id=\"error-org_timezone\""), "{out}");
        let member = ProfilePage {
            org_timezone: "UTC".into(),
            ..Default::default()
        };
        let out = render("web/profile.html", member);
        assert!(!out.contains("name=org_timezone"), "{out}");
        assert!(out.contains("the organization's (UTC)"), "{out}");
    }
}
