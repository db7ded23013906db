//! Channel rules: which alerts a channel receives (alert types, filters, time window), whom they mention and in
//! which message format. Parsed from the API's JSON with errors that name the field.

use crate::{Alert, AlertType, Category, FieldErrors, Severity};
use jiff::{civil, tz::TimeZone, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

mod escalation;
mod mentions;
mod parse;

pub use escalation::Escalation;
pub use mentions::Mentions;

use parse::{
    object_or_null, parse_alert_types, parse_detail, parse_digest_schedule, parse_filters_field,
    parse_format, parse_mentions_field, parse_reminders, parse_resolved_mentions, parse_template,
};

/// Where a channel's messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Slack,
    Mattermost,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Slack => "slack",
            ChannelKind::Mattermost => "mattermost",
        }
    }
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "slack" => Ok(ChannelKind::Slack),
            "mattermost" => Ok(ChannelKind::Mattermost),
            other => Err(format!(
                "unknown channel type {other:?}; expected slack or mattermost"
            )),
        }
    }
}

/// Block Kit in one colored attachment, or legacy attachment fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageFormat {
    Blocks,
    Attachments,
}

/// How much of a finding a channel's messages show: everything, or (`minimal`, for data-sensitive channels) only the
/// alert type, severity, counts and a link to Fence with an opaque id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detail {
    #[default]
    Full,
    Minimal,
}

impl Detail {
    pub fn as_str(self) -> &'static str {
        match self {
            Detail::Full => "full",
            Detail::Minimal => "minimal",
        }
    }
}

/// A weekly time window in a time zone; `end` before `start` crosses midnight.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub days: Vec<civil::Weekday>,
    pub start: civil::Time,
    pub end: civil::Time,
    pub timezone: String,
    tz: Option<TimeZone>,
}

impl Schedule {
    fn tz(&self) -> TimeZone {
        self.tz
            .clone()
            .or_else(|| TimeZone::get(&self.timezone).ok())
            .unwrap_or(TimeZone::UTC)
    }

    fn day_ok(&self, d: civil::Weekday) -> bool {
        self.days.is_empty() || self.days.contains(&d)
    }

    /// Whether the window is open at `t`.
    pub fn is_open(&self, t: Timestamp) -> bool {
        let z = t.to_zoned(self.tz());
        let (now, day) = (z.time(), z.weekday());
        if self.start == self.end {
            return self.day_ok(day);
        }
        if self.start < self.end {
            self.day_ok(day) && now >= self.start && now < self.end
        } else {
            (self.day_ok(day) && now >= self.start)
                || (self.day_ok(day.previous()) && now < self.end)
        }
    }

    /// The first instant at or after `t` when the window is open.
    pub fn next_open(&self, t: Timestamp) -> Timestamp {
        if self.is_open(t) {
            return t;
        }
        let tz = self.tz();
        let today = t.to_zoned(tz.clone()).date();
        for offset in 0..9i64 {
            let Ok(date) = today.checked_add(jiff::Span::new().days(offset)) else {
                break;
            };
            if !self.day_ok(date.weekday()) {
                continue;
            }
            if let Ok(z) = date.to_datetime(self.start).to_zoned(tz.clone()) {
                if z.timestamp() > t {
                    return z.timestamp();
                }
            }
        }
        t
    }
}

/// What a channel lets through. Empty lists mean "all".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    pub severities: Vec<Severity>,
    /// Parsed once with the channel's rules, not per alert.
    pub domains: Vec<crate::domain::DomainPattern>,
    pub categories: Vec<Category>,
    /// `filters.tags`: only alerts about a domain with one of these tags (alerts about no domain pass).
    pub tags: Vec<String>,
    pub schedule: Option<Schedule>,
    /// `filters.known_exploited`: only findings whose CVE is in CISA's KEV catalog.
    pub known_exploited: bool,
    /// `filters.min_epss`: only findings whose CVE's EPSS score is at least this (0–1).
    pub min_epss: Option<f64>,
}

impl Filters {
    /// Whether the tags filter lets through an alert about a domain with `domain_tags` (`None`: the alert is about
    /// no domain, a digest or a notice).
    pub fn admits_tags(&self, domain_tags: Option<&[String]>) -> bool {
        match domain_tags {
            _ if self.tags.is_empty() => true,
            None => true,
            Some(have) => have.iter().any(|t| self.tags.contains(t)),
        }
    }

    /// Whether an alert passes the severity, domain and category filters (the time window is separate).
    /// Severity and category filters apply to findings (alerts and reminders); the domain filter to every alert
    /// about a domain; system notices always pass.
    pub fn admits(&self, alert: &Alert) -> bool {
        let finding = alert.finding();
        let dom = match alert.domain() {
            None => true,
            Some(d) => self.domains.is_empty() || self.domains.iter().any(|p| p.matches(d)),
        };
        let (sev, cat) = match finding {
            Some(v) => (
                self.severities.is_empty() || self.severities.contains(&v.severity),
                self.categories.is_empty()
                    || v.category.is_some_and(|c| self.categories.contains(&c)),
            ),
            None => (true, true),
        };
        let intel = finding.and_then(|v| v.intel.as_ref());
        let exploited = !self.known_exploited
            || finding.is_none()
            || intel.is_some_and(|i| i.known_exploited.is_some());
        let likely = self.min_epss.is_none_or(|min| {
            finding.is_none() || intel.and_then(|i| i.epss).is_some_and(|e| e.score >= min)
        });
        dom && sev && cat && exploited && likely
    }
}

/// The mention key added to a finding's severity mentions when its CVE is in CISA's KEV catalog.
pub const KNOWN_EXPLOITED: &str = "known_exploited";

/// A mention as Slack needs it, or a name still to be resolved to an id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mention {
    User(String),
    Group(String),
    Channel(String),
    Here,
    AtChannel,
    Everyone,
    /// `@alice`, `@security-team`, `#security-alerts` or `alice@example.com`: needs the Web API to become an id.
    Name(String),
}

impl Mention {
    pub fn parse(raw: &str) -> Result<Mention, String> {
        let s = raw.trim();
        let is_id = |id: &str, first: &[char]| {
            id.len() >= 3
                && id.starts_with(first)
                && id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        };
        match s {
            "@here" | "<!here>" | "here" => return Ok(Mention::Here),
            "@channel" | "<!channel>" => return Ok(Mention::AtChannel),
            "@everyone" | "<!everyone>" => return Ok(Mention::Everyone),
            _ => {}
        }
        if let Some(id) = s.strip_prefix("<@").and_then(|r| r.strip_suffix('>')) {
            let id = id.split('|').next().unwrap_or("");
            return if is_id(id, &['U', 'W']) {
                Ok(Mention::User(id.into()))
            } else {
                Err(format!("{s:?} is not a user id"))
            };
        }
        if let Some(id) = s
            .strip_prefix("<!subteam^")
            .and_then(|r| r.strip_suffix('>'))
        {
            let id = id.split('|').next().unwrap_or("");
            return if is_id(id, &['S']) {
                Ok(Mention::Group(id.into()))
            } else {
                Err(format!("{s:?} is not a user group id"))
            };
        }
        if let Some(id) = s.strip_prefix("<#").and_then(|r| r.strip_suffix('>')) {
            let id = id.split('|').next().unwrap_or("");
            return if is_id(id, &['C', 'G']) {
                Ok(Mention::Channel(id.into()))
            } else {
                Err(format!("{s:?} is not a channel id"))
            };
        }
        if is_id(s, &['U', 'W']) {
            return Ok(Mention::User(s.into()));
        }
        if is_id(s, &['S']) {
            return Ok(Mention::Group(s.into()));
        }
        let valid_name = |n: &str| {
            !n.is_empty()
                && n.len() <= 80
                && n.chars().all(|c| c.is_alphanumeric() || "._-".contains(c))
        };
        if let Some(n) = s.strip_prefix('@').or_else(|| s.strip_prefix('#')) {
            if valid_name(n) {
                return Ok(Mention::Name(s.into()));
            }
        }
        // An e-mail address: looked up with users.lookupByEmail (SLACK.md §9).
        if let Some((local, domain)) = s.split_once('@') {
            let local_ok = !local.is_empty()
                && local.len() <= 64
                && local
                    .chars()
                    .all(|c| c.is_alphanumeric() || "._+-".contains(c));
            let domain_ok = domain.contains('.')
                && domain.len() <= 253
                && domain
                    .split('.')
                    .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'));
            if local_ok && domain_ok {
                return Ok(Mention::Name(s.into()));
            }
        }
        Err(format!("{s:?} is not a mention; use @name, @group, #channel, @here, @channel, @everyone, an e-mail address, <@U…>, <!subteam^S…>, U… or S…"))
    }
}

/// Repeated alerts for findings that stay open: every `every`, for these severities (empty = all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminders {
    pub every_ms: i64,
    pub severities: Vec<Severity>,
}

/// Parses `30m`, `24h`, `7d`, `1h30m` into milliseconds.
pub fn parse_every(s: &str) -> Result<i64, String> {
    crate::text::parse_duration(s).map(|d| d.as_millis().min(i64::MAX as u128) as i64)
}

/// Everything a channel decides about its alerts, except where they go and its secrets.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelConfig {
    pub alert_types: Vec<AlertType>,
    pub filters: Filters,
    /// Keys are severities or alert types; values are mentions as typed (canonical ids once resolved).
    pub mentions: BTreeMap<String, Vec<String>>,
    pub digest: Option<Value>,
    pub reminders: Option<Value>,
    /// `reminders`, parsed.
    pub reminder_rules: Option<Reminders>,
    /// `digest`, parsed.
    pub digest_schedule: Option<crate::digest::DigestSchedule>,
    /// Names in `mentions` resolved to Slack ids when the channel was saved (`@alice` → `<@U…>`).
    pub resolved_mentions: BTreeMap<String, String>,
    pub format: MessageFormat,
    /// `detail`: `full` (the default) or `minimal`.
    pub detail: Detail,
    pub template: Option<String>,
    pub identity: Option<Value>,
    /// `escalation`, parsed: who is told when findings alerted here stay unacknowledged.
    pub escalation: Option<Escalation>,
}

impl ChannelConfig {
    /// Alert types a channel gets when it names none.
    pub const DEFAULT_ALERT_TYPES: [AlertType; 3] = [
        AlertType::Vulnerability,
        AlertType::CertificateExpiring,
        AlertType::ScanCompleted,
    ];

    /// Parses the rule fields of a channel object; `kind` decides the default and allowed formats.
    pub fn from_json(
        obj: &Map<String, Value>,
        kind: ChannelKind,
    ) -> Result<ChannelConfig, FieldErrors> {
        let mut errs = FieldErrors::default();
        let alert_types = parse_alert_types(obj, &mut errs);
        let filters = parse_filters_field(obj, &mut errs);
        let mentions = parse_mentions_field(obj, &mut errs);
        let format = parse_format(obj, kind, &mut errs);
        let detail = parse_detail(obj, &mut errs);
        let digest = object_or_null(obj, "digest", &mut errs);
        let reminders = object_or_null(obj, "reminders", &mut errs);
        let reminder_rules = reminders
            .as_ref()
            .and_then(|r| parse_reminders(r, &mut errs));
        let digest_schedule = parse_digest_schedule(digest.as_ref(), &mut errs);
        let identity = object_or_null(obj, "identity", &mut errs);
        let escalation = object_or_null(obj, "escalation", &mut errs)
            .and_then(|e| escalation::parse_escalation(&e, &mut errs));
        let resolved_mentions = parse_resolved_mentions(obj);
        let template = parse_template(obj, &mut errs);
        errs.into_result(ChannelConfig {
            alert_types,
            filters,
            mentions,
            digest,
            reminders,
            reminder_rules,
            digest_schedule,
            resolved_mentions,
            format,
            detail,
            template,
            identity,
            escalation,
        })
    }

    /// Whether this channel wants the alert at all (subscription and filters; not the time window).
    pub fn wants(&self, alert: &Alert) -> bool {
        // Configuring `reminders` subscribes to them, whether or not `alert_types` lists "reminder".
        let subscribed = alert.alert_type().is_none_or(|t| {
            self.alert_types.contains(&t)
                || (t == AlertType::Reminder && self.reminder_rules.is_some())
        });
        subscribed && self.filters.admits(alert)
    }

    /// When an alert routed at `now` may go out: now inside the window, else at its next opening.
    pub fn due_at(&self, now: Timestamp) -> Timestamp {
        match &self.filters.schedule {
            None => now,
            Some(s) => s.next_open(now),
        }
    }

    /// Mentions configured for an alert: by its severity and by its alert type, without repeats.
    pub fn mentions_for(&self, alert: &Alert) -> Vec<String> {
        if let Alert::Escalation(_) = alert {
            return self.escalation_mentions();
        }
        let mut keys: Vec<&str> = Vec::new();
        let exploited = |v: &crate::VulnerabilityAlert| {
            v.intel
                .as_ref()
                .is_some_and(|i| i.known_exploited.is_some())
        };
        match alert {
            Alert::Vulnerability(v) if exploited(v) => {
                keys.push(v.severity.as_str());
                keys.push(KNOWN_EXPLOITED);
            }
            Alert::Vulnerability(v) => keys.push(v.severity.as_str()),
            Alert::Reminder(r) => keys.push(r.finding.severity.as_str()),
            _ => {}
        }
        if let Some(t) = alert.alert_type() {
            keys.push(t.as_str());
        }
        let mut out: Vec<String> = Vec::new();
        for k in keys {
            for m in self.mentions.get(k).into_iter().flatten() {
                // Names resolved at save time through the Web API go out as ids.
                let m = self.resolved_mentions.get(m).unwrap_or(m);
                if !out.contains(m) {
                    out.push(m.clone());
                }
            }
        }
        out
    }

    /// The mentions of a message carrying `alerts`, each once, in first-seen order. Alerts of the same severity
    /// and type share their mentions, so a burst of thousands is looked up once per kind, not once per alert.
    pub fn mentions_for_all<'a>(&self, alerts: impl IntoIterator<Item = &'a Alert>) -> Vec<String> {
        let mut m = self.mentions();
        alerts.into_iter().for_each(|a| m.add(a));
        m.finish()
    }

    /// [`Self::mentions_for_all`] one alert at a time, for a message whose alerts are read one set at a time.
    pub fn mentions(&self) -> Mentions<'_> {
        Mentions {
            config: self,
            seen: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Names used in `mentions` that are not ids (`@alice`, `#security-alerts`), with their field paths.
    pub fn mention_names(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (key, list) in &self.mentions {
            for (i, m) in list.iter().enumerate() {
                if let Ok(Mention::Name(n)) = Mention::parse(m) {
                    out.push((format!("mentions.{key}[{i}]"), n));
                }
            }
        }
        for (i, m) in self
            .escalation
            .iter()
            .flat_map(|e| e.mentions.iter())
            .enumerate()
        {
            if let Ok(Mention::Name(n)) = Mention::parse(m) {
                out.push((format!("escalation.mentions[{i}]"), n));
            }
        }
        out
    }

    /// The escalation's mentions, names resolved to ids, without repeats.
    pub fn escalation_mentions(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for m in self.escalation.iter().flat_map(|e| e.mentions.iter()) {
            let m = self.resolved_mentions.get(m).unwrap_or(m);
            if !out.contains(m) {
                out.push(m.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VulnerabilityAlert;
    use serde_json::json;

    fn config(v: Value) -> Result<ChannelConfig, FieldErrors> {
        ChannelConfig::from_json(v.as_object().expect("object"), ChannelKind::Slack)
    }

    fn vuln(domain: &str, severity: Severity, category: Option<Category>) -> Alert {
        Alert::Vulnerability(VulnerabilityAlert {
            finding_id: "f".into(),
            domain: domain.into(),
            title: "t".into(),
            severity,
            cvss: None,
            cve: None,
            owasp: None,
            category,
            affected_url: None,
            has_remediation: false,
            reopened: false,
            intel: None,
            now_exploited: false,
        })
    }

    #[test]
    fn filters_by_severity_domain_wildcard_and_category() {
        let c = config(json!({"filters": {"severities": ["critical", "high"], "domains": ["production.example.com", "*.api.example.com"], "categories": ["SQL Injection"]}}))
            .expect("valid");
        assert!(c.wants(&vuln(
            "v1.api.example.com",
            Severity::Critical,
            Some(Category::SqlInjection)
        )));
        assert!(c.wants(&vuln(
            "production.example.com",
            Severity::High,
            Some(Category::SqlInjection)
        )));
        assert!(!c.wants(&vuln(
            "production.example.com",
            Severity::Medium,
            Some(Category::SqlInjection)
        )));
        assert!(!c.wants(&vuln(
            "staging.example.com",
            Severity::Critical,
            Some(Category::SqlInjection)
        )));
        assert!(!c.wants(&vuln(
            "production.example.com",
            Severity::Critical,
            Some(Category::Xss)
        )));
        assert!(!c.wants(&vuln("production.example.com", Severity::Critical, None)));
    }

    #[test]
    fn empty_filters_admit_everything_but_alert_types_still_apply() {
        let c = config(json!({"alert_types": ["scan_completed"]})).expect("valid");
        assert!(!c.wants(&vuln("example.com", Severity::Critical, None)));
        let c = config(json!({})).expect("valid");
        assert!(c.wants(&vuln("example.com", Severity::Info, None)));
        assert_eq!(c.detail, Detail::Full);
        let c = config(json!({"detail": "minimal"})).expect("valid");
        assert_eq!(c.detail, Detail::Minimal);
    }

    #[test]
    fn invalid_rules_name_their_field() {
        let cases = [
            (json!({"alert_types": ["pager"]}), "alert_types[0]"),
            (
                json!({"filters": {"severities": ["urgent"]}}),
                "filters.severities[0]",
            ),
            (
                json!({"filters": {"domains": ["not a domain"]}}),
                "filters.domains[0]",
            ),
            (
                json!({"filters": {"schedule": {"timezone": "Mars/Olympus"}}}),
                "filters.schedule.timezone",
            ),
            (
                json!({"filters": {"schedule": {"start": "25:00"}}}),
                "filters.schedule.start",
            ),
            (
                json!({"filters": {"schedule": {"days": ["funday"]}}}),
                "filters.schedule.days[0]",
            ),
            (
                json!({"mentions": {"critical": ["not a mention!"]}}),
                "mentions.critical[0]",
            ),
            (json!({"format": "html"}), "format"),
            (json!({"detail": "redacted"}), "detail"),
            (json!({"detail": true}), "detail"),
        ];
        for (v, field) in cases {
            let e = config(v.clone()).expect_err("invalid");
            assert_eq!(e.first().map(|e| e.field.as_str()), Some(field), "{v}");
        }
    }

    #[test]
    fn mentions_parse_every_documented_form() {
        for (raw, want) in [
            ("@here", Mention::Here),
            ("<!channel>", Mention::AtChannel),
            ("@everyone", Mention::Everyone),
            ("<@U0123456789>", Mention::User("U0123456789".into())),
            ("U0123456789", Mention::User("U0123456789".into())),
            (
                "<!subteam^S0123456789>",
                Mention::Group("S0123456789".into()),
            ),
            ("S0123456789", Mention::Group("S0123456789".into())),
            ("@alice", Mention::Name("@alice".into())),
            ("#security-alerts", Mention::Name("#security-alerts".into())),
            (
                "alice.smith+sec@example.com",
                Mention::Name("alice.smith+sec@example.com".into()),
            ),
        ] {
            assert_eq!(Mention::parse(raw), Ok(want), "{raw}");
        }
        for bad in [
            "alice@",
            "@alice@example.com",
            "a@b",
            "a b@example.com",
            "a@exa_mple.com",
        ] {
            assert!(Mention::parse(bad).is_err(), "{bad}");
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn a_weekday_window_in_new_york_opens_at_nine_local_time_across_dst() {
        let c = config(json!({"filters": {"schedule": {"days": ["mon","tue","wed","thu","fri"], "start": "09:00", "end": "18:00", "timezone": "America/New_York"}}}))
            .expect("valid");
        // Saturday 2026-03-07 noon EST: closed; opens Monday 2026-03-09 09:00 EDT (after the DST change) = 13:00Z.
        assert_eq!(
            c.due_at(at("2026-03-07T17:00:00Z")),
            at("2026-03-09T13:00:00Z")
        );
        // Friday 2026-10-30 19:00 EDT: closed; opens Monday 2026-11-02 09:00 EST (after DST ends) = 14:00Z.
        assert_eq!(
            c.due_at(at("2026-10-30T23:00:00Z")),
            at("2026-11-02T14:00:00Z")
        );
        // Inside the window: immediate.
        assert_eq!(
            c.due_at(at("2026-03-10T15:00:00Z")),
            at("2026-03-10T15:00:00Z")
        );
    }

    #[test]
    fn a_window_crossing_midnight_is_open_late_and_early() {
        let c = config(json!({"filters": {"schedule": {"start": "22:00", "end": "06:00", "timezone": "Asia/Kolkata"}}})).expect("valid");
        let s = c.filters.schedule.as_ref().expect("schedule");
        assert!(s.is_open(at("2026-06-01T17:00:00Z"))); // 22:30 IST
        assert!(s.is_open(at("2026-06-01T23:00:00Z"))); // 04:30 IST
        assert!(!s.is_open(at("2026-06-01T06:30:00Z"))); // 12:00 IST
        assert_eq!(
            c.due_at(at("2026-06-01T06:30:00Z")),
            at("2026-06-01T16:30:00Z")
        );
    }

    fn window(days: &[&str], start: &str, end: &str, tz: &str) -> Schedule {
        let c = config(json!({"filters": {"schedule": {"days": days, "start": start, "end": end, "timezone": tz}}})).expect("valid");
        c.filters.schedule.expect("schedule")
    }

    #[test]
    fn windows_are_evaluated_in_wall_clock_time_table() {
        let weekdays = ["mon", "tue", "wed", "thu", "fri"];
        let ny = window(&weekdays, "09:00", "18:00", "America/New_York");
        let night = window(&["fri"], "22:00", "06:00", "Europe/Berlin");
        let kolkata = window(&[], "09:30", "17:30", "Asia/Kolkata");
        let cases: [(&Schedule, &str, bool); 14] = [
            // New York, winter (EST, UTC-5) and summer (EDT, UTC-4).
            (&ny, "2026-01-05T14:00:00Z", true),  // Mon 09:00 EST
            (&ny, "2026-01-05T13:59:59Z", false), // Mon 08:59:59 EST
            (&ny, "2026-07-06T13:00:00Z", true),  // Mon 09:00 EDT
            (&ny, "2026-07-06T22:00:00Z", false), // Mon 18:00 EDT: end is exclusive
            (&ny, "2026-03-09T13:00:00Z", true),  // first Monday after the spring change
            (&ny, "2026-11-02T14:00:00Z", true),  // first Monday after the autumn change
            (&ny, "2026-11-02T13:30:00Z", false), // 08:30 EST
            (&ny, "2026-07-04T15:00:00Z", false), // Saturday
            // A Friday-night window crossing midnight, Berlin.
            (&night, "2026-06-05T20:00:00Z", true), // Fri 22:00 CEST
            (&night, "2026-06-06T01:00:00Z", true), // Sat 03:00 CEST, still Friday's window
            (&night, "2026-06-06T04:00:00Z", false), // Sat 06:00: closed
            (&night, "2026-06-08T01:00:00Z", false), // Mon 03:00: Sunday is not in the window
            // Kolkata has no DST and a half-hour offset (UTC+5:30).
            (&kolkata, "2026-06-01T04:00:00Z", true), // 09:30 IST
            (&kolkata, "2026-06-01T03:59:00Z", false),
        ];
        for (w, at_s, open) in cases {
            assert_eq!(w.is_open(at(at_s)), open, "{} at {at_s}", w.timezone);
        }
    }

    #[test]
    fn a_window_starting_in_the_spring_forward_gap_opens_at_the_first_valid_time() {
        // 02:30 does not exist in New York on 2026-03-08; the window opens when the clocks jump to 03:00 EDT.
        let w = window(&["sun"], "02:30", "05:00", "America/New_York");
        let opens = w.next_open(at("2026-03-08T05:00:00Z"));
        assert!(w.is_open(opens), "open at {opens}");
        assert!(
            opens >= at("2026-03-08T07:00:00Z") && opens <= at("2026-03-08T07:30:00Z"),
            "{opens}"
        );
    }
}
