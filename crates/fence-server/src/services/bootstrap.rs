//! First start: the default organization, the bootstrap token, and the first admin with a generated password.

use crate::config::Config;
use crate::crypto::new_token;
use fence_core::{Role, Scope};
use fence_store::Store;

/// The label of the token made from `bootstrap_token`.
pub const BOOTSTRAP_LABEL: &str = "bootstrap";

/// What first start prints.
#[derive(Debug, Clone, Default)]
pub struct Bootstrap {
    pub created_org: bool,
    /// A token generated on first start, shown once.
    pub generated_token: Option<String>,
    /// The first admin's email and generated password, shown once.
    pub generated_admin: Option<(String, String)>,
}

/// Creates the default organization on first start, and the bootstrap token when configured and absent (revoking a
/// previous, different bootstrap token).
/// Several processes may start at once on one PostgreSQL database: whoever loses a creation race uses the winner's.
pub async fn bootstrap(store: &Store, config: &Config, now: i64) -> anyhow::Result<Bootstrap> {
    use fence_store::StoreError;
    let mut out = Bootstrap::default();
    let org = match store.org_by_name("default").await {
        Ok(o) => o,
        Err(StoreError::NotFound) => {
            let first = store.count_orgs().await? == 0;
            match store
                .create_org("default", config.default_plan.as_str(), now)
                .await
            {
                Ok(o) => {
                    out.created_org = first;
                    o
                }
                Err(StoreError::Conflict(_)) => store.org_by_name("default").await?,
                Err(e) => return Err(e.into()),
            }
        }
        Err(e) => return Err(e.into()),
    };
    let scopes = [Scope::Admin, Scope::Read, Scope::Ingest];
    if let Some(t) = &config.bootstrap_token {
        // A changed bootstrap_token replaces the previous one: the old value stops working at this start.
        let n = store
            .delete_labelled_tokens_except(&org.id, BOOTSTRAP_LABEL, t.expose())
            .await?;
        if n > 0 {
            tracing::info!(
                tokens = n,
                "bootstrap_token changed: the previous bootstrap token was revoked"
            );
        }
    }
    match &config.bootstrap_token {
        Some(t) if !store.token_exists(t.expose()).await? => {
            match store
                .create_token(&org.id, t.expose(), &scopes, Some(BOOTSTRAP_LABEL), now)
                .await
            {
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Some(_) => {}
        None if out.created_org => {
            let password = new_token()
                .trim_start_matches("fence_")
                .chars()
                .take(20)
                .collect::<String>();
            let hash = crate::crypto::hash_password(&password).map_err(anyhow::Error::msg)?;
            store
                .create_user(&org.id, "admin@fence.local", &hash, Role::Admin, now)
                .await?;
            out.generated_admin = Some(("admin@fence.local".to_string(), password));
            let t = new_token();
            store
                .create_token(&org.id, &t, &scopes, Some("first start"), now)
                .await?;
            out.generated_token = Some(t);
        }
        None => {}
    }
    Ok(out)
}
