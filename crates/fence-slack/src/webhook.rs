//! Webhook URLs: which hosts they may point at, the Slack/Mattermost path shapes, and the redacted hint shown
//! instead of the URL itself.

use fence_core::{ChannelKind, Secret};

/// One allowed host entry: `hooks.slack.com`, `127.0.0.1:8080` or `127.0.0.1:*`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostRule {
    host: String,
    /// `None`: the scheme's default port only; `Some(None)`: any port; `Some(Some(p))`: exactly `p`.
    port: Option<Option<u16>>,
}

/// The `delivery.webhook_hosts` allow-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookHosts(Vec<HostRule>);

impl WebhookHosts {
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut rules = Vec::new();
        for e in entries {
            let e = e.trim().to_ascii_lowercase();
            if e.is_empty() {
                continue;
            }
            let rule = match e.rsplit_once(':') {
                Some((h, "*")) => HostRule {
                    host: h.to_string(),
                    port: Some(None),
                },
                Some((h, p)) if !h.contains(':') || h.ends_with(']') => {
                    let port = p
                        .parse::<u16>()
                        .map_err(|_| format!("{e:?} has an invalid port"))?;
                    HostRule {
                        host: h.to_string(),
                        port: Some(Some(port)),
                    }
                }
                _ => HostRule {
                    host: e.clone(),
                    port: None,
                },
            };
            if rule.host.is_empty() || rule.host.contains('/') {
                return Err(format!("{e:?} is not a host"));
            }
            rules.push(rule);
        }
        Ok(WebhookHosts(rules))
    }

    /// Whether a URL (a Slack `response_url`, say) points at an allowed host: https for any listed host, http only
    /// for hosts listed with a port; never with credentials.
    pub fn allows_url(&self, raw: &str) -> bool {
        let Ok(u) = url::Url::parse(raw.trim()) else {
            return false;
        };
        let Some(host) = u.host_str().map(str::to_ascii_lowercase) else {
            return false;
        };
        matches!(u.scheme(), "https" | "http")
            && u.username().is_empty()
            && u.password().is_none()
            && self.allows(u.scheme(), &host, u.port())
    }

    /// Whether `host:port` over `scheme` is allowed: https for any listed host, http only for hosts listed with a port.
    fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        self.0.iter().any(|r| {
            if r.host != host {
                return false;
            }
            match (&r.port, scheme) {
                (None, "https") => port.is_none() || port == Some(443),
                (None, _) => false,
                (Some(None), _) => true,
                (Some(Some(p)), _) => port == Some(*p),
            }
        })
    }
}

/// A validated webhook URL. Never printed: `Debug`/`Display` are redacted, and [`WebhookUrl::hint`] is what people see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(Secret<String>);

impl WebhookUrl {
    /// Validates a URL typed by a user. Error messages never repeat the URL.
    pub fn parse(raw: &str, kind: ChannelKind, hosts: &WebhookHosts) -> Result<Self, String> {
        let u = url::Url::parse(raw.trim()).map_err(|_| "is not a valid URL".to_string())?;
        let host = u
            .host_str()
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| "has no host".to_string())?;
        if !matches!(u.scheme(), "https" | "http") {
            return Err("must use https".into());
        }
        if !u.username().is_empty() || u.password().is_some() {
            return Err("must not contain credentials".into());
        }
        if !hosts.allows(u.scheme(), &host, u.port()) {
            return Err(
                if u.scheme() == "http" && hosts.allows("https", &host, None) {
                    "must use https".to_string()
                } else {
                    format!("host {host} is not allowed; allowed hosts are set by delivery.webhook_hosts")
                },
            );
        }
        let segs: Vec<&str> = u.path().trim_start_matches('/').split('/').collect();
        let token = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
        match kind {
            ChannelKind::Slack => {
                let ok = segs.len() == 4
                    && segs[0] == "services"
                    && segs[1].starts_with('T')
                    && token(segs[1])
                    && segs[2].starts_with('B')
                    && token(segs[2])
                    && token(segs[3]);
                if !ok {
                    return Err("must look like https://hooks.slack.com/services/T…/B…/… (copy it from Slack's Incoming Webhooks page)".into());
                }
            }
            ChannelKind::Mattermost => {
                if !(segs.len() >= 2
                    && segs[segs.len() - 2] == "hooks"
                    && token(segs[segs.len() - 1]))
                {
                    return Err("must look like https://mattermost.example.com/hooks/… (copy it from Mattermost's Incoming Webhooks page)".into());
                }
            }
        }
        Ok(WebhookUrl(Secret::new(u.to_string())))
    }

    /// Wraps a URL that was validated when it was saved (read back from the encrypted store).
    pub fn from_trusted(url: String) -> Self {
        WebhookUrl(Secret::new(url))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// `hooks.slack.com/…/••••WXYZ`: enough to recognise a webhook, useless to anyone who reads it.
    pub fn hint(&self) -> String {
        let u = self.0.expose();
        let host = url::Url::parse(u)
            .ok()
            .and_then(|p| p.host_str().map(str::to_string))
            .unwrap_or_default();
        let tail: String = u
            .trim_end_matches('/')
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("{host}/…/••••{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(list: &[&str]) -> WebhookHosts {
        WebhookHosts::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("valid hosts")
    }

    #[test]
    fn response_urls_must_point_at_an_allowed_host() {
        let h = hosts(&["hooks.slack.com"]);
        assert!(h.allows_url("https://hooks.slack.com/commands/T1/2/x"));
        assert!(h.allows_url("https://hooks.slack.com/actions/T1/2/x"));
        for bad in [
            "http://hooks.slack.com/commands/T1/2/x",
            "https://hooks.slack.com.evil.example/commands/x",
            "https://evil.example/?https://hooks.slack.com/",
            "https://user@hooks.slack.com/commands/x",
            "https://hooks.slack.com:8443/commands/x",
            "http://169.254.169.254/latest/meta-data/",
            "http://127.0.0.1:9999/x",
            "file:///etc/passwd",
            "not a url",
            "",
        ] {
            assert!(!h.allows_url(bad), "{bad}");
        }
        assert!(hosts(&["127.0.0.1:*"]).allows_url("http://127.0.0.1:9999/x"));
    }

    #[test]
    fn slack_urls_must_be_https_on_an_allowed_host_with_the_services_shape() {
        let h = hosts(&["hooks.slack.com", "127.0.0.1:*"]);
        let ok = WebhookUrl::parse(
            "https://hooks.slack.com/services/T000/B000/XXXXWXYZ",
            ChannelKind::Slack,
            &h,
        )
        .expect("valid");
        assert_eq!(ok.hint(), "hooks.slack.com/…/••••WXYZ");
        assert!(WebhookUrl::parse(
            "http://127.0.0.1:9999/services/T1/B2/abc",
            ChannelKind::Slack,
            &h
        )
        .is_ok());
        for bad in [
            "http://hooks.slack.com/services/T000/B000/XXXX",
            "https://evil.example/services/T000/B000/XXXX",
            "https://hooks.slack.com/workflows/T000/B000/XXXX",
            "https://hooks.slack.com/services/T000/B000",
            "https://user:pw@hooks.slack.com/services/T000/B000/XXXX",
            "https://hooks.slack.com:8443/services/T000/B000/XXXX",
            "not a url",
        ] {
            let err = WebhookUrl::parse(bad, ChannelKind::Slack, &h).expect_err(bad);
            assert!(!err.contains("XXXX"), "errors never repeat the URL: {err}");
        }
    }

    #[test]
    fn a_host_listed_with_a_port_allows_only_that_port() {
        let h = hosts(&["localhost:8080"]);
        assert!(WebhookUrl::parse(
            "http://localhost:8080/services/T1/B1/x",
            ChannelKind::Slack,
            &h
        )
        .is_ok());
        assert!(WebhookUrl::parse(
            "http://localhost:8081/services/T1/B1/x",
            ChannelKind::Slack,
            &h
        )
        .is_err());
    }

    #[test]
    fn mattermost_urls_have_the_hooks_shape() {
        let h = hosts(&["chat.example.com"]);
        assert!(WebhookUrl::parse(
            "https://chat.example.com/hooks/abc123",
            ChannelKind::Mattermost,
            &h
        )
        .is_ok());
        assert!(WebhookUrl::parse(
            "https://chat.example.com/api/abc123",
            ChannelKind::Mattermost,
            &h
        )
        .is_err());
    }

    #[test]
    fn formatting_a_webhook_url_never_shows_it() {
        let u = WebhookUrl::from_trusted("https://hooks.slack.com/services/T1/B1/SECRET".into());
        assert!(!format!("{u:?}").contains("SECRET"));
    }
}
