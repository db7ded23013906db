//! `fence check-webhook`: one test message to a webhook URL, and Slack's answer with the troubleshooting hint.

use fence_core::ChannelKind;
use fence_server::config::Config;

pub async fn check_webhook(
    config: &Config,
    url: &str,
    kind: &str,
    json: bool,
) -> anyhow::Result<()> {
    let kind = ChannelKind::parse(kind).map_err(anyhow::Error::msg)?;
    let hosts = fence_slack::WebhookHosts::parse(&config.delivery.webhook_hosts)
        .map_err(anyhow::Error::msg)?;
    let url = fence_slack::WebhookUrl::parse(url, kind, &hosts)
        .map_err(|e| anyhow::anyhow!("webhook URL {e}"))?;
    let client = fence_slack::WebhookClient::new(std::time::Duration::from_secs(10))
        .map_err(anyhow::Error::msg)?;
    let outcome = client
        .post(
            &url,
            &fence_slack::render::test_message(kind, "Sent by `fence check-webhook`."),
        )
        .await;
    let (ok, error) = match &outcome {
        fence_slack::SendOutcome::Delivered => (true, None),
        fence_slack::SendOutcome::RateLimited { .. } => (false, Some("rate_limited".to_string())),
        fence_slack::SendOutcome::Retryable { error }
        | fence_slack::SendOutcome::ChannelBroken { error }
        | fence_slack::SendOutcome::PayloadRejected { error }
        | fence_slack::SendOutcome::Failed { error } => (false, Some(error.clone())),
    };
    let hint = error.as_deref().map(fence_slack::hint_for);
    if json {
        println!(
            "{}",
            serde_json::json!({"ok": ok, "webhook": url.hint(), "error": error, "hint": hint})
        );
    } else if ok {
        println!("ok: {} accepted the test message", url.hint());
    } else {
        println!(
            "failed: {} answered {}\nhint: {}",
            url.hint(),
            error.as_deref().unwrap_or("?"),
            hint.unwrap_or("")
        );
    }
    if ok {
        Ok(())
    } else {
        std::process::exit(2)
    }
}
