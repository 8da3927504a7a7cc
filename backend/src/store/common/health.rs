//! Connectivity and schema, answered the same way on both databases.

use async_trait::async_trait;

use crate::store::{HealthStore, StoreResult};

for_both! {
    #[async_trait]
    impl HealthStore for Store {
        fn backend(&self) -> &'static str {
            dialect::NAME
        }

        async fn ping(&self) -> StoreResult<()> {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        }

        async fn schema_version(&self) -> StoreResult<i64> {
            let version: Option<i64> =
                sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                    .fetch_one(&self.pool)
                    .await?;
            Ok(version.unwrap_or(0))
        }

        async fn close(&self) {
            self.pool.close().await;
        }
    }
}
