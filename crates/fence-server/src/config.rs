//! Configuration: defaults, then the TOML file, then `FENCE_…` environment variables (`__` nests, lists are
//! comma-separated). An unknown key is an error that names it.

use fence_core::{Plan, Secret};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod intel;
mod keys;
mod oidc;
mod retention;
mod sizes;
mod slack;
pub use intel::IntelConfig;
use keys::KEYS;
pub use oidc::OidcConfig;
pub use retention::RetentionConfig;
pub use sizes::Sizes;
pub use slack::{SlackConfig, MIN_SIGNING_SECRET_CHARS};

/// The default of `import.max_bytes`: 256 MiB.
pub const DEFAULT_IMPORT_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// Environment variables with the `FENCE_` prefix that are not configuration keys.
const ENV_NOT_CONFIG: &[&str] = &["FENCE_LOG", "FENCE_CONFIG"];

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub webhook_hosts: Vec<String>,
    pub rate_per_second: f64,
    pub max_retry_age: Duration,
    /// How often a destination in an outage is tried (1 s to 5 min).
    pub probe_interval: Duration,
}

#[derive(Debug, Clone)]
pub struct ScanConfig {
    pub allow_private_targets: bool,
    pub workers: u32,
    /// Built-in scans an organization may have waiting at once.
    pub max_queued_per_org: u32,
    /// Built-in scans an organization may ask for in an hour.
    pub max_per_org_per_hour: u32,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub base_url: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// `database_max_connections` and `cache.alerts`.
    pub sizes: Sizes,
    pub secret_key: Option<Secret<String>>,
    pub bootstrap_token: Option<Secret<String>>,
    pub default_plan: Plan,
    pub slack: SlackConfig,
    pub delivery: DeliveryConfig,
    pub scan: ScanConfig,
    pub certificates_check_every: Duration,
    /// How long a digest's Download Report link works (`reports.link_lifetime`).
    pub report_link_lifetime: Duration,
    /// Proxies whose `X-Forwarded-For` names the client (none by default: the connection's peer is the client).
    pub trusted_proxies: crate::http::client_ip::TrustedProxies,
    /// The largest scanner output file `POST /api/v1/import` and `fence import` take (`import.max_bytes`).
    pub import_max_bytes: u64,
    pub retention: RetentionConfig,
    /// Sign in with Slack / OpenID Connect (`[oidc]`); none: passwords only.
    pub oidc: Option<OidcConfig>,
    /// Exploitability feeds loaded from files (`[intel]`).
    pub intel: IntelConfig,
}

/// A configuration problem, naming the key and where it came from.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

/// Where a value came from, for error messages.
#[derive(Debug, Clone)]
struct Value {
    raw: toml::Value,
    source: String,
}

impl Config {
    /// Loads `path` (if given, or `./fence.toml` when present) and the process environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let file = match path {
            Some(p) => Some(p.to_path_buf()),
            None => {
                let p = PathBuf::from("fence.toml");
                p.exists().then_some(p)
            }
        };
        let text = match &file {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .map_err(|e| ConfigError(format!("cannot read {}: {e}", p.display())))?,
            ),
            None => None,
        };
        Config::from_sources(text.as_deref(), file.as_deref(), &env)
    }

    /// Builds a configuration from TOML text and environment pairs (tests call this directly).
    pub fn from_sources(
        toml_text: Option<&str>,
        file: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let r = Reader::from_sources(toml_text, file, env)?;
        let listen = r
            .string("listen")?
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        if listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(r.err("listen", "must be an address such as 127.0.0.1:8080"));
        }
        let base_url = r
            .string("base_url")?
            .unwrap_or_else(|| format!("http://{listen}"));
        let base_url = base_url.trim_end_matches('/').to_string();
        if url::Url::parse(&base_url)
            .map(|u| !matches!(u.scheme(), "http" | "https"))
            .unwrap_or(true)
        {
            return Err(r.err("base_url", "must be an http(s) URL"));
        }
        let data_dir = PathBuf::from(
            r.string("data_dir")?
                .unwrap_or_else(|| "./fence-data".into()),
        );
        let database_url = r
            .string("database_url")?
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("fence.db").display()));
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres:")
            || database_url.starts_with("postgresql:"))
        {
            return Err(r.err("database_url", "must start with sqlite:// or postgres://"));
        }
        let default_plan = match r.string("default_plan")? {
            None => Plan::Custom,
            Some(p) => Plan::parse(&p).map_err(|e| r.err("default_plan", &e))?,
        };
        Ok(Config {
            listen,
            base_url,
            data_dir,
            database_url,
            secret_key: secret_key(&r)?,
            bootstrap_token: bootstrap_token(&r)?,
            default_plan,
            slack: SlackConfig::read(&r)?,
            delivery: DeliveryConfig::read(&r)?,
            scan: ScanConfig {
                allow_private_targets: r.bool("scan.allow_private_targets")?.unwrap_or(false),
                workers: r.int("scan.workers")?.unwrap_or(2).clamp(1, 64) as u32,
                max_queued_per_org: positive(&r, "scan.max_queued_per_org", 20)?,
                max_per_org_per_hour: positive(&r, "scan.max_per_org_per_hour", 60)?,
            },
            certificates_check_every: r
                .duration("certificates.check_every")?
                .unwrap_or(Duration::from_secs(6 * 3600)),
            report_link_lifetime: report_link_lifetime(&r)?,
            trusted_proxies: crate::http::client_ip::TrustedProxies::parse(
                &r.list("trusted_proxies")?.unwrap_or_default(),
            )
            .map_err(|e| r.err("trusted_proxies", &e))?,
            import_max_bytes: import_max_bytes(&r)?,
            retention: RetentionConfig::read(&r)?,
            oidc: OidcConfig::read(&r)?,
            intel: IntelConfig::read(&r)?,
            sizes: Sizes::read(&r)?,
        })
    }

    /// The minimum spacing between two messages to one destination.
    pub fn send_interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.delivery.rate_per_second)
    }
}

impl DeliveryConfig {
    fn read(r: &Reader) -> Result<DeliveryConfig, ConfigError> {
        let webhook_hosts = r
            .list("delivery.webhook_hosts")?
            .unwrap_or_else(|| vec!["hooks.slack.com".into()]);
        fence_slack::WebhookHosts::parse(&webhook_hosts)
            .map_err(|e| r.err("delivery.webhook_hosts", &e))?;
        let rate_per_second = r.float("delivery.rate_per_second")?.unwrap_or(1.0);
        if !(rate_per_second > 0.0 && rate_per_second <= 100.0) {
            return Err(r.err(
                "delivery.rate_per_second",
                "must be greater than 0 and at most 100",
            ));
        }
        let probe_interval = r
            .duration("delivery.probe_interval")?
            .unwrap_or(Duration::from_secs(5));
        if probe_interval < Duration::from_secs(1) || probe_interval > Duration::from_secs(300) {
            return Err(r.err("delivery.probe_interval", "must be between 1s and 5m"));
        }
        Ok(DeliveryConfig {
            webhook_hosts,
            rate_per_second,
            max_retry_age: r
                .duration("delivery.max_retry_age")?
                .unwrap_or(Duration::from_secs(24 * 3600)),
            probe_interval,
        })
    }
}

/// `import.max_bytes`: a number of bytes, or a size such as `256MB`, `512 KiB`, `1G` (powers of 1024).
fn import_max_bytes(r: &Reader) -> Result<u64, ConfigError> {
    const KEY: &str = "import.max_bytes";
    let bad = || {
        r.err(
            KEY,
            "must be a size in bytes such as 268435456 or 256MB, at least 1KB",
        )
    };
    let text = match r.values.get(KEY).map(|v| &v.raw) {
        None => return Ok(DEFAULT_IMPORT_MAX_BYTES),
        Some(toml::Value::Integer(i)) => i.to_string(),
        Some(toml::Value::String(s)) => s.clone(),
        Some(_) => return Err(bad()),
    };
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).filter(|b| *b >= 1024).ok_or_else(bad)
}

/// A positive count, `default` when unset; 0 or a negative number is refused (it would stop every scan).
fn positive(r: &Reader, key: &str, default: u32) -> Result<u32, ConfigError> {
    match r.int(key)? {
        None => Ok(default),
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| r.err(key, "must be a whole number of at least 1")),
    }
}

/// `secret_key`: base64 of exactly 32 bytes (the error never repeats the value).
fn secret_key(r: &Reader) -> Result<Option<Secret<String>>, ConfigError> {
    use base64::Engine;
    let Some(k) = r.string("secret_key")? else {
        return Ok(None);
    };
    match base64::engine::general_purpose::STANDARD.decode(k.trim()) {
        Ok(bytes) if bytes.len() == 32 => Ok(Some(Secret::new(k))),
        _ => Err(r.err(
            "secret_key",
            "must be exactly 32 bytes in base64 (e.g. the output of `openssl rand -base64 32`)",
        )),
    }
}

/// `bootstrap_token`: empty is unset; otherwise at least [`crate::crypto::MIN_TOKEN_CHARS`] characters.
fn bootstrap_token(r: &Reader) -> Result<Option<Secret<String>>, ConfigError> {
    match r.string("bootstrap_token")?.filter(|s| !s.is_empty()) {
        Some(t) if t.chars().count() < crate::crypto::MIN_TOKEN_CHARS => Err(r.err(
            "bootstrap_token",
            "must be at least 24 characters (e.g. the output of `openssl rand -hex 24`)",
        )),
        t => Ok(t.map(Secret::new)),
    }
}

/// `reports.link_lifetime`: default 30 days, at least a minute.
fn report_link_lifetime(r: &Reader) -> Result<Duration, ConfigError> {
    let d = r
        .duration("reports.link_lifetime")?
        .unwrap_or(Duration::from_secs(30 * 86_400));
    if d < Duration::from_secs(60) {
        return Err(r.err("reports.link_lifetime", "must be at least 1m"));
    }
    Ok(d)
}

fn flatten(
    prefix: &str,
    v: &toml::Value,
    source: &str,
    out: &mut BTreeMap<String, Value>,
) -> Result<(), ConfigError> {
    match v {
        toml::Value::Table(t) if prefix.is_empty() || !KEYS.contains(&prefix) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, source, out)?;
            }
            Ok(())
        }
        _ => {
            if !KEYS.contains(&prefix) {
                return Err(ConfigError(format!(
                    "unknown configuration key `{prefix}` (in {source})"
                )));
            }
            out.insert(
                prefix.to_string(),
                Value {
                    raw: v.clone(),
                    source: source.to_string(),
                },
            );
            Ok(())
        }
    }
}

struct Reader {
    values: BTreeMap<String, Value>,
}

impl Reader {
    /// Every configuration value: the TOML file's, then the environment's (`FENCE_A__B` is `a.b`), which win.
    fn from_sources(
        toml_text: Option<&str>,
        file: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<Reader, ConfigError> {
        let mut values: BTreeMap<String, Value> = BTreeMap::new();
        if let Some(text) = toml_text {
            let source = file
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "config file".into());
            let table: toml::Table = text
                .parse()
                .map_err(|e| ConfigError(format!("{source}: {e}")))?;
            flatten("", &toml::Value::Table(table), &source, &mut values)?;
        }
        for (k, v) in env {
            let Some(rest) = k.strip_prefix("FENCE_") else {
                continue;
            };
            if ENV_NOT_CONFIG.contains(&k.as_str()) || rest.starts_with("TEST_") {
                continue;
            }
            let key = rest
                .to_ascii_lowercase()
                .split("__")
                .collect::<Vec<_>>()
                .join(".");
            if !KEYS.contains(&key.as_str()) {
                return Err(ConfigError(format!(
                    "unknown configuration key `{key}` (from environment variable {k})"
                )));
            }
            values.insert(
                key,
                Value {
                    raw: toml::Value::String(v.clone()),
                    source: format!("environment variable {k}"),
                },
            );
        }
        Ok(Reader { values })
    }

    fn err(&self, key: &str, msg: &str) -> ConfigError {
        let from = self
            .values
            .get(key)
            .map(|v| format!(" (from {})", v.source))
            .unwrap_or_default();
        ConfigError(format!("configuration key `{key}`{from}: {msg}"))
    }

    fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.values.get(key).map(|v| &v.raw) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.err(key, "must be a string")),
        }
    }

    fn list(&self, key: &str) -> Result<Option<Vec<String>>, ConfigError> {
        match self.values.get(key).map(|v| &v.raw) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect(),
            )),
            Some(toml::Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| self.err(key, "must be a list of strings"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(self.err(key, "must be a list of strings")),
        }
    }

    fn float(&self, key: &str) -> Result<Option<f64>, ConfigError> {
        match self.values.get(key).map(|v| &v.raw) {
            None => Ok(None),
            Some(toml::Value::Float(f)) => Ok(Some(*f)),
            Some(toml::Value::Integer(i)) => Ok(Some(*i as f64)),
            Some(toml::Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.err(key, "must be a number")),
            Some(_) => Err(self.err(key, "must be a number")),
        }
    }

    fn int(&self, key: &str) -> Result<Option<i64>, ConfigError> {
        match self.values.get(key).map(|v| &v.raw) {
            None => Ok(None),
            Some(toml::Value::Integer(i)) => Ok(Some(*i)),
            Some(toml::Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.err(key, "must be a whole number")),
            Some(_) => Err(self.err(key, "must be a whole number")),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        match self.values.get(key).map(|v| &v.raw) {
            None => Ok(None),
            Some(toml::Value::Boolean(b)) => Ok(Some(*b)),
            Some(toml::Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(Some(true)),
                "false" | "0" | "no" => Ok(Some(false)),
                _ => Err(self.err(key, "must be true or false")),
            },
            Some(_) => Err(self.err(key, "must be true or false")),
        }
    }

    fn duration(&self, key: &str) -> Result<Option<Duration>, ConfigError> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) => parse_duration(&s).map(Some).map_err(|e| self.err(key, &e)),
        }
    }
}

/// Parses durations such as `90s`, `15m`, `6h`, `1d`, `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    fence_core::text::parse_duration(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_match_the_spec() {
        let c = Config::from_sources(None, None, &[]).expect("defaults");
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.base_url, "http://127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://./fence-data/fence.db");
        assert_eq!(
            c.delivery.webhook_hosts,
            vec!["hooks.slack.com".to_string()]
        );
        assert_eq!(c.delivery.rate_per_second, 1.0);
        assert_eq!(c.delivery.max_retry_age, Duration::from_secs(86_400));
        assert_eq!(c.delivery.probe_interval, Duration::from_secs(5));
        assert_eq!(c.default_plan, Plan::Custom);
        assert_eq!(c.certificates_check_every, Duration::from_secs(6 * 3600));
    }

    #[test]
    fn environment_overrides_the_file_with_nesting_and_lists() {
        let toml = "listen = \"127.0.0.1:9000\"\n[delivery]\nrate_per_second = 2.0\nwebhook_hosts = [\"hooks.slack.com\"]\n";
        let c = Config::from_sources(
            Some(toml),
            None,
            &env(&[
                (
                    "FENCE_DELIVERY__WEBHOOK_HOSTS",
                    "hooks.slack.com, 127.0.0.1:*",
                ),
                ("FENCE_SLACK__API_URL", "http://127.0.0.1:1/api/"),
                ("FENCE_TEST_DATABASE_URL", "x"),
            ]),
        )
        .expect("valid");
        assert_eq!(c.listen, "127.0.0.1:9000");
        assert_eq!(c.delivery.rate_per_second, 2.0);
        assert_eq!(
            c.delivery.webhook_hosts,
            vec!["hooks.slack.com".to_string(), "127.0.0.1:*".to_string()]
        );
        assert_eq!(c.slack.api_url, "http://127.0.0.1:1/api");
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        let e = Config::from_sources(Some("lisen = \"x\""), None, &[]).expect_err("unknown");
        assert!(e.to_string().contains("`lisen`"), "{e}");
        let e = Config::from_sources(Some("[delivery]\nrate = 1"), None, &[]).expect_err("unknown");
        assert!(e.to_string().contains("`delivery.rate`"), "{e}");
        let e = Config::from_sources(None, None, &env(&[("FENCE_DELIVERY__RATE", "1")]))
            .expect_err("unknown");
        assert!(
            e.to_string().contains("`delivery.rate`")
                && e.to_string().contains("FENCE_DELIVERY__RATE"),
            "{e}"
        );
    }

    #[test]
    fn a_probe_interval_outside_one_second_to_five_minutes_is_refused() {
        for bad in ["500ms", "0s", "6m"] {
            let toml = format!("[delivery]\nprobe_interval = \"{bad}\"\n");
            let e = Config::from_sources(Some(&toml), None, &[]).expect_err(bad);
            assert!(
                e.to_string().contains("delivery.probe_interval"),
                "{bad}: {e}"
            );
        }
        let c = Config::from_sources(Some("[delivery]\nprobe_interval = \"2s\"\n"), None, &[])
            .expect("2s");
        assert_eq!(c.delivery.probe_interval, Duration::from_secs(2));
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = Config::from_sources(
            None,
            None,
            &env(&[("FENCE_DELIVERY__MAX_RETRY_AGE", "soon")]),
        )
        .expect_err("bad");
        assert!(e.to_string().contains("delivery.max_retry_age"), "{e}");
        let e = Config::from_sources(Some("default_plan = \"gold\""), None, &[]).expect_err("bad");
        assert!(e.to_string().contains("default_plan"), "{e}");
    }

    /// Weak secrets and keys are refused at start, naming the key and never repeating the value.
    #[test]
    fn weak_secrets_are_refused_naming_the_key() {
        let cases: &[(&str, &str, &str)] = &[
            ("FENCE_SLACK__SIGNING_SECRET", "", "slack.signing_secret"),
            (
                "FENCE_SLACK__SIGNING_SECRET",
                "short-secret-1234567890123456",
                "slack.signing_secret",
            ),
            ("FENCE_SECRET_KEY", "c2hvcnQta2V5", "secret_key"),
            ("FENCE_SECRET_KEY", "not base64 at all!!", "secret_key"),
            ("FENCE_BOOTSTRAP_TOKEN", "change-me", "bootstrap_token"),
            (
                "FENCE_BOOTSTRAP_TOKEN",
                "23-characters-long-abcd",
                "bootstrap_token",
            ),
            (
                "FENCE_SLACK__RESPONSE_URL_HOSTS",
                "a/b",
                "slack.response_url_hosts",
            ),
            (
                "FENCE_REPORTS__LINK_LIFETIME",
                "30s",
                "reports.link_lifetime",
            ),
        ];
        for (k, v, key) in cases {
            let e = Config::from_sources(None, None, &env(&[(k, v)])).expect_err(k);
            let msg = e.to_string();
            assert!(msg.contains(&format!("`{key}`")), "{k}={v}: {msg}");
            let secret = !key.contains("hosts") && !key.contains("lifetime");
            if secret && !v.is_empty() {
                assert!(!msg.contains(v), "the value leaked: {msg}");
            }
        }
        let e = Config::from_sources(None, None, &env(&[("FENCE_SLACK__CLIENT_ID", "123.456")]))
            .expect_err("client_secret missing");
        assert!(e.to_string().contains("`slack.client_secret`"), "{e}");
        let e = Config::from_sources(
            None,
            None,
            &env(&[
                ("FENCE_SLACK__CLIENT_ID", "1.2"),
                ("FENCE_SLACK__CLIENT_SECRET", ""),
            ]),
        )
        .expect_err("client_secret empty");
        assert!(e.to_string().contains("`slack.client_secret`"), "{e}");
        let ok = Config::from_sources(
            None,
            None,
            &env(&[
                (
                    "FENCE_SLACK__SIGNING_SECRET",
                    "8f742231b10e8888abcd99yyyzzz85a5",
                ),
                (
                    "FENCE_SECRET_KEY",
                    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                ),
                ("FENCE_BOOTSTRAP_TOKEN", "24-characters-long-abcde"),
            ]),
        )
        .expect("strong values are accepted");
        assert!(ok.slack.signing_secret.is_some() && ok.bootstrap_token.is_some());
        assert_eq!(ok.report_link_lifetime, Duration::from_secs(30 * 86_400));
        assert!(ok
            .slack
            .response_url_allowed("https://hooks.slack.com/commands/T1/1/x"));
        assert!(!ok.slack.response_url_allowed("http://127.0.0.1:9/x"));
    }

    #[test]
    fn import_max_bytes_takes_bytes_or_sizes_and_names_itself_when_wrong() {
        let get =
            |toml: &str| Config::from_sources(Some(toml), None, &[]).map(|c| c.import_max_bytes);
        assert_eq!(get("").ok(), Some(256 * 1024 * 1024));
        assert_eq!(get("[import]\nmax_bytes = 5000").ok(), Some(5000));
        assert_eq!(get("[import]\nmax_bytes = \"64MB\"").ok(), Some(64 << 20));
        assert_eq!(get("[import]\nmax_bytes = \"2 GiB\"").ok(), Some(2 << 30));
        let from_env =
            Config::from_sources(None, None, &env(&[("FENCE_IMPORT__MAX_BYTES", "512k")]));
        assert_eq!(from_env.map(|c| c.import_max_bytes).ok(), Some(512 << 10));
        for bad in ["\"lots\"", "-1", "12", "\"5 TB\"", "true"] {
            let e = get(&format!("[import]\nmax_bytes = {bad}")).expect_err(bad);
            assert!(e.to_string().contains("import.max_bytes"), "{bad}: {e}");
        }
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("").is_err());
    }
}
