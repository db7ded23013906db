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
}

/// A channel stopped accepting messages; told to the organization's other healthy channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelBrokenAlert {
    pub channel_name: String,
    pub error: String,
    pub hint: String,
}

/// Everything a delivery can carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Alert {
    Vulnerability(VulnerabilityAlert),
    ChannelBroken(ChannelBrokenAlert),
}

impl Alert {
    /// The subscription this alert belongs to; `None` for system notices every channel receives.
    pub fn alert_type(&self) -> Option<AlertType> {
        match self {
            Alert::Vulnerability(_) => Some(AlertType::Vulnerability),
            Alert::ChannelBroken(_) => None,
        }
    }

    /// Severity used to order coalesced messages (most severe first).
    pub fn severity(&self) -> Severity {
        match self {
            Alert::Vulnerability(v) => v.severity,
            Alert::ChannelBroken(_) => Severity::High,
        }
    }
}
