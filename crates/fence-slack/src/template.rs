//! Custom payloads: a channel's Jinja2 template (minijinja), rendered in a sandbox with bounded fuel and output,
//! with every value escaped for Slack and for JSON so the output is always valid JSON and cannot mention anyone or
//! inject a link, then checked against Slack's limits.

use crate::escape::bounded;
use crate::limits::check_message;
use minijinja::value::{Value as JValue, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Output, State};
use serde_json::Value;

pub mod bound;
mod vars;
pub use vars::{
    coalesced_variables, gathered_variables, handles_coalesced, minimal_variables, sample,
    sample_burst, variables,
};

/// Instructions a template may execute before it is stopped.
const FUEL: u64 = 50_000;
/// Largest rendered template.
pub const MAX_OUTPUT: usize = 64 * 1024;
/// Longest value inserted into a template.
const MAX_VALUE: usize = 3000;

/// Why a template cannot be used, with the line when the template itself is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn from_jinja(e: &Error) -> TemplateError {
    let message = match e.kind() {
        ErrorKind::OutOfFuel => {
            "the template ran too long (fuel exhausted); simplify its loops".to_string()
        }
        _ => e
            .detail()
            .map(str::to_string)
            .unwrap_or_else(|| e.kind().to_string()),
    };
    TemplateError {
        line: e.line(),
        message,
    }
}

/// Writes a value so it is safe inside a JSON string and inert in Slack: `&`, `<`, `>` escaped and links defanged,
/// then JSON string escaping (quotes, backslashes, control characters), bounded in length.
fn formatter(out: &mut Output<'_>, _state: &State<'_, '_>, value: &JValue) -> Result<(), Error> {
    if value.is_safe() {
        // `VERBATIM` and `MARKUP` values: written as they are, only JSON-escaped.
        let text = value.to_string();
        let json = serde_json::to_string(&text).unwrap_or_default();
        return out.write_str(&json[1..json.len() - 1]).map_err(Error::from);
    }
    let text = match value.kind() {
        ValueKind::Undefined | ValueKind::None => String::new(),
        // JSON's spelling, so `"reopened": {{ reopened }}` stays valid JSON.
        ValueKind::Bool => value.is_true().to_string(),
        ValueKind::Seq | ValueKind::Map => value.to_string(),
        _ => value.to_string(),
    };
    let slack = bounded(&text, MAX_VALUE);
    let json = serde_json::to_string(&slack).unwrap_or_default();
    out.write_str(&json[1..json.len() - 1]).map_err(Error::from)
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_formatter(formatter);
    env.set_recursion_limit(20);
    env
}

/// Variables written as they are (not escaped as free text), so a template can put them in a link field: validated
/// host names and URLs that Fence built or validated.
const VERBATIM: [&str; 5] = [
    "domain",
    "affected_url",
    "finding_url",
    "report_url",
    "renew_url",
];

/// Variables that are Slack markup Fence made from validated configuration: `mentions` (`<@U…>`, `<!subteam^S…>`),
/// so `{{ mentions }}` notifies.
const MARKUP: [&str; 1] = ["mentions"];

/// The variables as template values: `VERBATIM` and `MARKUP` strings marked safe, everything else as data.
fn template_value(key: Option<&str>, v: &Value) -> JValue {
    match v {
        Value::String(s) if key.is_some_and(|k| VERBATIM.contains(&k)) => {
            // A link field takes the URL as it is; angle brackets could only end Slack's link syntax.
            JValue::from_safe_string(s.replace('<', "%3C").replace('>', "%3E"))
        }
        Value::String(s) if key.is_some_and(|k| MARKUP.contains(&k)) => {
            JValue::from_safe_string(s.clone())
        }
        Value::Object(m) => JValue::from_iter(
            m.iter()
                .map(|(k, v)| (k.clone(), template_value(Some(k), v))),
        ),
        Value::Array(a) => JValue::from_iter(a.iter().map(|v| template_value(None, v))),
        other => JValue::from_serialize(other),
    }
}

/// Alert types whose `title` Fence writes itself from validated values (a host name, a digest's label), so it is
/// shown as it is; a finding's title is the scanner's text and stays escaped.
const FENCE_TITLED: [&str; 3] = ["certificate_expiring", "scan_completed", "digest"];

/// The template's root value: every variable through [`template_value`], and Fence's own `title` verbatim.
fn root_value(vars: &Value) -> JValue {
    let Value::Object(m) = vars else {
        return template_value(None, vars);
    };
    let fence_titled = m
        .get("alert_type")
        .and_then(Value::as_str)
        .is_some_and(|t| FENCE_TITLED.contains(&t));
    JValue::from_iter(m.iter().map(|(k, v)| match v {
        Value::String(s) if fence_titled && k == "title" => (
            k.clone(),
            JValue::from_safe_string(s.replace('<', "%3C").replace('>', "%3E")),
        ),
        _ => (k.clone(), template_value(Some(k), v)),
    }))
}

/// The rendered text, refusing to grow past [`MAX_OUTPUT`] (one byte over, so an overflow is told apart).
struct BoundedOutput(Vec<u8>);

impl std::io::Write for BoundedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_OUTPUT {
            self.0.resize(MAX_OUTPUT + 1, 0);
            return Err(std::io::Error::other("template output limit"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Renders `source` with `vars` into a message, or says why it cannot: its syntax is checked first for values that
/// could outgrow the output ([`bound`]), then it runs with bounded fuel and output.
pub fn render(source: &str, vars: &Value) -> Result<Value, TemplateError> {
    bound::check(source, &bound::Size::of_variables(vars)).map_err(|e| TemplateError {
        line: Some(e.line),
        message: e.message,
    })?;
    let env = environment();
    let tmpl = env.template_from_str(source).map_err(|e| from_jinja(&e))?;
    let mut out = BoundedOutput(Vec::new());
    if let Err(e) = tmpl.render_captured_to(root_value(vars), &mut out) {
        if out.0.len() > MAX_OUTPUT {
            return Err(TemplateError {
                line: None,
                message: format!("the output is over {MAX_OUTPUT} bytes"),
            });
        }
        return Err(from_jinja(&e));
    }
    let out = String::from_utf8_lossy(&out.0);
    let mut msg: Value = serde_json::from_str(&out).map_err(|e| TemplateError {
        line: Some(e.line()),
        message: format!("the output is not valid JSON: {e}"),
    })?;
    if !msg.is_object() {
        return Err(TemplateError {
            line: None,
            message: "the output must be a JSON object (a Slack message)".into(),
        });
    }
    check_message(&msg).map_err(|e| TemplateError {
        line: None,
        message: format!("the message breaks Slack's limits: {e}"),
    })?;
    // No previews of links unless the template asks for them.
    if let Some(o) = msg.as_object_mut() {
        o.entry("unfurl_links").or_insert(Value::Bool(false));
        o.entry("unfurl_media").or_insert(Value::Bool(false));
    }
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The seed's example, verbatim.
    const SEED: &str = r#"{
"text": "Security Alert for {{ domain }}",
"blocks": [
{
"type": "header",
"text": {"type": "plain_text", "text": "{{ title }}"}
},
{
"type": "section",
"text": {"type": "mrkdwn", "text": "*CVSS:* {{ cvss_score }}\n*CVE:* {{ cve_id }}"}
}
]
}"#;

    #[test]
    fn the_seed_template_renders() {
        let msg = render(SEED, &json!({"domain": "example.com", "title": "SQL Injection in login form", "cvss_score": 9.8, "cve_id": "CVE-2024-12345"})).expect("renders");
        assert_eq!(msg["text"], "Security Alert for example.com");
        assert_eq!(
            msg["blocks"][0]["text"]["text"],
            "SQL Injection in login form"
        );
        assert_eq!(
            msg["blocks"][1]["text"]["text"],
            "*CVSS:* 9.8\n*CVE:* CVE-2024-12345"
        );
    }

    #[test]
    fn any_value_keeps_the_output_valid_json_without_markup() {
        // A deterministic generator of nasty strings: quotes, backslashes, newlines, controls, markup, unicode.
        let alphabet: Vec<char> = "\"\\\n\r\t<>&!@#{}[]|:/.aZ09 \u{0}\u{1f}\u{2028}é🚨"
            .chars()
            .collect();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..500 {
            let mut s = String::new();
            for _ in 0..(seed % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let msg = render(
                SEED,
                // The header needs a character (Slack refuses an empty one).
                &json!({"domain": s, "title": format!("t{s}"), "cvss_score": s, "cve_id": s}),
            )
            .expect("valid JSON whatever the value");
            let text = msg.to_string();
            assert!(!text.contains('<'), "no unescaped < in {text}");
        }
        let msg = render(SEED, &json!({"domain": "x", "title": "<!channel> \"q\" \\ \n <https://evil|x>", "cvss_score": 1, "cve_id": null})).expect("renders");
        assert_eq!(
            msg["blocks"][0]["text"]["text"],
            "&lt;!channel&gt; \"q\" \\ \n &lt;`https://evil|x`&gt;"
        );
    }

    #[test]
    fn every_alert_type_has_its_variables() {
        use fence_core::AlertType;
        let cases = [
            (AlertType::Vulnerability, "{{ severity_label }} {{ cve_id }} {{ category }} {{ finding_url }} {{ reopened }} {{ remediation }}", "CRITICAL CVE-2024-12345 SQL Injection https://fence.test/findings/sample false Fix it."),
            (AlertType::Reminder, "{{ alert_type }} {{ days_open }} {{ title }}", "reminder 3 SQL Injection in login form"),
            (AlertType::CertificateExpiring, "{{ certificate.expires }} {{ certificate.issuer }} {{ certificate.sans | length }}", "February 3, 2025 (14 days) Let's Encrypt 2"),
            (AlertType::ScanCompleted, "{{ scan.duration }} {{ scan.high }} {{ scan.medium }}", "4m 32s 2 7"),
            (AlertType::Digest, "{{ digest.label }} {{ digest.new_vulnerabilities }} {{ digest.top[0].title }}", "Daily 8 SQL Injection"),
        ];
        for (t, body, want) in cases {
            let vars = variables(&sample(t), "https://fence.test", "", None, Some("Fix it."));
            let msg = render(&format!("{{\"text\": \"{body}\"}}"), &vars).expect("renders");
            assert_eq!(msg["text"], want, "{t:?}");
        }
    }

    #[test]
    fn runaway_templates_run_out_of_fuel() {
        let e = render(
            "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}{}",
            &json!({}),
        )
        .expect_err("fuel");
        assert!(e.message.contains("fuel"), "{e}");
    }

    #[test]
    fn syntax_errors_and_bad_output_name_the_line() {
        let e =
            render("{\n\"text\": \"{{ title }\"\n}", &json!({"title": "t"})).expect_err("syntax");
        assert_eq!(e.line, Some(2), "{e}");
        // Invalid JSON is located in the rendered output, where serde noticed it (here just after line 2).
        let e =
            render("{\n\"text\": {{ title }}\n}", &json!({"title": "t"})).expect_err("not JSON");
        assert!(matches!(e.line, Some(2 | 3)), "{e}");
        assert!(render("[1, 2]", &json!({})).is_err());
        let e = render(r#"{"text": "x", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "{{ title }}"}}]}"#, &json!({"title": "h".repeat(200)})).expect_err("limits");
        assert!(e.message.contains("150"), "{e}");
    }

    #[test]
    fn mentions_notify_and_link_variables_work_in_link_fields() {
        let source = r#"{"text": "{{ mentions }} {{ title }}", "blocks": [{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": "{{ finding_url }}"}]}]}"#;
        let vars = json!({"mentions": "<@U0123456789> <!subteam^S0123456789>", "title": "<!channel> at evil.com",
                          "finding_url": "https://fence.test/findings/abc?x=1&y=2"});
        let msg = render(source, &vars).expect("renders");
        assert_eq!(
            msg["text"],
            "<@U0123456789> <!subteam^S0123456789> &lt;!channel&gt; at `evil.com`"
        );
        assert_eq!(
            msg["blocks"][0]["elements"][0]["url"],
            "https://fence.test/findings/abc?x=1&y=2"
        );
    }
}
