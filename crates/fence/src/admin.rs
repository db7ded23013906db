//! Administration commands: migrate, organizations and their plans, web UI users, API tokens, configuration check.

use anyhow::Context;
use fence_core::Plan;
use fence_server::config::Config;
use fence_server::open_store;

/// `fence migrate`.
pub async fn migrate(config: &Config, json: bool) -> anyhow::Result<()> {
    open_store(config).await?;
    println!(
        "{}",
        if json {
            serde_json::json!({"migrated": true}).to_string()
        } else {
            "database is up to date".into()
        }
    );
    Ok(())
}

/// `fence org create NAME --plan P`.
pub async fn create_org(
    config: &Config,
    name: &str,
    plan: &str,
    now: i64,
    json: bool,
) -> anyhow::Result<()> {
    let plan = Plan::parse(plan).map_err(anyhow::Error::msg)?;
    let store = open_store(config).await?;
    let org = store.create_org(name, plan.as_str(), now).await?;
    if json {
        println!(
            "{}",
            serde_json::json!({"id": org.id, "name": org.name, "plan": org.plan})
        );
    } else {
        println!("created organization {} (plan {})", org.name, org.plan);
    }
    Ok(())
}

/// `fence org set-plan NAME PLAN`: warns when the organization has more channels than the plan allows.
pub async fn set_plan(config: &Config, name: &str, plan: &str, json: bool) -> anyhow::Result<()> {
    let plan = Plan::parse(plan).map_err(anyhow::Error::msg)?;
    let store = open_store(config).await?;
    store
        .set_org_plan(name, plan.as_str())
        .await
        .map_err(|e| match e {
            fence_store::StoreError::NotFound => {
                anyhow::anyhow!("no organization named {name:?}")
            }
            other => other.into(),
        })?;
    let count = store
        .count_channels(&store.org_by_name(name).await?.id)
        .await?;
    if let Some(limit) = plan.channel_limit() {
        if count > i64::from(limit) {
            eprintln!("note: {name} has {count} channels, above the {plan} plan's {limit}; they keep working, but no new channel can be added");
        }
    }
    println!(
        "{}",
        if json {
            serde_json::json!({"name": name, "plan": plan.as_str()}).to_string()
        } else {
            format!("{name} is now on the {plan} plan")
        }
    );
    Ok(())
}

/// `fence user create --org O --email E --role R`, the password read from standard input.
pub async fn create_user(
    config: &Config,
    org: &str,
    email: &str,
    role: &str,
    now: i64,
    json: bool,
) -> anyhow::Result<()> {
    let role = fence_core::Role::parse(role)
        .map_err(|_| anyhow::anyhow!("--role must be admin, member or viewer"))?;
    let email = email.trim().to_ascii_lowercase();
    if !email.contains('@') || email.len() > 254 {
        anyhow::bail!("--email must be an email address");
    }
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']);
    if password.chars().count() < 10 {
        anyhow::bail!("the password must have at least 10 characters");
    }
    let store = open_store(config).await?;
    let org = store
        .org_by_name(org)
        .await
        .map_err(|_| anyhow::anyhow!("no organization named {org:?}"))?;
    let hash = fence_server::crypto::hash_password(password).map_err(anyhow::Error::msg)?;
    store.create_user(&org.id, &email, &hash, role, now).await?;
    println!(
        "{}",
        if json {
            serde_json::json!({"email": email, "role": role, "org": org.name}).to_string()
        } else {
            format!("created {role} {email} in {}", org.name)
        }
    );
    Ok(())
}

/// `fence token create --org O --scopes S`: prints the token alone (shown once).
pub async fn create_token(
    config: &Config,
    t: &crate::TokenCreate,
    now: i64,
    json: bool,
) -> anyhow::Result<()> {
    let scopes =
        fence_core::Scope::parse_list(&t.scopes).map_err(|e| anyhow::anyhow!("--scopes: {e}"))?;
    let store = open_store(config).await?;
    let org = store.org_by_name(&t.org).await.map_err(|_| {
        anyhow::anyhow!("no organization named {:?} (fence org create NAME)", t.org)
    })?;
    let expires_at = match &t.expires {
        None => None,
        Some(e) => {
            let d = fence_core::text::parse_duration(e)
                .map_err(|err| anyhow::anyhow!("--expires: {err}"))?;
            Some(now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
        }
    };
    let token = fence_server::crypto::new_token();
    store
        .create_expiring_token(
            &org.id,
            &token,
            &scopes,
            t.label.as_deref(),
            now,
            expires_at,
        )
        .await?;
    if json {
        println!(
            "{}",
            serde_json::json!({"token": token, "org": org.name, "scopes": scopes,
                               "expires_at": expires_at.map(fence_core::time::fmt_ts)})
        );
    } else {
        println!("{token}");
    }
    Ok(())
}

/// `fence token list --org O`: ids, labels, scopes, creation and expiry times, never values.
pub async fn list_tokens(config: &Config, org: &str, json: bool) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let org = store
        .org_by_name(org)
        .await
        .map_err(|_| anyhow::anyhow!("no organization named {org:?}"))?;
    let tokens = store.list_tokens(&org.id).await?;
    for t in &tokens {
        let scopes: Vec<&str> = t.scopes.iter().map(|s| s.as_str()).collect();
        let created = fence_core::time::fmt_ts(t.created_at);
        let expires = t.expires_at.map(fence_core::time::fmt_ts);
        if json {
            println!(
                "{}",
                serde_json::json!({"id": t.id, "label": t.label, "scopes": scopes, "created_at": created, "expires_at": expires})
            );
        } else {
            let label = t.label.as_deref().unwrap_or("-");
            let expires = expires.as_deref().unwrap_or("never");
            println!(
                "{}\t{label}\t{}\t{created}\t{expires}",
                t.id,
                scopes.join(",")
            );
        }
    }
    Ok(())
}

/// `fence token revoke --org O ID`.
pub async fn revoke_token(
    config: &Config,
    org: &str,
    id: &str,
    now: i64,
    json: bool,
) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let org = store
        .org_by_name(org)
        .await
        .map_err(|_| anyhow::anyhow!("no organization named {org:?}"))?;
    fence_server::services::tokens::revoke(&store, &org.id, id, "cli", now)
        .await
        .map_err(|e| anyhow::anyhow!(e.public_message()))?;
    if json {
        println!("{}", serde_json::json!({"revoked": id}));
    } else {
        println!("revoked token {id}");
    }
    Ok(())
}

/// `fence config check`: the configuration without its secrets.
pub fn check_config(config: &Config, json: bool) -> anyhow::Result<()> {
    let summary = serde_json::json!({
        "listen": config.listen,
        "base_url": config.base_url,
        "data_dir": config.data_dir.display().to_string(),
        "database": if config.database_url.starts_with("sqlite:") { "sqlite" } else { "postgres" },
        "database_max_connections": config.sizes.database_max_connections,
        "cache_alerts": config.sizes.cache_alerts,
        "cache_alert_bytes": config.sizes.cache_alert_bytes,
        "secret_key": if config.secret_key.is_some() { "configured" } else { "generated in data_dir" },
        "bootstrap_token": config.bootstrap_token.is_some(),
        "default_plan": config.default_plan.as_str(),
        "slack": {"signing_secret": config.slack.signing_secret.is_some(), "oauth": config.slack.client_id.is_some(), "api_url": config.slack.api_url, "response_url_hosts": config.slack.response_url_hosts},
        "delivery": {"webhook_hosts": config.delivery.webhook_hosts, "rate_per_second": config.delivery.rate_per_second, "max_retry_age_seconds": config.delivery.max_retry_age.as_secs(), "probe_interval_seconds": config.delivery.probe_interval.as_secs()},
        "scan": {"allow_private_targets": config.scan.allow_private_targets, "workers": config.scan.workers},
    });
    if json {
        println!("{summary}");
    } else {
        println!(
            "configuration is valid\n{}",
            serde_json::to_string_pretty(&summary)?
        );
    }
    Ok(())
}
