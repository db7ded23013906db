//! Silences from any surface: created (API, web UI, Slack's "Mute this rule for 30 days"), ended early, each audited;
//! the expiry rules (in the future, at most a year) and the reason's bound live here.

use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use fence_core::silence::{Matchers, MAX_REASON, MAX_SILENCE_MS};
use fence_core::{DomainName, FieldError};
use fence_store::silences::{NewSilence, SilenceRow};

/// How long "Mute this rule" mutes.
pub const MUTE_RULE_DAYS: i64 = 30;

/// When a silence ends: at a time, or after a duration from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    At(i64),
    After(std::time::Duration),
}

fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(FieldError::new(field, message).into())
}

/// Creates a silence for `actor` (`token:…`, `user:…`, `slack:U…`).
pub async fn create(
    state: &AppState,
    org_id: &str,
    matchers: Matchers,
    expiry: Expiry,
    reason: &str,
    actor: &str,
) -> ServiceResult<SilenceRow> {
    let now = state.clock.now_ms();
    let (field, expires_at) = match expiry {
        Expiry::At(t) => ("expires_at", t),
        Expiry::After(d) => (
            "duration",
            now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        ),
    };
    if expires_at <= now {
        return Err(invalid(field, "must end in the future"));
    }
    if expires_at - now > MAX_SILENCE_MS {
        return Err(invalid(field, "must end within 366 days"));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(invalid(
            "reason",
            "is required: say why these findings are muted",
        ));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(invalid(
            "reason",
            format!("must be at most {MAX_REASON} characters"),
        ));
    }
    let s = NewSilence {
        matchers,
        reason: reason.to_string(),
        created_by: actor.to_string(),
        expires_at,
    };
    Ok(state.store.create_silence(org_id, &s, now).await?)
}

/// Ends a silence now; findings it kept quiet stay stored and are not announced again (reminders, where a channel
/// has them, pick them up).
pub async fn expire(
    state: &AppState,
    org_id: &str,
    id: &str,
    actor: &str,
) -> ServiceResult<SilenceRow> {
    state
        .store
        .expire_silence(org_id, id, actor, state.clock.now_ms())
        .await
        .map_err(ServiceError::not_found_as("silence"))
}

/// "Mute this rule for 30 days" on a finding: a silence on its rule (its CVE when it has no rule) and its domain.
pub async fn mute_rule(
    state: &AppState,
    org_id: &str,
    finding_id: &str,
    actor: &str,
) -> ServiceResult<SilenceRow> {
    let f = crate::services::findings::get(state, org_id, finding_id).await?;
    let domain = DomainName::parse(&f.domain)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored domain: {e}")))?;
    let mut m = serde_json::Map::new();
    match (&f.rule, &f.cve) {
        (Some(rule), _) => m.insert("rule".into(), rule.as_str().into()),
        (None, Some(cve)) => m.insert("cve".into(), cve.as_str().into()),
        (None, None) => {
            return Err(ServiceError::Conflict(
                "this finding names no rule or CVE to mute; mark it as a false positive instead"
                    .into(),
            ))
        }
    };
    m.insert("domain".into(), domain.as_str().into());
    let matchers = Matchers::parse(&serde_json::Value::Object(m)).map_err(ServiceError::Invalid)?;
    // The clicker is the silence's author (`slack:U…`); the reason stays plain text.
    let reason = format!("Muted from Slack for {MUTE_RULE_DAYS} days");
    create(
        state,
        org_id,
        matchers,
        Expiry::After(std::time::Duration::from_secs(
            MUTE_RULE_DAYS as u64 * 86_400,
        )),
        &reason,
        actor,
    )
    .await
}
