//! The secret key's check value: stored by the first process, compared by every later one.

use crate::{get_str, Result, Store};

impl Store {
    /// Stores `value` as the check value unless one is stored already; returns the stored one (the first wins, also
    /// when several processes start at once).
    pub async fn claim_key_check(&self, value: &str) -> Result<String> {
        sqlx::query(
            "INSERT INTO key_check (id, check_value) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        )
        .bind(value)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT check_value FROM key_check WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        get_str(&row, "check_value")
    }
}
