//! The channel form's inputs, defined once: [`ChannelForm`] has one field per input, grouped as the channel object
//! groups them (each field's or group's doc names its inputs when the name differs: `type`, `digest_time`,
//! `mention_high`, …). It is filled from a channel object (to show it) or from a submitted form, and turned back into
//! a channel object for `services::channels::prepare`. Struct literals and exhaustive destructuring make the compiler
//! refuse a field that is read but not written back; the tests render `channel_form.html`, submit every input it
//! shows and compare what comes back.

use super::{field, fields};
use fence_core::ChannelConfig;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// Keys of `mentions`: severities, then alert types.
pub const MENTION_KEYS: [&str; 11] = [
    "critical",
    "high",
    "medium",
    "low",
    "info",
    "vulnerability",
    "certificate_expiring",
    "scan_completed",
    "digest",
    "reminder",
    "known_exploited",
];

/// One `mention_{key}` input: the key's mentions, space-separated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MentionInput {
    pub key: &'static str,
    pub value: String,
    /// The stored channel's names resolved, each with its id: "@alice → user @alice (U0ALICE)".
    pub resolved: Vec<String>,
}

/// The resolved names among a key's mentions, from the stored `resolved_labels`.
fn resolved_of(c: &Value, key: &str) -> Vec<String> {
    strs(&c["mentions"][key])
        .into_iter()
        .filter_map(|name| {
            let label = c["resolved_labels"][&name].as_str()?;
            Some(format!("{name} → {label}"))
        })
        .collect()
}

/// The values of the channel form's inputs, as shown and as submitted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelForm {
    /// `type`: slack or mattermost (a hidden input; a channel's type cannot change).
    pub kind: String,
    pub name: String,
    /// Shown only as typed (a failed save); a stored channel shows its hint instead.
    pub webhook_url: String,
    /// Never shown; empty keeps the stored token.
    #[serde(skip_serializing)]
    pub bot_token: String,
    pub channel: String,
    pub channel_id: String,
    pub alert_types: Vec<String>,
    /// `filters.severities`.
    pub severities: Vec<String>,
    /// `filters.domains`, one per line.
    pub domains: String,
    /// `filters.categories`.
    pub categories: Vec<String>,
    /// `filters.tags`, comma-separated.
    pub tags: String,
    pub exploit: super::exploit_form::ExploitFilters,
    /// `filters.schedule`.
    pub schedule: Schedule,
    /// `mention_{key}`, one per key of [`MENTION_KEYS`].
    pub mentions: Vec<MentionInput>,
    pub digest: Digest,
    pub reminders: Reminders,
    pub escalation: super::escalation_form::EscalationInput,
    pub format: String,
    /// `full` or `minimal`.
    pub detail: String,
    pub template: String,
    pub identity: Identity,
}

/// The time window: the `schedule` checkbox, `days`, `start`, `end` and `timezone`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    pub on: bool,
    pub days: Vec<String>,
    pub start: String,
    pub end: String,
    pub timezone: String,
}

/// `digest_frequency` (empty: no digest), `digest_time`, `digest_weekday`, `digest_day`, `digest_cron`,
/// `digest_timezone`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Digest {
    pub frequency: String,
    pub time: String,
    pub weekday: String,
    pub day: String,
    pub cron: String,
    pub timezone: String,
}

/// `reminder_every` (empty: no reminders) and `reminder_severities`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reminders {
    pub every: String,
    pub severities: Vec<String>,
}

/// The white-label identity: `identity_username`, `identity_icon_url`, `identity_icon_emoji`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    pub username: String,
    pub icon_url: String,
    pub icon_emoji: String,
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

fn text(v: &Value, default: &str) -> String {
    v.as_str().unwrap_or(default).to_string()
}

/// A list typed into a text input: separated by commas, spaces (and newlines where `newlines`).
fn split(s: &str, newlines: bool) -> Vec<&str> {
    let seps: &[char] = if newlines {
        &[',', '\n', ' ']
    } else {
        &[',', ' ']
    };
    s.split(seps)
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect()
}

/// A trimmed text, or null when empty.
fn or_null(s: &str) -> Value {
    match s.trim() {
        "" => Value::Null,
        t => json!(t),
    }
}

/// A submitted form's inputs by name (absent ones are empty).
struct Submitted<'a>(&'a [(String, String)]);

impl Submitted<'_> {
    fn text(&self, name: &str) -> String {
        field(self.0, name).to_string()
    }

    fn list(&self, name: &str) -> Vec<String> {
        fields(self.0, name)
            .into_iter()
            .map(str::to_string)
            .collect()
    }
}

impl ChannelForm {
    /// The form of a new channel of `kind`: the default alert types checked.
    pub fn blank(kind: &str) -> ChannelForm {
        let mut form = Self::from_channel_json(&json!({ "type": kind }));
        form.alert_types = ChannelConfig::DEFAULT_ALERT_TYPES
            .iter()
            .map(|t| t.as_str().to_string())
            .collect();
        form
    }

    /// The inputs' values for a channel object (the API's view of a stored channel, or one being added).
    pub fn from_channel_json(c: &Value) -> ChannelForm {
        let kind = match c["type"].as_str() {
            None | Some("") => "slack",
            Some(k) => k,
        };
        let filters = &c["filters"];
        let default_format = if kind == "slack" {
            "blocks"
        } else {
            "attachments"
        };
        ChannelForm {
            kind: kind.to_string(),
            name: text(&c["name"], ""),
            webhook_url: text(&c["webhook_url"], ""),
            bot_token: String::new(),
            channel: text(&c["channel"], ""),
            channel_id: text(&c["channel_id"], ""),
            alert_types: strs(&c["alert_types"]),
            severities: strs(&filters["severities"]),
            domains: strs(&filters["domains"]).join("\n"),
            categories: strs(&filters["categories"]),
            tags: strs(&filters["tags"]).join(", "),
            exploit: super::exploit_form::ExploitFilters::from_json(filters),
            schedule: Schedule::from_json(&filters["schedule"]),
            mentions: MENTION_KEYS
                .map(|key| MentionInput {
                    key,
                    value: strs(&c["mentions"][key]).join(" "),
                    resolved: resolved_of(c, key),
                })
                .to_vec(),
            digest: Digest::from_json(&c["digest"]),
            reminders: Reminders {
                every: text(&c["reminders"]["every"], ""),
                severities: strs(&c["reminders"]["severities"]),
            },
            escalation: super::escalation_form::EscalationInput::from_json(&c["escalation"]),
            format: text(&c["format"], default_format),
            detail: text(&c["detail"], "full"),
            template: text(&c["template"], ""),
            identity: Identity::from_json(&c["identity"]),
        }
    }

    /// The inputs of a submitted form.
    pub fn from_submitted(f: &[(String, String)]) -> ChannelForm {
        let f = Submitted(f);
        ChannelForm {
            kind: f.text("type"),
            name: f.text("name"),
            webhook_url: f.text("webhook_url"),
            bot_token: f.text("bot_token"),
            channel: f.text("channel"),
            channel_id: f.text("channel_id"),
            alert_types: f.list("alert_types"),
            severities: f.list("severities"),
            domains: f.text("domains"),
            categories: f.list("categories"),
            tags: f.text("tags"),
            exploit: super::exploit_form::ExploitFilters::from_submitted(f.0),
            schedule: Schedule::from_submitted(&f),
            mentions: MENTION_KEYS
                .map(|key| MentionInput {
                    key,
                    value: f.text(&format!("mention_{key}")),
                    resolved: Vec::new(),
                })
                .to_vec(),
            digest: Digest::from_submitted(&f),
            reminders: Reminders {
                every: f.text("reminder_every"),
                severities: f.list("reminder_severities"),
            },
            escalation: super::escalation_form::EscalationInput::from_submitted(f.0),
            format: f.text("format"),
            detail: f.text("detail"),
            template: f.text("template"),
            identity: Identity::from_submitted(&f),
        }
    }

    /// The channel object the form describes, as the API takes it. With a stored channel it is a patch: an empty
    /// webhook URL or bot token keeps the stored one, an emptied name, channel or channel id clears it; the rule
    /// fields are always sent whole (a custom payload or identity the plan does not show is cleared).
    pub fn to_channel_json(&self) -> Value {
        let ChannelForm {
            kind,
            name,
            webhook_url,
            bot_token,
            channel,
            channel_id,
            alert_types,
            severities,
            domains,
            categories,
            tags,
            exploit,
            schedule,
            mentions,
            digest,
            reminders,
            escalation,
            format,
            detail,
            template,
            identity,
        } = self;
        let mut o = Map::new();
        // Empty keeps the stored value (the secrets), or takes the default (type, format).
        for (k, v) in [
            ("type", kind),
            ("webhook_url", webhook_url),
            ("bot_token", bot_token),
            ("format", format),
            ("detail", detail),
        ] {
            if !v.trim().is_empty() {
                o.insert(k.into(), json!(v.trim()));
            }
        }
        for (k, v) in [
            ("name", name),
            ("channel", channel),
            ("channel_id", channel_id),
        ] {
            o.insert(k.into(), or_null(v));
        }
        let mut filters = json!({
            "severities": severities,
            "domains": split(domains, true),
            "categories": categories,
            "tags": split(tags, false),
            "schedule": schedule.to_json(),
        });
        if let Some(m) = filters.as_object_mut() {
            exploit.add_to(m);
        }
        let template = match template.trim() {
            "" => Value::Null,
            _ => json!(template),
        };
        o.extend([
            ("alert_types".to_string(), json!(alert_types)),
            ("filters".to_string(), filters),
            ("mentions".to_string(), mentions_json(mentions)),
            ("digest".to_string(), digest.to_json()),
            ("reminders".to_string(), reminders.to_json()),
            ("escalation".to_string(), escalation.to_json()),
            ("template".to_string(), template),
            ("identity".to_string(), identity.to_json()),
        ]);
        Value::Object(o)
    }
}

/// `mentions`: the keys with at least one mention.
fn mentions_json(mentions: &[MentionInput]) -> Value {
    let keys: Map<String, Value> = mentions
        .iter()
        .map(|m| (m.key.to_string(), split(&m.value, false)))
        .filter(|(_, list)| !list.is_empty())
        .map(|(k, list)| (k, json!(list)))
        .collect();
    Value::Object(keys)
}

impl Schedule {
    fn from_json(s: &Value) -> Schedule {
        Schedule {
            on: s.is_object(),
            days: strs(&s["days"]),
            start: text(&s["start"], "09:00"),
            end: text(&s["end"], "18:00"),
            timezone: text(&s["timezone"], "UTC"),
        }
    }

    fn from_submitted(f: &Submitted<'_>) -> Schedule {
        Schedule {
            on: f.text("schedule") == "on",
            days: f.list("days"),
            start: f.text("start"),
            end: f.text("end"),
            timezone: f.text("timezone"),
        }
    }

    /// `filters.schedule`: null unless its checkbox is checked.
    fn to_json(&self) -> Value {
        let Schedule {
            on,
            days,
            start,
            end,
            timezone,
        } = self;
        match on {
            true => json!({"days": days, "start": start, "end": end, "timezone": timezone}),
            false => Value::Null,
        }
    }
}

impl Digest {
    fn from_json(d: &Value) -> Digest {
        Digest {
            frequency: text(&d["frequency"], ""),
            time: text(&d["time"], "09:00"),
            weekday: text(&d["weekday"], "mon"),
            day: d["day"].as_u64().unwrap_or(1).to_string(),
            cron: text(&d["cron"], ""),
            timezone: text(&d["timezone"], "UTC"),
        }
    }

    fn from_submitted(f: &Submitted<'_>) -> Digest {
        Digest {
            frequency: f.text("digest_frequency"),
            time: f.text("digest_time"),
            weekday: f.text("digest_weekday"),
            day: f.text("digest_day"),
            cron: f.text("digest_cron"),
            timezone: f.text("digest_timezone"),
        }
    }

    /// `digest`: null without a frequency; the weekday, day or cron only for the frequency that uses it.
    fn to_json(&self) -> Value {
        let Digest {
            frequency,
            time,
            weekday,
            day,
            cron,
            timezone,
        } = self;
        if frequency.is_empty() {
            return Value::Null;
        }
        let mut d = json!({"frequency": frequency, "time": time, "timezone": timezone});
        match frequency.as_str() {
            "weekly" => d["weekday"] = json!(weekday),
            "monthly" => d["day"] = json!(day.parse::<u64>().unwrap_or(0)),
            "cron" => d["cron"] = json!(cron),
            _ => {}
        }
        d
    }
}

impl Reminders {
    /// `reminders`: null without an interval.
    fn to_json(&self) -> Value {
        let Reminders { every, severities } = self;
        match every.trim() {
            "" => Value::Null,
            every => json!({"every": every, "severities": severities}),
        }
    }
}

impl Identity {
    fn from_json(i: &Value) -> Identity {
        Identity {
            username: text(&i["username"], ""),
            icon_url: text(&i["icon_url"], ""),
            icon_emoji: text(&i["icon_emoji"], ""),
        }
    }

    fn from_submitted(f: &Submitted<'_>) -> Identity {
        Identity {
            username: f.text("identity_username"),
            icon_url: f.text("identity_icon_url"),
            icon_emoji: f.text("identity_icon_emoji"),
        }
    }

    /// `identity`: the parts filled in, or null when none is.
    fn to_json(&self) -> Value {
        let Identity {
            username,
            icon_url,
            icon_emoji,
        } = self;
        let set: Map<String, Value> = [
            ("username", username),
            ("icon_url", icon_url),
            ("icon_emoji", icon_emoji),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.to_string(), json!(v.trim())))
        .collect();
        match set.is_empty() {
            true => Value::Null,
            false => Value::Object(set),
        }
    }
}

#[cfg(test)]
#[path = "channel_form_tests.rs"]
mod tests;
