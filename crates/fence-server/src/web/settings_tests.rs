//! The channel list and a preview render with what users and tests rely on.

use super::*;
use crate::web::page::testing::render;

#[test]
fn the_channel_list_and_a_preview_render() {
    let listed = |state, error| ListedChannel {
        id: "c1",
        name: "Alerts <x>",
        kind: "slack",
        channel: "#sec",
        webhook_hint: "hooks.slack.com/…/••••abcd",
        state,
        error,
        hint: "Recreate the webhook",
        warnings: if state == "healthy" {
            vec!["Slack ignores <identity>".to_string()]
        } else {
            vec![]
        },
    };
    let degraded = ListedChannel {
        hint: "Invite it: /invite @Fence to #sec",
        ..listed("degraded", "not_in_channel")
    };
    let ctx = ChannelsPage {
        usage: usage(Plan::Startup, 2),
        can_edit: true,
        can_add: true,
        channels: vec![
            listed("healthy", ""),
            listed("broken", "no_service"),
            degraded,
        ],
    };
    let out = render("web/channels.html", ctx);
    assert!(
        out.contains("2 of 5 channels used on the startup plan."),
        "{out}"
    );
    assert!(out.contains("id=add-slack") && out.contains("<th>Health</th>"));
    assert!(out.contains("<span class=\"healthy\">healthy</span>"));
    assert!(out.contains("<span class=\"broken\">broken: no_service</span>"));
    assert!(
        out.contains("<span class=\"degraded\">degraded: not_in_channel</span><br><span class=muted>Invite it: &#x2f;invite @Fence to #sec</span>"),
        "{out}"
    );
    assert!(out.contains("Alerts &lt;x&gt;"));
    assert_eq!(
        out.matches("<span class=warning>⚠ Slack ignores &lt;identity&gt;</span>")
            .count(),
        1,
        "{out}"
    );
    let full = ChannelsPage {
        usage: usage(Plan::Hobby, 0),
        can_edit: true,
        can_add: false,
        channels: vec![],
    };
    let out = render("web/channels.html", full);
    assert!(out.contains("channel limit is reached") && out.contains("No channels yet."));
    let message = serde_json::json!({"text": "*&lt;b&gt;*"});
    let preview = Preview {
        id: "c1",
        headline: "🚨 <Critical>",
        look: crate::web::slack_look::look(&message, fence_core::ChannelKind::Slack),
        message: "{\"text\": \"<b>\"}".into(),
        types: vec![
            PreviewType {
                value: "vulnerability",
                label: "Vulnerabilities",
                current: true,
            },
            PreviewType {
                value: "digest",
                label: "Digest",
                current: false,
            },
        ],
    };
    let out = render("web/channel_preview.html", preview);
    assert!(out.contains("<h2>🚨 &lt;Critical&gt;</h2>"), "{out}");
    // The message as Slack shows it (bold, escaped), and links to the other alert types.
    assert!(out.contains("<b>&lt;b&gt;</b>"), "{out}");
    assert!(out.contains("<b>Vulnerabilities</b> · <a href=\"/settings/notifications/c1/preview?type=digest\">Digest</a>"), "{out}");
    assert!(out.contains("<pre>{&quot;text&quot;: &quot;&lt;b&gt;&quot;}</pre>"));
}
