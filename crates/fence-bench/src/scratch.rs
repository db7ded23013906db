//! Scratch space for one run: a temporary data directory (with its SQLite URL) and fresh PostgreSQL databases.

use anyhow::Context;
use std::path::PathBuf;

/// A scratch directory for one run, removed afterwards.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> anyhow::Result<Scratch> {
        let p = std::env::temp_dir().join(format!(
            "fence-bench-{name}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&p)?;
        Ok(Scratch(p))
    }

    pub fn sqlite_url(&self) -> String {
        format!("sqlite://{}", self.0.join("fence.db").display())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Creates a fresh database on the PostgreSQL server of `base` and returns its URL.
pub async fn fresh_postgres(base: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let name = format!("fence_bench_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::AnyConnection::connect(base)
        .await
        .context("cannot connect to --postgres")?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    let (prefix, rest) = base
        .rsplit_once('/')
        .context("--postgres needs a database path")?;
    let query = rest
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    Ok(format!("{prefix}/{name}{query}"))
}
