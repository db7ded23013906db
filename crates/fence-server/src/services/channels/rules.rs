//! A channel's rule fields (alert types, filters, mentions, digest, reminders, format, detail, template, identity): how they
//! are stored and shown back, checks of the template and identity, and the plan's limits on them.

use super::ChannelInput;
use crate::services::{ServiceError, ServiceResult};
use fence_core::{AlertType, ChannelConfig, FieldError, FieldErrors, Plan};
use serde_json::{json, Map, Value};

pub(super) const RULE_KEYS: [&str; 10] = [
    "alert_types",
    "filters",
    "mentions",
    "digest",
    "reminders",
    "format",
    "detail",
    "template",
    "identity",
    "escalation",
];

/// The rule fields as stored: every key present (null when unset), alert types and format normalized.
pub(super) fn stored_rules(obj: &Map<String, Value>, config: &ChannelConfig) -> Value {
    let mut out = Map::new();
    for k in RULE_KEYS {
        out.insert(k.to_string(), obj.get(k).cloned().unwrap_or(Value::Null));
    }
    out.insert(
        "alert_types".into(),
        json!(config
            .alert_types
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()),
    );
    out.insert(
        "format".into(),
        json!(match config.format {
            fence_core::MessageFormat::Blocks => "blocks",
            fence_core::MessageFormat::Attachments => "attachments",
        }),
    );
    out.insert("detail".into(), json!(config.detail.as_str()));
    for k in ["filters", "mentions"] {
        if out.get(k).is_some_and(Value::is_null) {
            out.insert(k.into(), json!({}));
        }
    }
    Value::Object(out)
}

/// Alert types a channel receives: its `alert_types`, plus reminders and digests when configured.
pub fn received_types(c: &ChannelConfig) -> Vec<fence_core::AlertType> {
    let mut types = c.alert_types.clone();
    if c.reminder_rules.is_some() && !types.contains(&fence_core::AlertType::Reminder) {
        types.push(fence_core::AlertType::Reminder);
    }
    if c.digest_schedule.is_some() && !types.contains(&fence_core::AlertType::Digest) {
        types.push(fence_core::AlertType::Digest);
    }
    types
}

/// Renders a template against sample data of every alert type the channel receives, and of a burst when the
/// template renders bursts; the error names the type and line.
pub(super) fn validate_template(
    source: &str,
    c: &ChannelConfig,
    base_url: &str,
) -> Result<(), String> {
    for t in received_types(c) {
        let alert = fence_slack::template::sample(t);
        let vars = fence_slack::template::variables(
            &alert,
            base_url,
            "",
            Some("Description."),
            Some("Remediation."),
        );
        fence_slack::template::render(source, &vars)
            .map_err(|e| format!("{} alerts: {e}", t.as_str()))?;
    }
    let bursts = received_types(c)
        .iter()
        .any(|t| matches!(t, AlertType::Vulnerability | AlertType::Reminder));
    if bursts && fence_slack::template::handles_coalesced(source) {
        let burst = fence_slack::template::sample_burst();
        let refs: Vec<_> = burst.iter().collect();
        let vars = fence_slack::template::coalesced_variables(&refs, base_url, "", false);
        fence_slack::template::render(source, &vars)
            .map_err(|e| format!("coalesced alerts: {e}"))?;
    }
    Ok(())
}

pub(super) fn validate_identity(id: &Map<String, Value>, errs: &mut FieldErrors) {
    for (k, v) in id {
        let ok = match (k.as_str(), v.as_str()) {
            ("username", Some(u)) => !u.trim().is_empty() && u.chars().count() <= 80,
            ("icon_url", Some(u)) => {
                u.starts_with("https://") && u.len() <= 2000 && url::Url::parse(u).is_ok()
            }
            ("icon_emoji", Some(e)) => {
                e.len() <= 100 && e.starts_with(':') && e.ends_with(':') && e.len() > 2
            }
            _ => false,
        };
        if !ok {
            errs.push(FieldError::new(
                format!("identity.{k}"),
                "must be username (≤ 80 characters), icon_url (https URL) or icon_emoji (:name:)",
            ));
        }
    }
}

/// Refuses what the organization's plan does not include.
pub fn check_plan(
    plan: Plan,
    input: &ChannelInput,
    creating: bool,
    current_channels: i64,
) -> ServiceResult<()> {
    if let (true, Some(limit)) = (creating, plan.channel_limit()) {
        if limit == 0 {
            return Err(ServiceError::PlanLimit(format!("the {plan} plan does not include Slack or Mattermost channels; upgrade to startup or above")));
        }
        if current_channels >= i64::from(limit) {
            return Err(ServiceError::PlanLimit(format!("the {plan} plan allows {limit} channels and this organization has {current_channels}")));
        }
    }
    if input.config.template.is_some() && !plan.has_enterprise_features() {
        return Err(ServiceError::PlanLimit(format!("custom payload templates need the enterprise or custom plan (this organization is on {plan})")));
    }
    if input.config.identity.is_some() && !plan.has_identity() {
        return Err(ServiceError::PlanLimit(format!(
            "a white-label identity needs the custom plan (this organization is on {plan})"
        )));
    }
    Ok(())
}
