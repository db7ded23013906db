//! Alerts: what a delivery owes a channel, independent of how Slack will show it.

use crate::{Category, Cvss, Severity};
use serde::{Deserialize, Serialize};

/// The kinds of alert a channel can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertType {
    Vulnerability,
    CertificateExpiring,
    ScanCompleted,
    Digest,
    Reminder,
}

impl AlertType {
    pub const ALL: [AlertType; 5] = [
        AlertType::Vulnerability,
        AlertType::CertificateExpiring,
        AlertType::ScanCompleted,
        AlertType::Digest,
        AlertType::Reminder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertType::Vulnerability => "vulnerability",
            AlertType::CertificateExpiring => "certificate_expiring",
            AlertType::ScanCompleted => "scan_completed",
            AlertType::Digest => "digest",
            AlertType::Reminder => "reminder",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        AlertType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown alert type {s:?}; expected vulnerability, certificate_expiring, scan_completed, digest or reminder"))
    }
}

/// A new or reopened finding, as it will be announced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnerabilityAlert {
    pub finding_id: String,
    pub domain: String,
    pub title: String,
    pub severity: Severity,
    pub cvss: Option<Cvss>,
    pub cve: Option<String>,
    pub owasp: Option<String>,
    pub category: Option<Category>,
    pub affected_url: Option<String>,
    pub has_remediation: bool,
    pub reopened: bool,
    /// What the KEV and EPSS feeds say of its CVE, when they say anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intel: Option<crate::intel::Intel>,
    /// A feed has just listed its CVE as known exploited: "🔥 Now Known Exploited" (told once per finding).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub now_exploited: bool,
}

/// A channel stopped accepting messages; told to the organization's other healthy channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelBrokenAlert {
    pub channel_name: String,
    pub error: String,
    pub hint: String,
}

/// A certificate nearing (or past) its expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateAlert {
    pub domain: String,
    /// Milliseconds since the Unix epoch.
    pub not_after: i64,
    /// Whole days left when the alert was raised (negative once expired).
    pub days_left: i64,
    pub issuer: String,
    pub sans: Vec<String>,
    pub fingerprint: String,
    /// Where "Renew Certificate" points, as configured for the domain.
    pub renew_url: Option<String>,
}

impl CertificateAlert {
    pub fn severity(&self) -> Severity {
        if self.days_left < 7 {
            Severity::Critical
        } else {
            Severity::High
        }
    }

    /// Orange below 30 days, red below 7 (the seed's colors).
    pub fn color(&self) -> &'static str {
        if self.days_left < 7 {
            "#FF0000"
        } else {
            "#FFA500"
        }
    }
}

/// A finished scan and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanAlert {
    pub scan_id: String,
    pub domain: String,
    /// `full`, `tls`, `headers` or an importer's name.
    pub scan_type: String,
    pub duration_secs: u64,
    /// Findings by severity: critical, high, medium, low, info.
    pub counts: [u32; 5],
    /// What the scan changed among the stored findings (absent in alerts queued before it was recorded).
    #[serde(default)]
    pub changes: Option<ScanChanges>,
}

/// A scan's effect on what is stored: findings new to Fence (reopened ones included), seen again and still open,
/// and closed because the scan no longer saw them (or their tool closed them upstream).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanChanges {
    pub new: u32,
    pub still_open: u32,
    pub closed: u32,
}

impl ScanAlert {
    pub fn count(&self, s: Severity) -> u32 {
        match s {
            Severity::Critical => self.counts[0],
            Severity::High => self.counts[1],
            Severity::Medium => self.counts[2],
            Severity::Low => self.counts[3],
            Severity::Info => self.counts[4],
        }
    }

    /// Green with no critical or high finding, yellow with high, red with critical.
    pub fn color(&self) -> &'static str {
        if self.counts[0] > 0 {
            "#FF0000"
        } else if self.counts[1] > 0 {
            "#FFD700"
        } else {
            "#00FF00"
        }
    }

    pub fn severity(&self) -> Severity {
        if self.counts[0] > 0 {
            Severity::Critical
        } else if self.counts[1] > 0 {
            Severity::High
        } else {
            Severity::Info
        }
    }
}

/// An open finding nobody has handled yet, repeated per the channel's `reminders`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReminderAlert {
    pub finding: VulnerabilityAlert,
    /// When the finding was first seen (ms since the epoch).
    pub open_since: i64,
    /// Whole days it had been open when the reminder was raised.
    pub days_open: i64,
}

/// A finding's state changed (triaged, resolved, reopened) or someone asked for its fix: told in the thread of the
/// message that announced it, which is updated too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUpAlert {
    pub finding: VulnerabilityAlert,
    /// The line posted in the thread, e.g. "✓ Marked as false positive by <@U123>".
    pub note: String,
    /// Markdown body (fix instructions), posted under the note.
    pub body: Option<String>,
    /// Whether the original message should be updated to show `note`.
    pub update_original: bool,
    /// Told even where there is no thread to reply in: a message of its own on webhooks (and on a bot channel
    /// without the finding's message) — the snooze-ended follow-up.
    #[serde(default)]
    pub announce: bool,
}

/// One of a digest's top issues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestIssue {
    pub severity: Severity,
    pub title: String,
    pub domain: String,
    pub cvss: Option<Cvss>,
    /// What the KEV and EPSS feeds say of its CVE (top issues list the exploited first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intel: Option<crate::intel::Intel>,
}

/// A certificate a digest lists as expiring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestCertificate {
    pub domain: String,
    pub days_left: i64,
}

/// Findings alerted to a channel that nobody acknowledged (or triaged) within its escalation's `after`: one message
/// per channel and pass, however many findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationAlert {
    /// The worst ones first, at most [`EscalationAlert::LISTED`].
    pub findings: Vec<VulnerabilityAlert>,
    /// All the findings it escalates, by severity (most severe first): (severity, count).
    pub counts: Vec<(Severity, usize)>,
    /// The escalation's delay as configured: "30m".
    pub after: String,
}

impl EscalationAlert {
    pub const LISTED: usize = 15;

    pub fn total(&self) -> usize {
        self.counts.iter().map(|(_, n)| n).sum()
    }
}

/// A silence a digest lists as ending soon: its matchers (`rule=… domain=…`), reason and end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestSilence {
    pub matchers: String,
    pub reason: String,
    pub expires_at: i64,
}

/// A periodic summary of a channel's organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestAlert {
    /// "Daily", "Weekly", "Monthly" or "Scheduled".
    pub label: String,
    /// The period's end (ms since the epoch), and the zone its date is shown in.
    pub period_end: i64,
    pub timezone: String,
    pub scans_run: i64,
    pub domains_scanned: i64,
    pub new_vulnerabilities: i64,
    pub top: Vec<DigestIssue>,
    pub certificates: Vec<DigestCertificate>,
    /// The period's findings as CSV, at a signed link.
    pub report_url: String,
    /// Of the new vulnerabilities, those a silence kept from alerting (not among `top`).
    #[serde(default)]
    pub silenced: i64,
    /// Silences that end within 7 days, soonest first.
    #[serde(default)]
    pub silences_ending: Vec<DigestSilence>,
}

/// Everything a delivery can carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Alert {
    Vulnerability(VulnerabilityAlert),
    CertificateExpiring(CertificateAlert),
    ScanCompleted(ScanAlert),
    Reminder(ReminderAlert),
    Digest(DigestAlert),
    ChannelBroken(ChannelBrokenAlert),
    FollowUp(FollowUpAlert),
    Escalation(EscalationAlert),
}

impl Alert {
    /// The subscription this alert belongs to; `None` for system notices every channel receives.
    pub fn alert_type(&self) -> Option<AlertType> {
        match self {
            Alert::Vulnerability(_) => Some(AlertType::Vulnerability),
            Alert::CertificateExpiring(_) => Some(AlertType::CertificateExpiring),
            Alert::ScanCompleted(_) => Some(AlertType::ScanCompleted),
            Alert::Reminder(_) => Some(AlertType::Reminder),
            Alert::Digest(_) => Some(AlertType::Digest),
            Alert::ChannelBroken(_) | Alert::FollowUp(_) | Alert::Escalation(_) => None,
        }
    }

    /// Severity used to order coalesced messages (most severe first).
    pub fn severity(&self) -> Severity {
        match self {
            Alert::Vulnerability(v) => v.severity,
            Alert::CertificateExpiring(c) => c.severity(),
            Alert::ScanCompleted(s) => s.severity(),
            Alert::Reminder(r) => r.finding.severity,
            Alert::ChannelBroken(_) => Severity::High,
            Alert::FollowUp(f) => f.finding.severity,
            Alert::Escalation(e) => e.counts.first().map_or(Severity::Info, |(s, _)| *s),
            Alert::Digest(_) => Severity::Info,
        }
    }

    /// The finding a finding alert is about: a new one, or the one a reminder recalls (`None` for the others).
    pub fn finding(&self) -> Option<&VulnerabilityAlert> {
        match self {
            Alert::Vulnerability(v) => Some(v),
            Alert::Reminder(r) => Some(&r.finding),
            _ => None,
        }
    }

    /// The domain the alert is about, for domain filters.
    pub fn domain(&self) -> Option<&str> {
        match self {
            Alert::Vulnerability(v) => Some(&v.domain),
            Alert::CertificateExpiring(c) => Some(&c.domain),
            Alert::ScanCompleted(s) => Some(&s.domain),
            Alert::Reminder(r) => Some(&r.finding.domain),
            Alert::Escalation(e) if e.findings.len() == 1 && e.total() == 1 => {
                Some(&e.findings[0].domain)
            }
            Alert::ChannelBroken(_)
            | Alert::FollowUp(_)
            | Alert::Digest(_)
            | Alert::Escalation(_) => None,
        }
    }
}
