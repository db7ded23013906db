//! API tokens: revoking one (the API's `DELETE /api/v1/tokens/{id}` and `fence token revoke`), audited. Token values
//! are never stored, listed or logged; a token is named by its id.

use super::{ServiceError, ServiceResult};
use fence_store::Store;

/// Revokes a token of the organization: it stops authenticating at once.
pub async fn revoke(
    store: &Store,
    org_id: &str,
    token_id: &str,
    actor: &str,
    now: i64,
) -> ServiceResult<()> {
    if !store.delete_token(org_id, token_id).await? {
        return Err(ServiceError::NotFound("token"));
    }
    store
        .audit(org_id, actor, "token.revoke", Some(token_id), None, now)
        .await?;
    Ok(())
}
