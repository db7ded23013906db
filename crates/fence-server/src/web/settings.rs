//! Settings → Notifications: the channel list with health and plan usage, the add/edit form with every field of a
//! channel, Test Integration (Slack's answer and the hint shown inline), Save (the API's rules, errors beside their
//! fields), delete, and a preview of each alert type.

use super::page::{csrf_input, esc, layout};
use super::{field, fields, Session};
use crate::services::channels::{self, channel_json, TestResult};
use crate::services::ServiceError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use fence_core::Plan;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

const MENTION_KEYS: [&str; 9] = [
    "critical",
    "high",
    "medium",
    "low",
    "info",
    "certificate_expiring",
    "scan_completed",
    "digest",
    "reminder",
];
const ALERT_TYPES: [(&str, &str); 5] = [
    ("vulnerability", "Vulnerabilities"),
    ("certificate_expiring", "Certificates expiring"),
    ("scan_completed", "Scan completed"),
    ("digest", "Digest"),
    ("reminder", "Reminders"),
];
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

pub async fn list(State(state): State<AppState>, session: Session) -> Response {
    let org = &session.user.org_id;
    let channels = state.store.list_channels(org).await.unwrap_or_default();
    let plan = state.plan_of(org).await.unwrap_or(Plan::Startup);
    let usage = match plan.channel_limit() {
        Some(0) => format!("The {plan} plan does not include Slack channels."),
        Some(l) => format!(
            "{} of {l} channels used on the {plan} plan.",
            channels.len()
        ),
        None => format!(
            "{} channels (unlimited on the {plan} plan).",
            channels.len()
        ),
    };
    let rows: String = channels
        .iter()
        .map(|c| {
            let health = match c.state.as_str() {
                "broken" => format!(
                    "<span class=broken>broken: {}</span><br><span class=muted>{}</span>",
                    esc(c.status_error.as_deref().unwrap_or("")),
                    esc(c.status_hint.as_deref().unwrap_or(""))
                ),
                s => format!("<span class={s}>{s}</span>", s = esc(s)),
            };
            format!(
                "<tr><td><a href=\"/settings/notifications/{id}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{health}</td></tr>",
                esc(&c.name),
                esc(c.kind.as_str()),
                esc(c.channel.as_deref().unwrap_or("")),
                esc(&c.webhook_hint),
                id = esc(&c.id)
            )
        })
        .collect();
    let can_add = plan
        .channel_limit()
        .is_none_or(|l| (channels.len() as u32) < l);
    let add = if session.can_edit() && can_add {
        "<p><a class=button id=add-slack href=\"/settings/notifications/new?type=slack\">Add Channel → Slack</a><a class=button href=\"/settings/notifications/new?type=mattermost\">Add Channel → Mattermost</a><a class=button href=\"/settings/notifications/add-to-slack\">Add to Slack (OAuth)</a></p>"
    } else if !can_add {
        "<p class=error>The plan's channel limit is reached: existing channels keep working; upgrade to add more.</p>"
    } else {
        ""
    };
    let table = if channels.is_empty() {
        "<p class=muted>No channels yet.</p>".into()
    } else {
        format!("<table><tr><th>Name</th><th>Type</th><th>Channel</th><th>Webhook</th><th>Health</th></tr>{rows}</table>")
    };
    layout(
        "Settings → Notifications",
        &session,
        &format!("<p class=muted>{}</p>{add}{table}", esc(&usage)),
    )
    .into_response()
}

/// Turns the form into a channel object, as the API takes it.
fn json_from_form(f: &[(String, String)]) -> Value {
    let mut o = Map::new();
    for k in [
        "name",
        "type",
        "webhook_url",
        "bot_token",
        "channel_id",
        "channel",
        "format",
    ] {
        let v = field(f, k).trim();
        if !v.is_empty() {
            o.insert(k.into(), json!(v));
        }
    }
    o.insert("alert_types".into(), json!(fields(f, "alert_types")));
    let domains: Vec<&str> = field(f, "domains")
        .split([',', '\n', ' '])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    let schedule = if field(f, "schedule") == "on" {
        json!({"days": fields(f, "days"), "start": field(f, "start"), "end": field(f, "end"), "timezone": field(f, "timezone")})
    } else {
        Value::Null
    };
    o.insert("filters".into(), json!({"severities": fields(f, "severities"), "domains": domains, "categories": fields(f, "categories"), "schedule": schedule}));
    let mut mentions = Map::new();
    for k in MENTION_KEYS {
        let list: Vec<&str> = field(f, &format!("mention_{k}"))
            .split([',', ' '])
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .collect();
        if !list.is_empty() {
            mentions.insert(k.into(), json!(list));
        }
    }
    o.insert("mentions".into(), Value::Object(mentions));
    let freq = field(f, "digest_frequency");
    if !freq.is_empty() {
        let mut d = json!({"frequency": freq, "time": field(f, "digest_time"), "timezone": field(f, "digest_timezone")});
        match freq {
            "weekly" => d["weekday"] = json!(field(f, "digest_weekday")),
            "monthly" => d["day"] = json!(field(f, "digest_day").parse::<u64>().unwrap_or(0)),
            "cron" => d["cron"] = json!(field(f, "digest_cron")),
            _ => {}
        }
        o.insert("digest".into(), d);
    } else {
        o.insert("digest".into(), Value::Null);
    }
    let every = field(f, "reminder_every").trim();
    o.insert(
        "reminders".into(),
        if every.is_empty() {
            Value::Null
        } else {
            json!({"every": every, "severities": fields(f, "reminder_severities")})
        },
    );
    let template = field(f, "template");
    o.insert(
        "template".into(),
        if template.trim().is_empty() {
            Value::Null
        } else {
            json!(template)
        },
    );
    let mut identity = Map::new();
    for k in ["username", "icon_url", "icon_emoji"] {
        let v = field(f, &format!("identity_{k}")).trim();
        if !v.is_empty() {
            identity.insert(k.into(), json!(v));
        }
    }
    o.insert(
        "identity".into(),
        if identity.is_empty() {
            Value::Null
        } else {
            Value::Object(identity)
        },
    );
    Value::Object(o)
}

/// Which form input an API field path belongs to.
fn input_of(path: &str) -> String {
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

fn checkbox(name: &str, value: &str, label: &str, checked: bool) -> String {
    format!(
        "<label><input type=checkbox name={name} value=\"{v}\"{}> {l}</label>",
        if checked { " checked" } else { "" },
        v = esc(value),
        l = esc(label)
    )
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Renders the form from a channel object, with errors beside their fields and Test Integration's answer.
fn render_form(
    session: &Session,
    c: &Value,
    id: Option<&str>,
    plan: Plan,
    error: Option<(&str, &str)>,
    test: Option<&TestResult>,
) -> String {
    let err_for = |input: &str| match error {
        Some((f, m)) if input_of(f) == input => {
            format!("<div class=error id=\"error-{input}\">{}</div>", esc(m))
        }
        _ => String::new(),
    };
    let top = match error {
        Some((f, m)) if f.is_empty() || ["plan_limit", "forbidden"].contains(&f) => {
            format!("<p class=error>{}</p>", esc(m))
        }
        Some((f, m)) => format!("<p class=error>Please fix {}: {}</p>", esc(f), esc(m)),
        None => String::new(),
    };
    let test_html = match test {
        Some(t) if t.ok => {
            "<p class=ok id=test-result>✅ Slack accepted the test message.</p>".to_string()
        }
        Some(t) => format!(
            "<p class=error id=test-result>Slack answered: {}<br>{}</p>",
            esc(t.error.as_deref().unwrap_or("")),
            esc(t.hint.as_deref().unwrap_or(""))
        ),
        None => String::new(),
    };
    let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
    let kind = if s("type").is_empty() {
        "slack".to_string()
    } else {
        s("type")
    };
    let typed = c["webhook_url"]
        .as_str()
        .map(|u| format!(" value=\"{}\"", esc(u)))
        .unwrap_or_default();
    let hint = c["webhook_url_hint"]
        .as_str()
        .map(|h| format!(" placeholder=\"{} (leave empty to keep)\"", esc(h)))
        .unwrap_or_else(|| " placeholder=\"https://hooks.slack.com/services/T…/B…/…\"".into());
    let types = strs(&c["alert_types"]);
    let types: Vec<String> = if types.is_empty() && id.is_none() {
        vec![
            "vulnerability".into(),
            "certificate_expiring".into(),
            "scan_completed".into(),
        ]
    } else {
        types
    };
    let sevs = strs(&c["filters"]["severities"]);
    let cats = strs(&c["filters"]["categories"]);
    let sched = &c["filters"]["schedule"];
    let days = strs(&sched["days"]);
    let digest = &c["digest"];
    let reminders = &c["reminders"];
    let mut h = format!("{top}{test_html}<form method=post action=/settings/notifications/save class=card id=channel-form>{}", csrf_input(session));
    if let Some(id) = id {
        h.push_str(&format!(
            "<input type=hidden name=id value=\"{}\">",
            esc(id)
        ));
    }
    h.push_str(&format!(
        "<input type=hidden name=type value=\"{}\">",
        esc(&kind)
    ));
    h.push_str(&format!("<label for=name>Name</label><input type=text id=name name=name value=\"{}\" placeholder=\"Security Alerts Channel\">{}", esc(&s("name")), err_for("name")));
    h.push_str(&format!("<label for=webhook_url>Webhook URL</label><input type=text id=webhook_url name=webhook_url autocomplete=off{typed}{hint}>{}", err_for("webhook_url")));
    h.push_str(&format!("<label for=channel>Channel</label><input type=text id=channel name=channel value=\"{}\" placeholder=\"#security-alerts\">", esc(&s("channel"))));
    if kind == "slack" {
        h.push_str(&format!("<label for=bot_token>Bot token (optional: threads, updates, @name mentions)</label><input type=password id=bot_token name=bot_token autocomplete=off placeholder=\"{}\">{}", if c["has_bot_token"] == true { "•••• (leave empty to keep)" } else { "xoxb-…" }, err_for("bot_token")));
        h.push_str(&format!("<label for=channel_id>Channel id (with a bot token)</label><input type=text id=channel_id name=channel_id value=\"{}\" placeholder=\"C0123456789\">{}", esc(&s("channel_id")), err_for("channel_id")));
    }
    h.push_str("<label>Alert types</label><div class=inline>");
    for (v, l) in ALERT_TYPES {
        h.push_str(&checkbox("alert_types", v, l, types.iter().any(|t| t == v)));
    }
    h.push_str(&format!(
        "</div>{}<label>Severities (none checked = all)</label><div class=inline>",
        err_for("alert_types")
    ));
    for v in SEVERITIES {
        h.push_str(&checkbox("severities", v, v, sevs.iter().any(|t| t == v)));
    }
    h.push_str(&format!("</div><label for=domains>Domains (one per line; *.example.com for subdomains; empty = all)</label><textarea id=domains name=domains rows=3>{}</textarea>{}", esc(&strs(&c["filters"]["domains"]).join("\n")), err_for("domains")));
    h.push_str("<label>Vulnerability types (none checked = all)</label><div class=inline>");
    for cat in fence_core::Category::ALL {
        h.push_str(&checkbox(
            "categories",
            cat.as_str(),
            cat.display_name(),
            cats.iter().any(|t| t == cat.as_str()),
        ));
    }
    h.push_str(&format!(
        "</div><label>Time window</label><div class=inline>{}</div><div class=inline>",
        checkbox(
            "schedule",
            "on",
            "Only send inside this window (otherwise immediate, 24/7)",
            sched.is_object()
        )
    ));
    for d in DAYS {
        h.push_str(&checkbox("days", d, d, days.iter().any(|t| t == d)));
    }
    h.push_str(&format!(
        "</div><div class=inline><label>From <input type=text name=start value=\"{}\" style=\"width:6em\"></label><label>to <input type=text name=end value=\"{}\" style=\"width:6em\"></label><label>Time zone <input type=text name=timezone value=\"{}\" style=\"width:14em\" placeholder=\"America/New_York\"></label></div>{}",
        esc(sched["start"].as_str().unwrap_or("09:00")),
        esc(sched["end"].as_str().unwrap_or("18:00")),
        esc(sched["timezone"].as_str().unwrap_or("UTC")),
        err_for("schedule")
    ));
    h.push_str("<label>Mentions (Slack ids such as &lt;@U…&gt; or &lt;!subteam^S…&gt;, @here, @channel; names like @alice need a bot token)</label>");
    for k in MENTION_KEYS {
        h.push_str(&format!(
            "<div class=inline><label style=\"width:12em\">{k}</label><input type=text name=\"mention_{k}\" value=\"{}\" style=\"max-width:26em\"></div>{}",
            esc(&strs(&c["mentions"][k]).join(" ")),
            err_for(&format!("mention_{k}"))
        ));
    }
    let freq = digest["frequency"].as_str().unwrap_or("");
    let opt = |v: &str, l: &str, cur: &str| {
        format!(
            "<option value=\"{v}\"{}>{l}</option>",
            if v == cur { " selected" } else { "" }
        )
    };
    h.push_str(&format!(
        "<label>Digest</label><div class=inline><label>Frequency <select name=digest_frequency>{}{}{}{}{}</select></label><label>at <input type=text name=digest_time value=\"{}\" style=\"width:6em\"></label><label>weekday <input type=text name=digest_weekday value=\"{}\" style=\"width:5em\"></label><label>day <input type=text name=digest_day value=\"{}\" style=\"width:4em\"></label><label>cron <input type=text name=digest_cron value=\"{}\" style=\"width:10em\"></label><label>time zone <input type=text name=digest_timezone value=\"{}\" style=\"width:12em\"></label></div>{}",
        opt("", "none", freq),
        opt("daily", "daily", freq),
        opt("weekly", "weekly", freq),
        opt("monthly", "monthly", freq),
        opt("cron", "cron", freq),
        esc(digest["time"].as_str().unwrap_or("09:00")),
        esc(digest["weekday"].as_str().unwrap_or("mon")),
        digest["day"].as_u64().unwrap_or(1),
        esc(digest["cron"].as_str().unwrap_or("")),
        esc(digest["timezone"].as_str().unwrap_or("UTC")),
        err_for("digest")
    ));
    h.push_str(&format!("<label>Reminders for open findings</label><div class=inline><label>every <input type=text name=reminder_every value=\"{}\" placeholder=\"24h\" style=\"width:6em\"></label>", esc(reminders["every"].as_str().unwrap_or(""))));
    let rsevs = strs(&reminders["severities"]);
    for v in SEVERITIES {
        h.push_str(&checkbox(
            "reminder_severities",
            v,
            v,
            rsevs.iter().any(|t| t == v),
        ));
    }
    let fmt = c["format"].as_str().unwrap_or(if kind == "slack" {
        "blocks"
    } else {
        "attachments"
    });
    h.push_str(&format!(
        "</div>{}<label for=format>Format</label><select id=format name=format>{}{}</select>{}",
        err_for("reminders"),
        opt("blocks", "Block Kit", fmt),
        opt("attachments", "Attachments (legacy, Mattermost)", fmt),
        err_for("format")
    ));
    if plan.has_enterprise_features() {
        h.push_str(&format!("<label for=template>Custom payload (Jinja2; empty = Fence's messages)</label><textarea id=template name=template rows=6 style=\"font-family:monospace\">{}</textarea>{}", esc(&s("template")), err_for("template")));
    } else {
        h.push_str(&format!("<p class=muted>Custom payloads need the enterprise plan (this organization is on {plan}).</p>"));
    }
    if plan.has_identity() {
        let id = &c["identity"];
        h.push_str(&format!(
            "<label>White-label identity (bot tokens and Mattermost)</label><div class=inline><label>username <input type=text name=identity_username value=\"{}\" style=\"width:12em\"></label><label>icon URL <input type=text name=identity_icon_url value=\"{}\" style=\"width:20em\"></label></div>{}",
            esc(id["username"].as_str().unwrap_or("")),
            esc(id["icon_url"].as_str().unwrap_or("")),
            err_for("identity")
        ));
    }
    h.push_str("<p><button name=action value=test class=secondary id=test-integration>Test Integration</button> <button name=action value=save id=save>Save</button></p></form>");
    if let Some(id) = id {
        h.push_str(&format!(
            "<div class=card><h2>Preview</h2><p>{}</p><form method=post action=\"/settings/notifications/{id}/delete\">{}<button class=danger>Delete this channel</button></form></div>",
            ALERT_TYPES.iter().map(|(v, l)| format!("<a href=\"/settings/notifications/{id}/preview?type={v}\">{l}</a>")).collect::<Vec<_>>().join(" · "),
            csrf_input(session),
            id = esc(id)
        ));
    }
    h
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
    layout(
        title,
        &session,
        &render_form(&session, &json!({"type": kind}), None, plan, None, None),
    )
    .into_response()
}

pub async fn edit_form(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let Ok(c) = state.store.channel(&session.user.org_id, &id).await else {
        return (
            StatusCode::NOT_FOUND,
            layout("Not found", &session, "<p>No such channel.</p>"),
        )
            .into_response();
    };
    let plan = state
        .plan_of(&session.user.org_id)
        .await
        .unwrap_or(Plan::Startup);
    let status = if c.state == fence_core::ChannelState::Broken {
        format!(
            "<p class=error>Slack stopped accepting messages: {} — {}</p>",
            esc(c.status_error.as_deref().unwrap_or("")),
            esc(c.status_hint.as_deref().unwrap_or(""))
        )
    } else {
        String::new()
    };
    layout(
        &c.name,
        &session,
        &format!(
            "{status}{}",
            render_form(&session, &channel_json(&c), Some(&id), plan, None, None)
        ),
    )
    .into_response()
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
    let id = Some(field(&f, "id"))
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let submitted = json_from_form(&f);
    let existing = match &id {
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
    let title = existing_row
        .map(|c| c.name.clone())
        .unwrap_or_else(|| "Add Channel".into());
    let show = |err: Option<(&str, &str)>, test: Option<&TestResult>, submitted: &Value| {
        let mut shown = submitted.clone();
        if let Some(c) = existing_row {
            shown["webhook_url_hint"] = json!(c.webhook_hint);
            shown["has_bot_token"] = json!(c.bot_token_enc.is_some());
        }
        layout(
            &title,
            &session,
            &render_form(&session, &shown, id.as_deref(), plan, err, test),
        )
        .into_response()
    };
    let refused = |e: ServiceError| {
        let (status, field, message) = refusal(&e);
        (status, show(Some((&field, &message)), None, &submitted)).into_response()
    };
    let input = match channels::prepare(&state, &submitted, existing.as_ref()).await {
        Ok(i) => i,
        Err(e) => return refused(e),
    };
    if field(&f, "action") == "test" {
        let result = channels::test_input(&state, &input, existing_row).await;
        return show(None, Some(&result), &submitted);
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
    let headline = msg["text"].as_str().unwrap_or("").to_string();
    let pretty = serde_json::to_string_pretty(&msg).unwrap_or_default();
    let body = format!(
        "<p><a href=\"/settings/notifications/{id}\">← back to the channel</a></p><div class=card><h2>{}</h2><p class=muted>The message as Fence will post it (sample data):</p><pre>{}</pre></div>",
        esc(&headline),
        esc(&pretty),
        id = esc(&id)
    );
    layout(&format!("Preview: {}", t.as_str()), &session, &body).into_response()
}

/// "Add to Slack" from the browser: the same OAuth start as `GET /api/slack/install`, for a logged-in editor.
pub async fn add_to_slack(State(state): State<AppState>, session: Session) -> Response {
    if let Err(r) = session.require_editor() {
        return r.into_response();
    }
    match channels::install_url(&state, &session.user.org_id).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => {
            let (status, _, message) = refusal(&e);
            let status = match e {
                ServiceError::NotConfigured(_) => StatusCode::CONFLICT,
                _ => status,
            };
            (
                status,
                layout(
                    "Add to Slack",
                    &session,
                    &format!("<p class=error>{}</p>", esc(&message)),
                ),
            )
                .into_response()
        }
    }
}
