//! Settings → Notifications: the channel list with health and plan usage, the add/edit form with every field of a
//! channel (its inputs are [`ChannelForm`]), Test Integration (Slack's answer and the hint shown inline), Save (the
//! API's rules, errors beside their fields), delete, and a preview of each alert type.

use super::channel_form::ChannelForm;
use super::form_choices::Choices;
use super::page::{error, message, page};
use super::{field, Session};
use crate::services::channels::{self, channel_json, TestResult};
use crate::services::ServiceError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fence_core::{ChannelState, Plan};
use fence_store::channels::ChannelRow;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

/// A channel in the list, with its health.
#[derive(Serialize)]
struct ListedChannel<'a> {
    id: &'a str,
    name: &'a str,
    kind: &'static str,
    channel: &'a str,
    webhook_hint: &'a str,
    state: &'static str,
    error: &'a str,
    hint: &'a str,
    warnings: Vec<String>,
}

impl<'a> ListedChannel<'a> {
    fn of(c: &'a ChannelRow) -> Self {
        ListedChannel {
            id: &c.id,
            name: &c.name,
            kind: c.kind.as_str(),
            channel: c.channel.as_deref().unwrap_or(""),
            webhook_hint: &c.webhook_hint,
            state: c.state.as_str(),
            error: c.status_error.as_deref().unwrap_or(""),
            hint: c.status_hint.as_deref().unwrap_or(""),
            warnings: crate::services::channels::warnings(c),
        }
    }
}

#[derive(Serialize)]
struct ChannelsPage<'a> {
    usage: String,
    can_edit: bool,
    can_add: bool,
    channels: Vec<ListedChannel<'a>>,
}

/// How many channels the plan allows and how many are used.
fn usage(plan: Plan, used: usize) -> String {
    match plan.channel_limit() {
        Some(0) => format!("The {plan} plan does not include Slack channels."),
        Some(l) => format!("{used} of {l} channels used on the {plan} plan."),
        None => format!("{used} channels (unlimited on the {plan} plan)."),
    }
}

pub async fn list(State(state): State<AppState>, session: Session) -> Response {
    let org = &session.user.org_id;
    let channels = state.store.list_channels(org).await.unwrap_or_default();
    let plan = state.plan_of(org).await.unwrap_or(Plan::Startup);
    let ctx = ChannelsPage {
        usage: usage(plan, channels.len()),
        can_edit: session.can_edit(),
        can_add: plan
            .channel_limit()
            .is_none_or(|l| (channels.len() as u32) < l),
        channels: channels.iter().map(ListedChannel::of).collect(),
    };
    page(
        "web/channels.html",
        "Settings → Notifications",
        &session,
        ctx,
    )
    .into_response()
}

/// Which form input an API field path belongs to.
pub(super) fn input_of(path: &str) -> String {
    let head = path.split(['[', '.']).next().unwrap_or("");
    match head {
        "filters" => match path
            .split('.')
            .nth(1)
            .map(|s| s.split('[').next().unwrap_or(s))
        {
            Some("schedule") => "schedule".into(),
            Some(other) => other.into(),
            None => "filters".into(),
        },
        "mentions" => format!(
            "mention_{}",
            path.split('.')
                .nth(1)
                .and_then(|s| s.split('[').next())
                .unwrap_or("")
        ),
        other => other.into(),
    }
}

/// A refused save's message: beside the input its field belongs to, and at the top (naming the field, unless the
/// refusal names none: plan limits).
#[derive(Serialize)]
struct FormError {
    field: String,
    input: String,
    message: String,
    named: bool,
}

impl FormError {
    fn new(field: &str, message: &str) -> FormError {
        FormError {
            field: field.to_string(),
            input: input_of(field),
            message: message.to_string(),
            named: !(field.is_empty() || ["plan_limit", "forbidden"].contains(&field)),
        }
    }
}

/// Test Integration's answer.
#[derive(Serialize)]
struct TestShown<'a> {
    ok: bool,
    error: &'a str,
    hint: &'a str,
}

impl<'a> TestShown<'a> {
    fn of(t: &'a TestResult) -> Self {
        TestShown {
            ok: t.ok,
            error: t.error.as_deref().unwrap_or(""),
            hint: t.hint.as_deref().unwrap_or(""),
        }
    }
}

/// What the form shows of a stored channel's destination without its secrets.
#[derive(Serialize, Default)]
struct Destination<'a> {
    webhook_hint: Option<&'a str>,
    has_bot_token: bool,
}

impl<'a> Destination<'a> {
    fn of(row: Option<&'a ChannelRow>) -> Self {
        row.map(|c| Destination {
            webhook_hint: Some(&c.webhook_hint),
            has_bot_token: c.bot_token_enc.is_some(),
        })
        .unwrap_or_default()
    }
}

/// A broken (or degraded) channel's last answer from Slack, and its fix.
#[derive(Serialize)]
struct Broken<'a> {
    error: &'a str,
    hint: &'a str,
}

/// The add/edit form page (`channel_form.html`).
#[derive(Serialize)]
pub(super) struct FormPage<'a> {
    id: Option<&'a str>,
    broken: Option<Broken<'a>>,
    /// The bot was refused; alerts go through the webhook.
    degraded: Option<Broken<'a>>,
    error: Option<FormError>,
    test: Option<TestShown<'a>>,
    form: &'a ChannelForm,
    destination: Destination<'a>,
    choices: Choices,
    plan: String,
    templates: bool,
    identity: bool,
}

impl<'a> FormPage<'a> {
    pub(super) fn new(form: &'a ChannelForm, plan: Plan, row: Option<&'a ChannelRow>) -> Self {
        FormPage {
            id: row.map(|c| c.id.as_str()),
            broken: None,
            degraded: None,
            error: None,
            test: None,
            form,
            destination: Destination::of(row),
            choices: Choices::new(),
            plan: plan.to_string(),
            templates: plan.has_enterprise_features(),
            identity: plan.has_identity(),
        }
    }

    pub(super) fn render(self, title: &str, session: &Session) -> Html<String> {
        page("web/channel_form.html", title, session, self)
    }
}

pub async fn new_form(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = session.require_editor() {
        return r.into_response();
    }
    let kind = if q.get("type").map(String::as_str) == Some("mattermost") {
        "mattermost"
    } else {
        "slack"
    };
    let plan = state
        .plan_of(&session.user.org_id)
        .await
        .unwrap_or(Plan::Startup);
    let title = if kind == "slack" {
        "Add Channel → Slack"
    } else {
        "Add Channel → Mattermost"
    };
    let form = ChannelForm::blank(kind);
    FormPage::new(&form, plan, None)
        .render(title, &session)
        .into_response()
}

pub async fn edit_form(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let Ok(c) = state.store.channel(&session.user.org_id, &id).await else {
        let body = message("Not found", &session, "No such channel.");
        return (StatusCode::NOT_FOUND, body).into_response();
    };
    let plan = state
        .plan_of(&session.user.org_id)
        .await
        .unwrap_or(Plan::Startup);
    let form = ChannelForm::from_channel_json(&channel_json(&c));
    let mut ctx = FormPage::new(&form, plan, Some(&c));
    let last = || Broken {
        error: c.status_error.as_deref().unwrap_or(""),
        hint: c.status_hint.as_deref().unwrap_or(""),
    };
    match c.state {
        ChannelState::Broken => ctx.broken = Some(last()),
        ChannelState::Degraded => ctx.degraded = Some(last()),
        _ => {}
    }
    ctx.render(&c.name, &session).into_response()
}

/// Where a refused save shows its error: beside the field it names, or at the top (plan limits name none).
fn refusal(e: &ServiceError) -> (StatusCode, String, String) {
    match e {
        ServiceError::Invalid(errs) => {
            let field = errs.first().map(|f| f.field.clone()).unwrap_or_default();
            let message = errs.summary();
            (StatusCode::UNPROCESSABLE_ENTITY, field, message)
        }
        ServiceError::PlanLimit(m) => (StatusCode::FORBIDDEN, "plan_limit".into(), m.clone()),
        ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, String::new(), e.to_string()),
        ServiceError::Conflict(_) => (StatusCode::CONFLICT, String::new(), e.to_string()),
        ServiceError::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            String::new(),
            e.to_string(),
        ),
        ServiceError::Store(_) | ServiceError::Internal(_) => {
            tracing::error!(error = %e, "channel not saved");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                String::new(),
                e.public_message(),
            )
        }
        _ => (
            StatusCode::UNPROCESSABLE_ENTITY,
            String::new(),
            e.to_string(),
        ),
    }
}

pub async fn save(State(state): State<AppState>, session: Session, body: Bytes) -> Response {
    let f = match session.editing_form(&body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let org = session.user.org_id.clone();
    let plan = state.plan_of(&org).await.unwrap_or(Plan::Startup);
    let existing = match Some(field(&f, "id")).filter(|s| !s.is_empty()) {
        Some(id) => match channels::load(&state, &org, id)
            .await
            .and_then(|row| channels::open(&state, row))
        {
            Ok(e) => Some(e),
            Err(_) => return (StatusCode::NOT_FOUND, "no such channel").into_response(),
        },
        None => None,
    };
    let existing_row = existing.as_ref().map(|e| &e.row);
    let title = existing_row.map_or("Add Channel", |c| c.name.as_str());
    let submitted = ChannelForm::from_submitted(&f).to_channel_json();
    // A refused save or a test shows the submitted channel again.
    let form = ChannelForm::from_channel_json(&submitted);
    let shown = || FormPage::new(&form, plan, existing_row);
    let refused = |e: ServiceError| {
        let (status, field, message) = refusal(&e);
        let mut ctx = shown();
        ctx.error = Some(FormError::new(&field, &message));
        (status, ctx.render(title, &session)).into_response()
    };
    let input = match channels::prepare(&state, &org, &submitted, existing.as_ref()).await {
        Ok(i) => i,
        Err(e) => return refused(e),
    };
    if field(&f, "action") == "test" {
        let result = channels::test_input(&state, &input, existing_row).await;
        let mut ctx = shown();
        ctx.test = Some(TestShown::of(&result));
        return ctx.render(title, &session).into_response();
    }
    let actor = format!("user:{}", session.user.email);
    match channels::save(&state, &org, &actor, input, existing_row).await {
        Ok(_) => Redirect::to("/settings/notifications").into_response(),
        Err(e) => refused(e),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = session.editing_form(&body) {
        return r.into_response();
    }
    let actor = format!("user:{}", session.user.email);
    if let Err(e) = channels::delete(&state, &session.user.org_id, &actor, &id).await {
        tracing::warn!(error = %e, "channel not deleted");
    }
    Redirect::to("/settings/notifications").into_response()
}

/// An alert type's preview.
#[derive(Serialize)]
struct Preview<'a> {
    id: &'a str,
    headline: &'a str,
    look: super::slack_look::Look,
    message: String,
    types: Vec<PreviewType>,
}

/// An alert type the preview page links to.
#[derive(Serialize)]
struct PreviewType {
    value: &'static str,
    label: &'static str,
    current: bool,
}

pub async fn preview(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Ok(c) = state.store.channel(&session.user.org_id, &id).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let t =
        fence_core::AlertType::parse(q.get("type").map(String::as_str).unwrap_or("vulnerability"))
            .unwrap_or(fence_core::AlertType::Vulnerability);
    let msg = match channels::preview_message(&state, &c, &fence_slack::template::sample(t)).await {
        Ok((m, _)) => m,
        Err(e) => json!({ "error": e.to_string() }),
    };
    let ctx = Preview {
        id: &id,
        headline: msg["text"].as_str().unwrap_or(""),
        look: super::slack_look::look(&msg, c.kind),
        message: serde_json::to_string_pretty(&msg).unwrap_or_default(),
        types: fence_core::AlertType::ALL
            .iter()
            .map(|a| PreviewType {
                value: a.as_str(),
                label: super::labels::alert_type_label(*a),
                current: *a == t,
            })
            .collect(),
    };
    let title = format!("Preview: {}", super::labels::alert_type_label(t));
    page("web/channel_preview.html", &title, &session, ctx).into_response()
}

/// "Add to Slack" from the browser: the same OAuth start as `GET /api/slack/install`, for a logged-in admin, with the
/// install's nonce cookie.
pub async fn add_to_slack(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
) -> Response {
    let installer = channels::Installer {
        org_id: session.user.org_id.clone(),
        user_id: session.user.id.clone(),
        session_id: super::cookie(&headers, super::SESSION_COOKIE)
            .unwrap_or_default()
            .to_string(),
    };
    if session.user.role != fence_core::Role::Admin {
        return (
            StatusCode::FORBIDDEN,
            error(
                "Add to Slack",
                &session,
                "Only a Fence admin may install the Slack app.",
            ),
        )
            .into_response();
    }
    match channels::install_url(&state, &installer).await {
        Ok((url, attempt)) => (
            [(
                header::SET_COOKIE,
                crate::http::session::install_cookie(&state, &attempt.nonce),
            )],
            Redirect::to(&url),
        )
            .into_response(),
        Err(e) => {
            let (status, _, message) = refusal(&e);
            let status = match e {
                ServiceError::NotConfigured(_) => StatusCode::CONFLICT,
                _ => status,
            };
            (status, error("Add to Slack", &session, &message)).into_response()
        }
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
