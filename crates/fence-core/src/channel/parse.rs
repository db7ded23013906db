//! Parsers of a channel's rule fields from the API's JSON: alert types, string lists, filters with their time-window
//! schedule, reminders, mentions, format, digest, template and the object-valued fields. Each error is pushed with the
//! field it names.

use super::{
    parse_every, ChannelConfig, ChannelKind, Filters, Mention, MessageFormat, Reminders, Schedule,
};
use crate::{AlertType, Category, FieldError, FieldErrors, Severity};
use jiff::{civil, tz::TimeZone};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `alert_types`: the listed alert types, or the defaults when absent or null.
pub(super) fn parse_alert_types(
    obj: &Map<String, Value>,
    errs: &mut FieldErrors,
) -> Vec<AlertType> {
    match obj.get("alert_types") {
        None | Some(Value::Null) => ChannelConfig::DEFAULT_ALERT_TYPES.to_vec(),
        Some(v) => {
            let types: Vec<AlertType> = list(v, "alert_types", errs, AlertType::parse);
            if types.len() > 5 {
                errs.push(FieldError::new(
                    "alert_types",
                    "lists at most the five alert types",
                ));
            }
            types
        }
    }
}

/// `filters`: an object of filters, or no filters when absent or null.
pub(super) fn parse_filters_field(obj: &Map<String, Value>, errs: &mut FieldErrors) -> Filters {
    match obj.get("filters") {
        None | Some(Value::Null) => Filters::default(),
        Some(Value::Object(f)) => parse_filters(f, errs),
        Some(_) => {
            errs.push(FieldError::new("filters", "must be an object"));
            Filters::default()
        }
    }
}

/// `mentions`: an object from severity or alert type to mentions, or none when absent or null.
pub(super) fn parse_mentions_field(
    obj: &Map<String, Value>,
    errs: &mut FieldErrors,
) -> BTreeMap<String, Vec<String>> {
    match obj.get("mentions") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(m)) => parse_mentions(m, errs),
        Some(_) => {
            errs.push(FieldError::new(
                "mentions",
                "must be an object such as {\"critical\": [\"@security-team\"]}",
            ));
            BTreeMap::new()
        }
    }
}

/// `format`: blocks or attachments, defaulting by `kind`; Mattermost has no blocks.
pub(super) fn parse_format(
    obj: &Map<String, Value>,
    kind: ChannelKind,
    errs: &mut FieldErrors,
) -> MessageFormat {
    let format = match obj.get("format").and_then(Value::as_str) {
        None => match kind {
            ChannelKind::Slack => MessageFormat::Blocks,
            ChannelKind::Mattermost => MessageFormat::Attachments,
        },
        Some("blocks") if kind == ChannelKind::Mattermost => {
            errs.push(FieldError::new(
                "format",
                "Mattermost has no Block Kit; use \"attachments\"",
            ));
            MessageFormat::Attachments
        }
        Some("blocks") => MessageFormat::Blocks,
        Some("attachments") => MessageFormat::Attachments,
        Some(other) => {
            errs.push(FieldError::new(
                "format",
                format!("unknown format {other:?}; expected blocks or attachments"),
            ));
            MessageFormat::Blocks
        }
    };
    if obj
        .get("format")
        .is_some_and(|v| !v.is_string() && !v.is_null())
    {
        errs.push(FieldError::new("format", "must be a string"));
    }
    format
}

/// The object at `key` as given, or `None` when absent or null.
/// `detail`: `"full"` (or absent, or null) or `"minimal"`.
pub(super) fn parse_detail(obj: &Map<String, Value>, errs: &mut FieldErrors) -> super::Detail {
    match obj.get("detail") {
        None | Some(Value::Null) => super::Detail::Full,
        Some(Value::String(s)) if s == "full" => super::Detail::Full,
        Some(Value::String(s)) if s == "minimal" => super::Detail::Minimal,
        Some(_) => {
            errs.push(FieldError::new(
                "detail",
                "must be \"full\" or \"minimal\" (only the alert type, severity, counts and a link)",
            ));
            super::Detail::Full
        }
    }
}

pub(super) fn object_or_null(
    obj: &Map<String, Value>,
    key: &str,
    errs: &mut FieldErrors,
) -> Option<Value> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => {
            errs.push(FieldError::new(key, "must be an object"));
            None
        }
    }
}

/// The `digest` object parsed into a schedule, its errors added to `errs`.
pub(super) fn parse_digest_schedule(
    digest: Option<&Value>,
    errs: &mut FieldErrors,
) -> Option<crate::digest::DigestSchedule> {
    match digest.and_then(Value::as_object) {
        None => None,
        Some(d) => match crate::digest::DigestSchedule::from_json(d) {
            Ok(s) => Some(s),
            Err(e) => {
                errs.0.extend(e.0);
                None
            }
        },
    }
}

/// `resolved_mentions`: the entries whose values are mention ids; anything else is dropped silently.
pub(super) fn parse_resolved_mentions(obj: &Map<String, Value>) -> BTreeMap<String, String> {
    obj.get("resolved_mentions")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .take(crate::MAX_LIST_ITEMS)
                .filter_map(|(k, v)| {
                    Some((
                        k.clone(),
                        v.as_str()
                            .filter(|v| {
                                Mention::parse(v).is_ok_and(|m| !matches!(m, Mention::Name(_)))
                            })?
                            .to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `template`: a message template of at most 20000 characters; blank means none.
pub(super) fn parse_template(obj: &Map<String, Value>, errs: &mut FieldErrors) -> Option<String> {
    match obj.get("template") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) if s.len() <= 20_000 => Some(s.clone()),
        Some(Value::String(_)) => {
            errs.push(FieldError::new(
                "template",
                "must be at most 20000 characters",
            ));
            None
        }
        Some(_) => {
            errs.push(FieldError::new("template", "must be a string"));
            None
        }
    }
}

pub(super) fn list<T>(
    v: &Value,
    field: &str,
    errs: &mut FieldErrors,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Vec<T> {
    let Some(items) = v.as_array() else {
        errs.push(FieldError::new(field, "must be a list"));
        return Vec::new();
    };
    if let Some(e) = crate::too_many_items(field, items.len()) {
        errs.push(e);
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item
            .as_str()
            .ok_or_else(|| "must be a string".to_string())
            .and_then(&parse)
        {
            Ok(t) => out.push(t),
            Err(e) => errs.push(FieldError::new(format!("{field}[{i}]"), e)),
        }
    }
    out
}

/// `filters.known_exploited` (a bool) and `filters.min_epss` (0–1).
fn parse_exploitability(f: &Map<String, Value>, errs: &mut FieldErrors) -> (bool, Option<f64>) {
    let get = |k: &str| f.get(k).filter(|v| !v.is_null());
    let known_exploited = match get("known_exploited") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errs.push(FieldError::new(
                "filters.known_exploited",
                "must be true or false",
            ));
            false
        }
    };
    let min_epss = match get("min_epss") {
        None => None,
        Some(v) => match v.as_f64().filter(|x| (0.0..=1.0).contains(x)) {
            Some(x) => Some(x),
            None => {
                errs.push(FieldError::new(
                    "filters.min_epss",
                    "must be a number from 0 to 1",
                ));
                None
            }
        },
    };
    (known_exploited, min_epss)
}

pub(super) fn parse_filters(f: &Map<String, Value>, errs: &mut FieldErrors) -> Filters {
    const KEYS: [&str; 7] = [
        "severities",
        "domains",
        "categories",
        "tags",
        "schedule",
        "known_exploited",
        "min_epss",
    ];
    for k in f.keys().filter(|k| !KEYS.contains(&k.as_str())) {
        errs.push(FieldError::new(
            format!("filters.{k}"),
            "unknown filter; expected severities, domains, categories, tags, schedule, known_exploited or min_epss",
        ));
    }
    let get = |k: &str| f.get(k).filter(|v| !v.is_null());
    let severities: Vec<crate::Severity> = get("severities")
        .map(|v| list(v, "filters.severities", errs, |s| s.parse()))
        .unwrap_or_default();
    if severities.len() > crate::Severity::ALL.len() {
        errs.push(FieldError::new(
            "filters.severities",
            "lists at most the five severities",
        ));
    }
    let domains = get("domains")
        .map(|v| {
            list(
                v,
                "filters.domains",
                errs,
                crate::domain::DomainPattern::parse,
            )
        })
        .unwrap_or_default();
    let categories = get("categories")
        .map(|v| list(v, "filters.categories", errs, Category::parse))
        .unwrap_or_default();
    let tags = get("tags")
        .map(|v| {
            list(v, "filters.tags", errs, |t| {
                let t = t.trim();
                if t.is_empty() || t.len() > 64 {
                    Err("must be a domain tag of 1 to 64 characters".to_string())
                } else {
                    Ok(t.to_string())
                }
            })
        })
        .unwrap_or_default();
    let (known_exploited, min_epss) = parse_exploitability(f, errs);
    let schedule = match get("schedule") {
        None => None,
        Some(Value::Object(s)) => parse_schedule(s, errs),
        Some(_) => {
            errs.push(FieldError::new(
                "filters.schedule",
                "must be an object or null",
            ));
            None
        }
    };
    Filters {
        known_exploited,
        min_epss,
        severities,
        domains,
        categories,
        tags,
        schedule,
    }
}

fn parse_weekday(s: &str) -> Result<civil::Weekday, String> {
    use civil::Weekday::*;
    Ok(match s.trim().to_ascii_lowercase().get(..3).unwrap_or("") {
        "mon" => Monday,
        "tue" => Tuesday,
        "wed" => Wednesday,
        "thu" => Thursday,
        "fri" => Friday,
        "sat" => Saturday,
        "sun" => Sunday,
        _ => {
            return Err(format!(
                "{s:?} is not a weekday; expected mon, tue, wed, thu, fri, sat or sun"
            ))
        }
    })
}

fn parse_time(s: &str) -> Result<civil::Time, String> {
    let bad = || format!("{s:?} is not a time; expected HH:MM such as 09:00");
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    let h: i8 = h.parse().map_err(|_| bad())?;
    let m: i8 = m.parse().map_err(|_| bad())?;
    civil::Time::new(h, m, 0, 0).map_err(|_| bad())
}

fn parse_schedule(s: &Map<String, Value>, errs: &mut FieldErrors) -> Option<Schedule> {
    let before = errs.0.len();
    let days = s
        .get("days")
        .filter(|v| !v.is_null())
        .map(|v| list(v, "filters.schedule.days", errs, parse_weekday))
        .unwrap_or_default();
    let mut time = |key: &str, default: civil::Time| match s.get(key) {
        None | Some(Value::Null) => default,
        Some(v) => match v
            .as_str()
            .ok_or_else(|| "must be a string".to_string())
            .and_then(parse_time)
        {
            Ok(t) => t,
            Err(e) => {
                errs.push(FieldError::new(format!("filters.schedule.{key}"), e));
                default
            }
        },
    };
    let start = time("start", civil::Time::midnight());
    let end = time("end", civil::Time::midnight());
    let timezone = match s.get("timezone") {
        None | Some(Value::Null) => "UTC".to_string(),
        Some(Value::String(z)) => z.clone(),
        Some(_) => {
            errs.push(FieldError::new(
                "filters.schedule.timezone",
                "must be a string",
            ));
            "UTC".to_string()
        }
    };
    let tz = match TimeZone::get(&timezone) {
        Ok(tz) => Some(tz),
        Err(_) => {
            errs.push(FieldError::new(
                "filters.schedule.timezone",
                format!("{timezone:?} is not an IANA time zone such as America/New_York"),
            ));
            None
        }
    };
    (errs.0.len() == before).then_some(Schedule {
        days,
        start,
        end,
        timezone,
        tz,
    })
}

pub(super) fn parse_reminders(v: &Value, errs: &mut FieldErrors) -> Option<Reminders> {
    let obj = v.as_object()?;
    for k in obj
        .keys()
        .filter(|k| !["every", "severities"].contains(&k.as_str()))
    {
        errs.push(FieldError::new(
            format!("reminders.{k}"),
            "unknown field; expected every or severities",
        ));
    }
    let every_ms = match obj.get("every") {
        None | Some(Value::Null) => 24 * 3_600_000,
        Some(Value::String(s)) => match parse_every(s) {
            Ok(ms) if ms >= 60_000 => ms,
            Ok(_) => {
                errs.push(FieldError::new("reminders.every", "must be at least 1m"));
                return None;
            }
            Err(e) => {
                errs.push(FieldError::new("reminders.every", e));
                return None;
            }
        },
        Some(_) => {
            errs.push(FieldError::new(
                "reminders.every",
                "must be a duration such as \"24h\"",
            ));
            return None;
        }
    };
    let severities = obj
        .get("severities")
        .filter(|v| !v.is_null())
        .map(|v| list(v, "reminders.severities", errs, |s| s.parse()))
        .unwrap_or_default();
    Some(Reminders {
        every_ms,
        severities,
    })
}

pub(super) fn parse_mentions(
    m: &Map<String, Value>,
    errs: &mut FieldErrors,
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (key, v) in m {
        let field = format!("mentions.{key}");
        if key.parse::<Severity>().is_err()
            && AlertType::parse(key).is_err()
            && key != super::KNOWN_EXPLOITED
        {
            errs.push(FieldError::new(
                &field,
                "unknown key; use a severity (critical, high, …), an alert type or known_exploited",
            ));
            continue;
        }
        let items = list(v, &field, errs, |s| {
            Mention::parse(s).map(|_| s.trim().to_string())
        });
        out.insert(key.clone(), items);
    }
    out
}
