//! The words the pages show for Fence's identifiers: "False positive" for `false_positive`, "SQL Injection" for
//! `sql_injection`, "Marked as false positive" for the audit action `finding.false_positive`, and which triage
//! actions a finding's status allows. Values submitted by forms stay the identifiers.

use fence_core::{AlertType, Category, FindingStatus, Severity};
use serde::Serialize;

/// One option of a select: what the form submits, and what a person reads.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

pub fn status_label(s: FindingStatus) -> &'static str {
    match s {
        FindingStatus::Open => "Open",
        FindingStatus::FalsePositive => "False positive",
        FindingStatus::Snoozed => "Snoozed",
        FindingStatus::Resolved => "Resolved",
    }
}

pub fn alert_type_label(a: AlertType) -> &'static str {
    match a {
        AlertType::Vulnerability => "Vulnerabilities",
        AlertType::CertificateExpiring => "Certificates expiring",
        AlertType::ScanCompleted => "Scan completed",
        AlertType::Digest => "Digest",
        AlertType::Reminder => "Reminders",
    }
}

/// A scan's state in words; one Fence does not know as stored.
pub fn scan_status_label(stored: &str) -> &'static str {
    match stored {
        "queued" => "Queued",
        "running" => "Running",
        "reporting" => "Reporting",
        "completed" => "Completed",
        "failed" => "Failed",
        _ => "Unknown",
    }
}

pub fn severity_choices() -> Vec<Choice> {
    Severity::ALL
        .iter()
        .map(|s| Choice {
            value: s.as_str(),
            label: s.title(),
        })
        .collect()
}

pub fn status_choices() -> Vec<Choice> {
    [
        FindingStatus::Open,
        FindingStatus::FalsePositive,
        FindingStatus::Snoozed,
        FindingStatus::Resolved,
    ]
    .into_iter()
    .map(|s| Choice {
        value: s.as_str(),
        label: status_label(s),
    })
    .collect()
}

pub fn category_choices() -> Vec<Choice> {
    Category::ALL
        .iter()
        .map(|c| Choice {
            value: c.as_str(),
            label: c.display_name(),
        })
        .collect()
}

/// A stored category shown by its name; one Fence does not know (an older or imported value) as it was stored.
pub fn category_label(stored: &str) -> String {
    Category::parse(stored)
        .map(|c| c.display_name().to_string())
        .unwrap_or_else(|_| stored.to_string())
}

/// A triage button: the form's `action`, its label, and its look.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Action {
    pub action: &'static str,
    pub label: &'static str,
    pub class: &'static str,
}

/// The triage actions a finding in status `s` allows: an open finding can be marked false positive, snoozed or
/// resolved; a snoozed one marked false positive, resolved or woken up; a false positive or a resolved one only
/// reopened.
/// Acknowledge: an open finding nobody acknowledged yet (escalation stops there).
pub const ACKNOWLEDGE: Action = Action {
    action: "acknowledge",
    label: "Acknowledge",
    class: "",
};

pub fn actions_for(s: FindingStatus) -> Vec<Action> {
    let fp = Action {
        action: "false_positive",
        label: "Mark as False Positive",
        class: "danger",
    };
    let snooze = Action {
        action: "snooze",
        label: "Snooze (24h)",
        class: "secondary",
    };
    let resolve = Action {
        action: "resolve",
        label: "Resolve",
        class: "",
    };
    let reopen = |label| Action {
        action: "reopen",
        label,
        class: "secondary",
    };
    match s {
        FindingStatus::Open => vec![fp, snooze, resolve],
        FindingStatus::Snoozed => vec![fp, resolve, reopen("Wake up (reopen)")],
        FindingStatus::FalsePositive | FindingStatus::Resolved => vec![reopen("Reopen")],
    }
}

/// An audit action in words. Unknown actions (from a newer version) are shown as stored.
pub fn audit_text(action: &str) -> String {
    let known = match action {
        "finding.open" => "Reopened",
        "finding.false_positive" => "Marked as false positive",
        "finding.snoozed" => "Snoozed",
        "finding.snooze_ended" => "Snooze ended",
        "finding.resolved" => "Resolved",
        "finding.fix_instructions" => "Asked for fix instructions",
        "finding.silenced" => "Kept quiet by a silence",
        "finding.acknowledged" => "Acknowledged",
        "silence.create" => "Created a silence",
        "silence.expire" => "Ended a silence",
        "channel.create" => "Added a channel",
        "channel.update" => "Changed a channel",
        "channel.delete" => "Removed a channel",
        "delivery.retry" => "Retried a delivery",
        "token.revoke" => "Revoked an API token",
        "scan.queue" => "Queued a scan",
        "org.timezone" => "Changed the organization's time zone",
        "user.role" => "Changed a user's role",
        "user.login" => "Logged in",
        "user.created" => "Signed in for the first time",
        _ => return action.to_string(),
    };
    known.to_string()
}

/// Who did it: a user's e-mail, a Slack member, an API token, or Fence itself.
pub fn actor_text(actor: &str) -> String {
    match actor.split_once(':') {
        Some(("user", email)) => email.to_string(),
        Some(("slack", member)) => format!("{member} (in Slack)"),
        Some(("token" | "api", name)) => format!("API token {name}"),
        _ if actor == "system" || actor == "fence" => "Fence".to_string(),
        _ => actor.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_read_as_words() {
        assert_eq!(status_label(FindingStatus::FalsePositive), "False positive");
        assert_eq!(category_label("sql_injection"), "SQL Injection");
        assert_eq!(category_label("made_up"), "made_up");
        assert_eq!(
            audit_text("finding.false_positive"),
            "Marked as false positive"
        );
        assert_eq!(audit_text("finding.something_new"), "finding.something_new");
        assert_eq!(actor_text("user:alice@example.com"), "alice@example.com");
        assert_eq!(actor_text("slack:U123"), "U123 (in Slack)");
        let sev: Vec<&str> = severity_choices().iter().map(|c| c.label).collect();
        assert_eq!(sev, ["Critical", "High", "Medium", "Low", "Info"]);
    }

    #[test]
    fn only_the_actions_a_status_allows_are_offered() {
        let names = |s| -> Vec<&str> { actions_for(s).iter().map(|a| a.action).collect() };
        assert_eq!(
            names(FindingStatus::Open),
            ["false_positive", "snooze", "resolve"]
        );
        assert_eq!(
            names(FindingStatus::Snoozed),
            ["false_positive", "resolve", "reopen"]
        );
        assert_eq!(names(FindingStatus::FalsePositive), ["reopen"]);
        assert_eq!(names(FindingStatus::Resolved), ["reopen"]);
    }
}
