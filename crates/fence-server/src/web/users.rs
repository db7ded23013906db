//! Settings → Users (admins): the organization's users with their roles, and a role change per user. The last
//! admin cannot be demoted (the store refuses it, naming the field), and every change is audited.

use super::page::{error, page};
use super::{field, form, Session};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use fence_core::Role;
use serde::Serialize;

#[derive(Serialize)]
struct ListedUser {
    id: String,
    email: String,
    role: &'static str,
    me: bool,
}

#[derive(Serialize)]
struct UsersPage {
    users: Vec<ListedUser>,
    roles: [(&'static str, &'static str); 3],
    error: Option<String>,
}

const ROLES: [(&str, &str); 3] = [
    (
        "admin",
        "Admin — everything, including users and Add to Slack",
    ),
    ("member", "Member — triage and edit channels"),
    ("viewer", "Viewer — read only"),
];

fn refused(session: &Session) -> Response {
    let body = error("Users", session, "Only an admin may see and change users.");
    (StatusCode::FORBIDDEN, body).into_response()
}

async fn render(state: &AppState, session: &Session, error: Option<String>) -> Response {
    let users = state
        .store
        .list_users(&session.user.org_id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|u| ListedUser {
            me: u.id == session.user.id,
            role: u.role.as_str(),
            id: u.id,
            email: u.email,
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    let ctx = UsersPage {
        users,
        roles: ROLES,
        error,
    };
    (status, page("web/users.html", "Users", session, ctx)).into_response()
}

pub async fn list(State(state): State<AppState>, session: Session) -> Response {
    if session.user.role != Role::Admin {
        return refused(&session);
    }
    render(&state, &session, None).await
}

pub async fn set_role(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let f = form(&body);
    if let Err(r) = session.check_csrf(&f) {
        return r.into_response();
    }
    if session.user.role != Role::Admin {
        return refused(&session);
    }
    let Ok(role) = Role::parse(field(&f, "role")) else {
        return render(
            &state,
            &session,
            Some("role: must be admin, member or viewer".into()),
        )
        .await;
    };
    let org = &session.user.org_id;
    match state.store.set_user_role(org, &id, role).await {
        Ok(()) => {
            let actor = format!("user:{}", session.user.email);
            let _ = state
                .store
                .audit(
                    org,
                    &actor,
                    "user.role",
                    Some(&id),
                    Some(role.as_str()),
                    state.clock.now_ms(),
                )
                .await;
            Redirect::to("/settings/users").into_response()
        }
        Err(fence_store::StoreError::Conflict(m)) => render(&state, &session, Some(m)).await,
        Err(fence_store::StoreError::NotFound) => {
            (StatusCode::NOT_FOUND, "no such user").into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot change a user's role");
            (StatusCode::INTERNAL_SERVER_ERROR, "cannot save now").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::page::testing::render as render_page;

    #[test]
    fn each_user_has_a_labelled_role_choice() {
        let ctx = UsersPage {
            users: vec![ListedUser {
                id: "u1".into(),
                email: "<b>@example.com".into(),
                role: "member",
                me: false,
            }],
            roles: ROLES,
            error: Some("role: the organization's last admin stays an admin".into()),
        };
        let out = render_page("web/users.html", ctx);
        assert!(
            out.contains(
                "<label class=sr-only for=\"role-u1\">Role of &lt;b&gt;@example.com</label>"
            ),
            "{out}"
        );
        assert!(out.contains("<option value=\"member\" selected>"), "{out}");
        assert!(out.contains("class=error"), "{out}");
    }
}
