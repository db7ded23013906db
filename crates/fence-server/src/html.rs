//! HTML from templates (`templates/`, compiled into the binary): one minijinja environment that escapes every value
//! it prints, so text from scanners, users or Slack can never become markup. Used by the web UI and the Slack app's
//! pages.

use minijinja::{AutoEscape, Environment};
use serde::Serialize;
use std::sync::OnceLock;

/// Every template, by name: the Slack app's page and the web UI's layouts, macros and pages.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "slack_page.html",
        include_str!("../templates/slack_page.html"),
    ),
    ("web/base.html", include_str!("../templates/web/base.html")),
    (
        "web/users.html",
        include_str!("../templates/web/users.html"),
    ),
    (
        "web/silences.html",
        include_str!("../templates/web/silences.html"),
    ),
    (
        "web/slack_look.html",
        include_str!("../templates/web/slack_look.html"),
    ),
    (
        "web/profile.html",
        include_str!("../templates/web/profile.html"),
    ),
    ("web/bare.html", include_str!("../templates/web/bare.html")),
    (
        "web/macros.html",
        include_str!("../templates/web/macros.html"),
    ),
    (
        "web/message.html",
        include_str!("../templates/web/message.html"),
    ),
    (
        "web/notice.html",
        include_str!("../templates/web/notice.html"),
    ),
    (
        "web/login.html",
        include_str!("../templates/web/login.html"),
    ),
    (
        "web/login_expired.html",
        include_str!("../templates/web/login_expired.html"),
    ),
    (
        "web/dashboard.html",
        include_str!("../templates/web/dashboard.html"),
    ),
    (
        "web/findings.html",
        include_str!("../templates/web/findings.html"),
    ),
    (
        "web/finding.html",
        include_str!("../templates/web/finding.html"),
    ),
    (
        "web/scans.html",
        include_str!("../templates/web/scans.html"),
    ),
    ("web/scan.html", include_str!("../templates/web/scan.html")),
    (
        "web/domain.html",
        include_str!("../templates/web/domain.html"),
    ),
    (
        "web/certificate_docs.html",
        include_str!("../templates/web/certificate_docs.html"),
    ),
    (
        "web/channels.html",
        include_str!("../templates/web/channels.html"),
    ),
    (
        "web/channel_form.html",
        include_str!("../templates/web/channel_form.html"),
    ),
    (
        "web/channel_preview.html",
        include_str!("../templates/web/channel_preview.html"),
    ),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        // Printing a variable the page does not have is an error (a typo), not an empty string.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                // A template that does not parse is a build defect; the test below finds it first.
                tracing::error!(template = name, error = %e, "template does not parse");
            }
        }
        env
    })
}

/// Renders a template with `ctx`; a failure is logged and shows a short error page instead.
pub fn render<S: Serialize>(name: &str, ctx: S) -> String {
    match env().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(template = name, error = %e, "template failed to render");
            "<!doctype html><meta charset=utf-8><title>Fence</title><p>This page could not be shown; see the server log.</p>".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for (name, source) in TEMPLATES {
            let mut env = Environment::new();
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn values_are_escaped() {
        let out = render(
            "slack_page.html",
            minijinja::context! { text => "<script>x</script> & \"q\"" },
        );
        assert!(
            out.contains("&lt;script&gt;x&lt;&#x2f;script&gt; &amp; &quot;q&quot;"),
            "{out}"
        );
        assert!(!out.contains("<script>"));
    }
}
