//! The channel form's fixed choices (alert types, severities, categories, days, digest frequencies, formats,
//! detail levels), as (value, label) pairs for its selects and checkboxes.

use fence_core::Category;
use serde::Serialize;

/// The choices the form offers, as (value, label).
#[derive(Serialize)]
pub(super) struct Choices {
    alert_types: [(&'static str, &'static str); 5],
    severities: [&'static str; 5],
    categories: Vec<(&'static str, &'static str)>,
    days: [&'static str; 7],
    digest_frequencies: [(&'static str, &'static str); 5],
    formats: [(&'static str, &'static str); 2],
    details: [(&'static str, &'static str); 2],
}

impl Choices {
    pub(super) fn new() -> Choices {
        Choices {
            alert_types: fence_core::AlertType::ALL
                .map(|a| (a.as_str(), super::labels::alert_type_label(a))),
            severities: ["critical", "high", "medium", "low", "info"],
            categories: Category::ALL
                .iter()
                .map(|c| (c.as_str(), c.display_name()))
                .collect(),
            days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            digest_frequencies: [
                ("", "none"),
                ("daily", "daily"),
                ("weekly", "weekly"),
                ("monthly", "monthly"),
                ("cron", "cron"),
            ],
            formats: [
                ("blocks", "Block Kit"),
                ("attachments", "Attachments (legacy, Mattermost)"),
            ],
            details: [
                ("full", "Full: every field of each finding"),
                (
                    "minimal",
                    "Minimal: type, severity, counts and a link (data-sensitive channels)",
                ),
            ],
        }
    }
}
