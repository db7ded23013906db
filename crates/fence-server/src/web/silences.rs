//! Silences in the web UI: the active ones (soonest to end first) and the recent ended ones, a form that creates one
//! (members and admins; the same parse as the API's `matchers`), and "End now" on each active one.

use super::page::page;
use super::{field, Session};
use crate::services::silences::{self, Expiry};
use crate::services::ServiceError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use fence_core::silence::Matchers;
use fence_store::silences::SilenceRow;
use serde::Serialize;

/// The form's matcher inputs, in the order shown: (name, label).
const MATCHERS: [(&str, &str); 7] = [
    ("rule", "Rule"),
    ("cve", "CVE"),
    ("package", "Package"),
    ("domain", "Domain (*.example.com for its subdomains)"),
    ("tag", "Domain tag"),
    ("category", "Category"),
    ("severity", "Severity"),
];

#[derive(Serialize)]
struct Listed {
    id: String,
    matchers: String,
    reason: String,
    created_by: String,
    ends: Option<super::when::When>,
    matched: i64,
    active: bool,
}

#[derive(Serialize)]
struct Input {
    name: &'static str,
    label: &'static str,
    value: String,
}

#[derive(Serialize)]
struct SilencesPage {
    active: Vec<Listed>,
    ended: Vec<Listed>,
    inputs: Vec<Input>,
    duration: String,
    reason: String,
    /// What a refused form got wrong: (field, message).
    errors: Vec<(String, String)>,
}

fn listed(session: &Session, s: SilenceRow, now: i64) -> Listed {
    Listed {
        active: s.active_at(now),
        matchers: s.matchers.summary(),
        ends: session.when(s.expires_at),
        id: s.id,
        reason: s.reason,
        created_by: super::labels::actor_text(&s.created_by),
        matched: s.matched,
    }
}

async fn render(
    state: &AppState,
    session: &Session,
    form: &[(String, String)],
    errors: Vec<(String, String)>,
) -> Response {
    let org = &session.user.org_id;
    let now = state.clock.now_ms();
    let all = state
        .store
        .list_silences(org, None, 100)
        .await
        .unwrap_or_default();
    let (active, ended): (Vec<SilenceRow>, Vec<SilenceRow>) =
        all.into_iter().partition(|s| s.active_at(now));
    let mut active: Vec<Listed> = active
        .into_iter()
        .map(|s| listed(session, s, now))
        .collect();
    active.sort_by_key(|l| l.ends.as_ref().map(|w| w.utc.clone()));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let value = |k: &str| field(form, k).to_string();
    let ctx = SilencesPage {
        active,
        ended: ended
            .into_iter()
            .take(20)
            .map(|s| listed(session, s, now))
            .collect(),
        inputs: MATCHERS
            .iter()
            .map(|(name, label)| Input {
                name,
                label,
                value: value(name),
            })
            .collect(),
        duration: if form.is_empty() {
            "7d".into()
        } else {
            value("duration")
        },
        reason: value("reason"),
        errors,
    };
    (status, page("web/silences.html", "Silences", session, ctx)).into_response()
}

pub async fn list(State(state): State<AppState>, session: Session) -> Response {
    render(&state, &session, &[], Vec::new()).await
}

fn field_errors(e: &fence_core::FieldErrors) -> Vec<(String, String)> {
    e.0.iter()
        .map(|f| {
            let name = f.field.strip_prefix("matchers.").unwrap_or(&f.field);
            (name.to_string(), f.message.clone())
        })
        .collect()
}

pub async fn create(State(state): State<AppState>, session: Session, body: Bytes) -> Response {
    let f = match session.editing_form(&body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let mut m = serde_json::Map::new();
    for (name, _) in MATCHERS {
        let v = field(&f, name).trim();
        if !v.is_empty() {
            m.insert(name.into(), v.into());
        }
    }
    let matchers = match Matchers::parse(&serde_json::Value::Object(m)) {
        Ok(m) => m,
        Err(e) => return render(&state, &session, &f, field_errors(&e)).await,
    };
    let duration = match fence_core::text::parse_duration(field(&f, "duration")) {
        Ok(d) => d,
        Err(e) => return render(&state, &session, &f, vec![("duration".into(), e)]).await,
    };
    let actor = format!("user:{}", session.user.email);
    match silences::create(
        &state,
        &session.user.org_id,
        matchers,
        Expiry::After(duration),
        field(&f, "reason"),
        &actor,
    )
    .await
    {
        Ok(_) => Redirect::to("/silences").into_response(),
        Err(ServiceError::Invalid(e)) => render(&state, &session, &f, field_errors(&e)).await,
        Err(e) => {
            tracing::error!(error = %e, "creating a silence failed");
            render(
                &state,
                &session,
                &f,
                vec![("matchers".into(), e.public_message())],
            )
            .await
        }
    }
}

pub async fn expire(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = session.editing_form(&body) {
        return r.into_response();
    }
    let actor = format!("user:{}", session.user.email);
    match silences::expire(&state, &session.user.org_id, &id, &actor).await {
        Ok(_) => Redirect::to("/silences").into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "no such silence").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::page::testing::render;

    #[test]
    fn the_page_lists_silences_and_labels_every_input() {
        let ctx = SilencesPage {
            active: vec![Listed {
                id: "s1".into(),
                matchers: "rule=<js/xss> domain=*.example.com".into(),
                reason: "Known & accepted".into(),
                created_by: "an API token".into(),
                ends: None,
                matched: 3,
                active: true,
            }],
            ended: Vec::new(),
            inputs: MATCHERS
                .iter()
                .map(|(name, label)| Input {
                    name,
                    label,
                    value: String::new(),
                })
                .collect(),
            duration: "7d".into(),
            reason: String::new(),
            errors: vec![("cve".into(), "\"x\" is not a CVE id".into())],
        };
        let out = render("web/silences.html", ctx);
        assert!(out.contains("rule=&lt;js&#x2f;xss&gt;"), "{out}");
        assert!(out.contains("Known &amp; accepted"));
        assert!(out.contains("3 findings muted"));
        assert!(
            out.contains("action=\"&#x2f;silences&#x2f;s1&#x2f;expire\"")
                || out.contains("action=\"/silences/s1/expire\""),
            "{out}"
        );
        for (name, _) in MATCHERS {
            assert!(
                out.contains(&format!("<label for=silence-{name}>")),
                "{name}"
            );
        }
        assert!(out.contains("aria-describedby=error-cve"), "{out}");
        assert!(out.contains("is not a CVE id"));
    }
}
