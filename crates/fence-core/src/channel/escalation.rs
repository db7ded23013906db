//! A channel's `escalation`: re-notify listed people when findings alerted there are still open and unacknowledged
//! `after` their alert was delivered — `{"after": "30m", "severities": ["critical"], "mentions": ["<!subteam^S…>"]}`.

use super::parse::list;
use super::{parse_every, Mention};
use crate::{FieldError, FieldErrors, Severity};
use serde_json::Value;

/// A channel's escalation rule, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub after_ms: i64,
    /// `after` as it is shown: "30m".
    pub after: String,
    /// Empty: every severity.
    pub severities: Vec<Severity>,
    /// As typed; names are resolved to ids when the channel is saved, like the other mentions.
    pub mentions: Vec<String>,
}

impl Escalation {
    pub fn covers(&self, s: Severity) -> bool {
        self.severities.is_empty() || self.severities.contains(&s)
    }
}

pub(super) fn parse_escalation(v: &Value, errs: &mut FieldErrors) -> Option<Escalation> {
    let obj = v.as_object()?;
    for k in obj
        .keys()
        .filter(|k| !["after", "severities", "mentions"].contains(&k.as_str()))
    {
        errs.push(FieldError::new(
            format!("escalation.{k}"),
            "unknown field; expected after, severities or mentions",
        ));
    }
    let after = match obj.get("after") {
        Some(Value::String(s)) => s.trim().to_string(),
        None | Some(Value::Null) => {
            errs.push(FieldError::new(
                "escalation.after",
                "is required, such as \"30m\"",
            ));
            return None;
        }
        Some(_) => {
            errs.push(FieldError::new(
                "escalation.after",
                "must be a duration such as \"30m\"",
            ));
            return None;
        }
    };
    let after_ms = match parse_every(&after) {
        Ok(ms) if ms >= 1_000 => ms,
        Ok(_) => {
            errs.push(FieldError::new("escalation.after", "must be at least 1s"));
            return None;
        }
        Err(e) => {
            errs.push(FieldError::new("escalation.after", e));
            return None;
        }
    };
    let severities = obj
        .get("severities")
        .filter(|v| !v.is_null())
        .map(|v| list(v, "escalation.severities", errs, |s| s.parse()))
        .unwrap_or_default();
    let mentions = obj
        .get("mentions")
        .filter(|v| !v.is_null())
        .map(|v| {
            list(v, "escalation.mentions", errs, |s| {
                Mention::parse(s).map(|_| s.trim().to_string())
            })
        })
        .unwrap_or_default();
    Some(Escalation {
        after_ms,
        after,
        severities,
        mentions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> (Option<Escalation>, Vec<String>) {
        let mut errs = FieldErrors::default();
        let e = parse_escalation(&v, &mut errs);
        (e, errs.0.into_iter().map(|f| f.field).collect())
    }

    #[test]
    fn a_rule_parses_and_covers_its_severities() {
        let (e, errs) = parse(
            json!({"after": "30m", "severities": ["critical"], "mentions": ["<!subteam^S0SEC>", "@oncall"]}),
        );
        assert!(errs.is_empty(), "{errs:?}");
        let e = e.expect("rule");
        assert_eq!((e.after_ms, e.after.as_str()), (1_800_000, "30m"));
        assert!(e.covers(Severity::Critical) && !e.covers(Severity::High));
        assert_eq!(e.mentions.len(), 2);
        let (e, _) = parse(json!({"after": "1s"}));
        assert!(
            e.is_some_and(|e| e.covers(Severity::Low)),
            "no severities: all of them"
        );
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(parse(json!({})).1, ["escalation.after"]);
        assert_eq!(parse(json!({"after": "0s"})).1, ["escalation.after"]);
        assert_eq!(parse(json!({"after": "soon"})).1, ["escalation.after"]);
        assert_eq!(
            parse(json!({"after": "1m", "severities": ["urgent"]})).1,
            ["escalation.severities[0]"]
        );
        assert_eq!(
            parse(json!({"after": "1m", "mentions": ["<@nope>"]})).1,
            ["escalation.mentions[0]"]
        );
        assert_eq!(
            parse(json!({"after": "1m", "who": []})).1,
            ["escalation.who"]
        );
    }
}
