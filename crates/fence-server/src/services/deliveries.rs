//! Replaying a dead delivery: it is owed again now, audited, and the dispatcher woken.

use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use fence_store::deliveries::DeliveryRow;

/// Queues a delivery of the organization again.
pub async fn retry(
    state: &AppState,
    org_id: &str,
    actor: &str,
    id: &str,
) -> ServiceResult<DeliveryRow> {
    let now = state.clock.now_ms();
    let d = state
        .store
        .retry_delivery(org_id, id, now)
        .await
        .map_err(ServiceError::not_found_as("delivery"))?;
    state
        .store
        .audit(org_id, actor, "delivery.retry", Some(id), None, now)
        .await?;
    state.wake.notify_one();
    Ok(d)
}
