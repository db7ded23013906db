//! The `fence serve` child process under measurement: finding the `fence` binary, starting it on a free port with a
//! bootstrap token, its API calls, and its memory from /proc.

use anyhow::Context;
use fence_testkit::FakeSlack;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The bootstrap token every child process is started with.
pub const TOKEN: &str = "bench-token-0123456789abcdef0123456789";

/// The `fence` binary: `explicit` (from `--fence-bin` or `FENCE_BIN`) or `fence` next to this executable.
pub fn locate(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let candidate = match explicit {
        Some(path) => path.to_path_buf(),
        None => {
            let exe = std::env::current_exe()
                .context("cannot find this executable; give the fence binary with --fence-bin PATH or FENCE_BIN")?;
            let dir = exe.parent().unwrap_or_else(|| Path::new("."));
            dir.join(format!("fence{}", std::env::consts::EXE_SUFFIX))
        }
    };
    if candidate.is_file() {
        return Ok(candidate);
    }
    anyhow::bail!(
        "cannot find the fence binary at {}: build it with cargo build --release -p fence, \
         or give its path with --fence-bin PATH or the FENCE_BIN environment variable",
        candidate.display()
    )
}

/// A `fence serve` child process.
/// `--server-env KEY=VALUE` settings given to every server a scenario starts (after its own).
pub static SERVER_ENV: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();

pub struct Fence {
    child: std::process::Child,
    pub base: String,
    pub http: reqwest::Client,
}

impl Fence {
    pub async fn start(bin: &Path, data_dir: &Path, database_url: &str) -> anyhow::Result<Fence> {
        Self::start_with(bin, data_dir, database_url, &[]).await
    }

    /// [`Fence::start`] with configuration given as `FENCE_…` environment variables.
    pub async fn start_with(
        bin: &Path,
        data_dir: &Path,
        database_url: &str,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Fence> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut cmd = std::process::Command::new(bin);
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("FENCE_")) {
            cmd.env_remove(k);
        }
        let child = cmd
            .arg("serve")
            .current_dir(data_dir)
            .env("FENCE_LISTEN", format!("127.0.0.1:{port}"))
            .env("FENCE_DATA_DIR", data_dir)
            .env("FENCE_DATABASE_URL", database_url)
            .env("FENCE_BOOTSTRAP_TOKEN", TOKEN)
            .env("FENCE_DELIVERY__WEBHOOK_HOSTS", "127.0.0.1:*")
            .env("FENCE_LOG", "warn")
            .envs(env.iter().copied())
            .envs(SERVER_ENV.get().into_iter().flatten().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {} serve", bin.display()))?;
        let f = Fence {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if f.http
                .get(format!("{}/readyz", f.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return Ok(f);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        anyhow::bail!("fence serve did not become ready")
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await?;
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            anyhow::bail!("{path} answered {status}: {v}");
        }
        Ok(v)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await?
            .json()
            .await?)
    }

    /// The value of the counter `name` on `/metrics` (0 when it is not there).
    pub async fn counter(&self, name: &str) -> anyhow::Result<u64> {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await?
            .text()
            .await?;
        Ok(text
            .lines()
            .find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|v| v.strip_prefix(' '))
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(0))
    }

    /// Adds a channel named `hook` posting to the fake Slack's webhook `hook`, with `extra` fields.
    pub async fn channel(&self, slack: &FakeSlack, hook: &str, extra: Value) -> anyhow::Result<()> {
        let mut body = json!({"name": hook, "webhook_url": slack.webhook_url(hook)});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            body[k] = v;
        }
        self.post("/api/v1/channels", &body).await.map(|_| ())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// (current RSS, peak RSS) in MiB, from /proc.
    pub fn rss_mib(&self) -> (f64, f64) {
        let m = self.status_mib(&["VmRSS:", "VmHWM:"]);
        (m[0], m[1])
    }

    /// The named `/proc/PID/status` fields (such as `RssAnon:`), in MiB; 0 for one that is missing.
    pub fn status_mib(&self, names: &[&str]) -> Vec<f64> {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        names
            .iter()
            .map(|name| {
                status
                    .lines()
                    .find(|l| l.starts_with(name))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
                    .map(|kb| kb / 1024.0)
                    .unwrap_or(0.0)
            })
            .collect()
    }

    /// Resets the peak RSS (`VmHWM`) to the current RSS, so the next reading is the peak since now.
    pub fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }

    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Fence {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::locate;

    #[test]
    fn a_missing_binary_names_the_build_command_and_both_overrides() {
        let missing = std::env::temp_dir().join("no-such-dir-for-fence-bench/fence");
        let err = locate(Some(&missing))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("cargo build --release -p fence"), "{err}");
        assert!(
            err.contains("--fence-bin") && err.contains("FENCE_BIN"),
            "{err}"
        );
        assert!(err.contains(&missing.display().to_string()), "{err}");
    }

    #[test]
    fn an_existing_binary_is_used_as_given() {
        let exe = std::env::current_exe().ok();
        assert_eq!(locate(exe.as_deref()).ok(), exe);
    }
}
