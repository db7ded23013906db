//! Severity levels, their derivation from a CVSS score, and the seed's colors, icons and headlines.

use crate::Cvss;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A finding's severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// CVSS v3 qualitative rating: 9.0–10 critical, 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low, 0 info.
    pub fn from_cvss(score: Cvss) -> Self {
        let s = score.value();
        if s >= 9.0 {
            Severity::Critical
        } else if s >= 7.0 {
            Severity::High
        } else if s >= 4.0 {
            Severity::Medium
        } else if s > 0.0 {
            Severity::Low
        } else {
            Severity::Info
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    /// Upper-case label used in messages: `CRITICAL`.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Info => "INFO",
        }
    }

    /// Capitalised name used in counts: `Critical`.
    pub fn title(self) -> &'static str {
        match self {
            Severity::Critical => "Critical",
            Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low => "Low",
            Severity::Info => "Info",
        }
    }

    /// The seed's color for vulnerability alerts.
    pub fn color(self) -> &'static str {
        match self {
            Severity::Critical => "#FF0000",
            Severity::High => "#FFA500",
            Severity::Medium => "#FFD700",
            Severity::Low => "#1E90FF",
            Severity::Info => "#D3D3D3",
        }
    }

    /// Icon of a vulnerability alert's headline.
    pub fn icon(self) -> &'static str {
        match self {
            Severity::Critical => "🚨",
            Severity::High => "🟠",
            Severity::Medium => "🟡",
            Severity::Low => "🔵",
            Severity::Info => "⚪",
        }
    }

    /// Round dot used in counts and lists (🔴🟠🟡🔵⚪).
    pub fn dot(self) -> &'static str {
        match self {
            Severity::Critical => "🔴",
            Severity::High => "🟠",
            Severity::Medium => "🟡",
            Severity::Low => "🔵",
            Severity::Info => "⚪",
        }
    }

    /// Headline of a vulnerability alert, without icon.
    pub fn headline(self) -> &'static str {
        match self {
            Severity::Critical => "Critical Vulnerability Detected",
            Severity::High => "High Severity Vulnerability Detected",
            Severity::Medium => "Medium Severity Vulnerability Detected",
            Severity::Low => "Low Severity Vulnerability Detected",
            Severity::Info => "Informational Finding",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "critical" => Ok(Severity::Critical),
            "high" => Ok(Severity::High),
            "medium" => Ok(Severity::Medium),
            "low" => Ok(Severity::Low),
            "info" | "informational" => Ok(Severity::Info),
            _ => Err(format!(
                "unknown severity {s:?}; expected one of critical, high, medium, low, info"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvss_boundaries_map_to_the_qualitative_ratings() {
        let cases = [
            (10.0, Severity::Critical),
            (9.0, Severity::Critical),
            (8.9, Severity::High),
            (7.0, Severity::High),
            (6.9, Severity::Medium),
            (4.0, Severity::Medium),
            (3.9, Severity::Low),
            (0.1, Severity::Low),
            (0.0, Severity::Info),
        ];
        for (score, want) in cases {
            let got = Severity::from_cvss(Cvss::new(score).expect("valid score"));
            assert_eq!(got, want, "cvss {score}");
        }
    }

    #[test]
    fn severity_parses_in_any_case() {
        assert_eq!("CRITICAL".parse::<Severity>(), Ok(Severity::Critical));
        assert_eq!("High".parse::<Severity>(), Ok(Severity::High));
        assert!("severe".parse::<Severity>().is_err());
    }
}
