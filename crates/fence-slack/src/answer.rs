//! Classifies Slack's (and Mattermost's) answer to a message, and gives the seed's troubleshooting hint per error.

use std::time::Duration;

/// What Fence must do after an attempt to post a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Slack accepted the message.
    Delivered,
    /// 429: wait exactly this long, then send again (not a failure).
    RateLimited { retry_after: Duration },
    /// 5xx, timeout, connection error: retry with backoff.
    Retryable { error: String },
    /// The destination is gone or forbidden; the channel becomes `broken` and its deliveries are held.
    ChannelBroken { error: String },
    /// Slack rejected the payload itself; re-send once as plain text.
    PayloadRejected { error: String },
    /// Any other permanent refusal; the delivery is dead.
    Failed { error: String },
}

const BROKEN: &[&str] = &[
    "invalid_token",
    "no_service",
    "no_active_hooks",
    "no_service_id",
    "channel_not_found",
    "channel_is_archived",
    "is_archived",
    "action_prohibited",
    "posting_to_general_channel_denied",
    "no_team",
    "team_disabled",
    "token_revoked",
    "invalid_auth",
    "account_inactive",
    "not_in_channel",
    // The bot token lacks a scope the method needs (SLACK.md Addendum): nothing gets through until the app is
    // reinstalled with it, so the channel holds its alerts instead of dropping them.
    "missing_scope",
];

const PAYLOAD: &[&str] = &[
    "invalid_payload",
    "invalid_blocks",
    "invalid_blocks_format",
    "no_text",
    "msg_too_long",
    "msg_blocks_too_long",
    "too_many_attachments",
    "invalid_attachments",
];

/// Classifies an HTTP answer: status, `Retry-After` header (seconds) and body (read as text whatever its type).
pub fn classify(status: u16, retry_after: Option<&str>, body: &str) -> SendOutcome {
    let code = error_code(body);
    if status == 429 || code == "ratelimited" || code == "rate_limited" {
        let secs = retry_after
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(1);
        return SendOutcome::RateLimited {
            retry_after: Duration::from_secs(secs),
        };
    }
    if (200..300).contains(&status) && !body_says_error(body) {
        return SendOutcome::Delivered;
    }
    if (300..400).contains(&status) {
        return SendOutcome::ChannelBroken {
            error: "unexpected_redirect".into(),
        };
    }
    if status >= 500 && status != 501 {
        return SendOutcome::Retryable {
            error: if code.is_empty() {
                format!("http_{status}")
            } else {
                code
            },
        };
    }
    if BROKEN.contains(&code.as_str()) {
        return SendOutcome::ChannelBroken { error: code };
    }
    if PAYLOAD.contains(&code.as_str()) {
        return SendOutcome::PayloadRejected { error: code };
    }
    // Mattermost answers with JSON AppErrors; map them onto Slack's vocabulary.
    if let Some(id) = mattermost_error_id(body) {
        return match (status, id.as_str()) {
            (400, "web.incoming_webhook.invalid.app_error") | (501, _) => {
                SendOutcome::ChannelBroken {
                    error: "no_service".into(),
                }
            }
            (404, _) => SendOutcome::ChannelBroken {
                error: "channel_not_found".into(),
            },
            (403, _) => SendOutcome::ChannelBroken {
                error: "action_prohibited".into(),
            },
            (400, _) => SendOutcome::PayloadRejected {
                error: "invalid_payload".into(),
            },
            _ => SendOutcome::Failed {
                error: format!("http_{status}"),
            },
        };
    }
    match status {
        401 | 403 | 404 | 410 => SendOutcome::ChannelBroken {
            error: if code.is_empty() {
                format!("http_{status}")
            } else {
                code
            },
        },
        _ => SendOutcome::Failed {
            error: if code.is_empty() {
                format!("http_{status}")
            } else {
                code
            },
        },
    }
}

fn body_says_error(body: &str) -> bool {
    // chat.postMessage answers 200 with {"ok": false, "error": …}.
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .is_some_and(|v| v.get("ok") == Some(&serde_json::Value::Bool(false)))
}

/// The error code in a body: plain text (`invalid_token`) or JSON `{"error": "..."}`.
fn error_code(body: &str) -> String {
    let b = body.trim();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(b) {
        if let Some(e) = v.get("error").and_then(|e| e.as_str()) {
            return sanitize(e);
        }
        return String::new();
    }
    if !b.is_empty()
        && b.len() <= 80
        && b.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        b.to_string()
    } else {
        String::new()
    }
}

fn mattermost_error_id(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body.trim()).ok()?;
    v.get("id").and_then(|i| i.as_str()).map(sanitize)
}

/// Keeps an error code short and free of anything that could be a secret or markup.
fn sanitize(s: &str) -> String {
    let s: String = s
        .chars()
        .take(80)
        .filter(|c| c.is_ascii_alphanumeric() || "_.-".contains(*c))
        .collect();
    s
}

/// The seed's troubleshooting advice for an error.
pub fn hint_for(error: &str) -> &'static str {
    match error {
        "invalid_token" | "no_service" | "no_active_hooks" | "no_service_id" | "channel_not_found" | "no_team" | "team_disabled" | "token_revoked" | "invalid_auth" | "account_inactive" | "http_404" | "http_410" => {
            "The webhook was deleted in Slack, the channel was renamed or deleted, or the app was removed from the workspace. Create a new webhook and update it in Fence."
        }
        "channel_is_archived" | "is_archived" => "The channel is archived. Unarchive it, or create a new webhook for another channel and update it in Fence.",
        "action_prohibited" | "http_403" => "Fence does not have permission to post to this channel. Ask a Slack admin to allow the app to post there, or pick another channel.",
        "not_in_channel" => "Fence's bot is not a member of this channel. Invite it with /invite @Fence in the channel, or reinstall the app with the chat:write.public scope (public channels only).",
        "missing_scope" => "Fence's Slack app lacks a permission (scope) it needs. Update the app from Fence's manifest (GET /api/slack/manifest) and reinstall it with Add to Slack.",
        "posting_to_general_channel_denied" => "Only admins may post to this channel. Pick another channel for Fence's webhook.",
        "unexpected_redirect" => "The webhook URL answered with a redirect, which Fence never follows. Check the webhook URL is correct (it starts with https://hooks.slack.com/services/).",
        "invalid_payload" | "invalid_blocks" | "invalid_blocks_format" | "no_text" | "msg_too_long" | "msg_blocks_too_long" | "too_many_attachments" | "invalid_attachments" => {
            "Slack rejected the message format. If this channel has a custom template, check it with the preview; otherwise report it as a Fence bug."
        }
        "ratelimited" | "rate_limited" => "Slack limits each webhook to about 1 message per second. Fence paces and coalesces alerts; use a digest or split alerts across channels if this persists.",
        _ => "Check that the webhook URL is correct (it starts with https://hooks.slack.com/services/), that Fence has permission to post to the channel, and that Slack is reachable from Fence.",
    }
}

/// Slack refused the bot, not the channel: `not_in_channel` (the bot is not a member and lacks `chat:write.public`)
/// or `missing_scope` (the token lacks a scope the method needs), SLACK.md Addendum. Neither touches the channel's
/// incoming webhook, so a channel that has one keeps receiving alerts through it.
pub fn is_bot_refusal(error: &str) -> bool {
    matches!(error, "not_in_channel" | "missing_scope")
}

/// The fix for a bot refusal, naming the channel (`/invite @Fence to #security-alerts`) or the scope Slack said the
/// method needs (a `missing_scope` answer's `needed`, SLACK.md Addendum).
pub fn bot_fix(error: &str, channel: Option<&str>, needed: Option<&str>) -> String {
    if error == "missing_scope" {
        let scope: String = needed
            .unwrap_or("chat:write")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || ":.,_".contains(*c))
            .take(120)
            .collect();
        return format!(
            "Fence's Slack app lacks the {scope} scope. Reinstall the app with Add to Slack so Slack grants {scope} \
             (update the app from Fence's manifest, GET /api/slack/manifest, first if it does not ask for it)."
        );
    }
    let name = channel
        .map(|c| c.trim().trim_start_matches('#'))
        .filter(|c| !c.is_empty())
        .map(|c| format!("#{}", c.chars().take(80).collect::<String>()))
        .unwrap_or_else(|| "the channel".into());
    format!(
        "Fence's bot is not a member of {name}. Invite it: /invite @Fence to {name} (or reinstall the app with the \
         chat:write.public scope, public channels only)."
    )
}

/// The hint of a bot-token channel posting through its webhook after a bot refusal: what still works, then the fix.
pub fn degraded_hint(error: &str, channel: Option<&str>, needed: Option<&str>) -> String {
    format!(
        "Alerts arrive through the channel's webhook, without threads or message updates, until the bot can post \
         again (Fence checks every 5 minutes). {}",
        bot_fix(error, channel, needed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_answers_are_classified_as_the_spec_says() {
        use SendOutcome::*;
        let cases = [
            (200, None, "ok", Delivered),
            (
                429,
                Some("30"),
                "",
                RateLimited {
                    retry_after: Duration::from_secs(30),
                },
            ),
            (
                500,
                None,
                "rollup_error",
                Retryable {
                    error: "rollup_error".into(),
                },
            ),
            (
                503,
                None,
                "<html>",
                Retryable {
                    error: "http_503".into(),
                },
            ),
            (
                403,
                None,
                "invalid_token",
                ChannelBroken {
                    error: "invalid_token".into(),
                },
            ),
            (
                400,
                None,
                "invalid_token",
                ChannelBroken {
                    error: "invalid_token".into(),
                },
            ),
            (
                404,
                None,
                "channel_not_found",
                ChannelBroken {
                    error: "channel_not_found".into(),
                },
            ),
            (
                410,
                None,
                "channel_is_archived",
                ChannelBroken {
                    error: "channel_is_archived".into(),
                },
            ),
            (
                404,
                None,
                "no_service",
                ChannelBroken {
                    error: "no_service".into(),
                },
            ),
            (
                403,
                None,
                "action_prohibited",
                ChannelBroken {
                    error: "action_prohibited".into(),
                },
            ),
            (
                400,
                None,
                "invalid_payload",
                PayloadRejected {
                    error: "invalid_payload".into(),
                },
            ),
            (
                400,
                None,
                "invalid_blocks",
                PayloadRejected {
                    error: "invalid_blocks".into(),
                },
            ),
            (
                400,
                None,
                "no_text",
                PayloadRejected {
                    error: "no_text".into(),
                },
            ),
            (
                400,
                None,
                "user_not_found",
                Failed {
                    error: "user_not_found".into(),
                },
            ),
            (
                302,
                None,
                "",
                ChannelBroken {
                    error: "unexpected_redirect".into(),
                },
            ),
            (
                200,
                None,
                r#"{"ok":false,"error":"channel_not_found"}"#,
                ChannelBroken {
                    error: "channel_not_found".into(),
                },
            ),
            (
                200,
                None,
                r#"{"ok":false,"error":"ratelimited"}"#,
                RateLimited {
                    retry_after: Duration::from_secs(1),
                },
            ),
            (
                400,
                None,
                r#"{"id":"web.incoming_webhook.invalid.app_error","status_code":400}"#,
                ChannelBroken {
                    error: "no_service".into(),
                },
            ),
            (
                404,
                None,
                r#"{"id":"web.incoming_webhook.channel.app_error","status_code":404}"#,
                ChannelBroken {
                    error: "channel_not_found".into(),
                },
            ),
        ];
        for (status, ra, body, want) in cases {
            assert_eq!(classify(status, ra, body), want, "{status} {body}");
        }
    }

    #[test]
    fn a_bot_outside_its_channel_or_its_scopes_breaks_the_channel_with_the_fix() {
        for code in ["not_in_channel", "missing_scope"] {
            let body = format!(r#"{{"ok":false,"error":"{code}","needed":"chat:write.public"}}"#);
            assert_eq!(
                classify(200, None, &body),
                SendOutcome::ChannelBroken { error: code.into() }
            );
        }
        assert!(hint_for("not_in_channel").contains("/invite @Fence"));
        assert!(hint_for("missing_scope").contains("reinstall"));
        assert!(is_bot_refusal("not_in_channel") && is_bot_refusal("missing_scope"));
        assert!(!is_bot_refusal("channel_not_found") && !is_bot_refusal("invalid_token"));
    }

    #[test]
    fn a_bot_refusal_names_its_fix() {
        let invite = degraded_hint("not_in_channel", Some("#security-alerts"), None);
        assert!(
            invite.contains("/invite @Fence to #security-alerts"),
            "{invite}"
        );
        assert!(invite.contains("webhook"), "{invite}");
        assert!(bot_fix("not_in_channel", Some("security-alerts"), None)
            .contains("/invite @Fence to #security-alerts"));
        assert!(bot_fix("not_in_channel", None, None).contains("/invite @Fence to the channel"));
        let scope = bot_fix("missing_scope", None, Some("chat:write<script>"));
        assert!(scope.contains("the chat:writescript scope"), "{scope}");
        assert!(scope.contains("Reinstall the app"), "{scope}");
    }

    #[test]
    fn revoked_webhooks_get_the_seed_hint() {
        assert!(hint_for("invalid_token").contains("Create a new webhook and update it in Fence"));
        assert!(hint_for("channel_not_found").contains("renamed or deleted"));
    }
}
