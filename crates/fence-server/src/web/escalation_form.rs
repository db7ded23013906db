//! The channel form's escalation inputs: `escalation_after` (empty: no escalation), `escalation_severities` and
//! `escalation_mentions` (space-separated, like the other mentions), to and from the channel object's `escalation`.

use serde::Serialize;
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EscalationInput {
    pub after: String,
    pub severities: Vec<String>,
    pub mentions: String,
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl EscalationInput {
    pub fn from_json(e: &Value) -> EscalationInput {
        EscalationInput {
            after: e["after"].as_str().unwrap_or_default().to_string(),
            severities: strs(&e["severities"]),
            mentions: strs(&e["mentions"]).join(" "),
        }
    }

    pub fn from_submitted(form: &[(String, String)]) -> EscalationInput {
        EscalationInput {
            after: super::field(form, "escalation_after").to_string(),
            severities: super::fields(form, "escalation_severities")
                .into_iter()
                .map(str::to_string)
                .collect(),
            mentions: super::field(form, "escalation_mentions").to_string(),
        }
    }

    /// `escalation`: null without a delay.
    pub fn to_json(&self) -> Value {
        match self.after.trim() {
            "" => Value::Null,
            after => json!({
                "after": after,
                "severities": self.severities,
                "mentions": self.mentions.split_whitespace().collect::<Vec<_>>(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inputs_round_trip_and_an_empty_delay_is_no_escalation() {
        let e = json!({"after": "30m", "severities": ["critical"], "mentions": ["<!subteam^S0SEC>", "@oncall"]});
        let input = EscalationInput::from_json(&e);
        assert_eq!(input.mentions, "<!subteam^S0SEC> @oncall");
        assert_eq!(input.to_json(), e);
        let form: Vec<(String, String)> =
            [("escalation_after", " "), ("escalation_mentions", "@x")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        assert_eq!(
            EscalationInput::from_submitted(&form).to_json(),
            Value::Null
        );
    }
}
