//! The audit entry and outbox event every change writes, inside its own transaction.

use crate::domain::{Actor, EventId, NewEvent};
use crate::store::types::{Ts, Uid};
use crate::store::{StoreResult, WriteTx, now};

for_both! {
    /// Write the audit entry and the outbox event of a change, inside the change's
    /// transaction.
    pub(in crate::store) async fn record_change(
        tx: &mut WriteTx<Db>,
        actor: Actor,
        action: &str,
        target: (&str, &str),
        detail: &serde_json::Value,
        event: NewEvent,
    ) -> StoreResult<()> {
        record_audit(tx, actor, action, target, detail).await?;
        dialect::lock_outbox(tx).await?;
        sqlx::query(
            "INSERT INTO outbox_events (id, type, subject, time, data) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(EventId::new())
        .bind(event.event_type.as_str())
        .bind(&event.subject)
        .bind(Ts(now()))
        .bind(&event.data)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Write an audit entry inside the change's transaction.
    pub(in crate::store) async fn record_audit(
        tx: &mut WriteTx<Db>,
        actor: Actor,
        action: &str,
        target: (&str, &str),
        detail: &serde_json::Value,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_entries (id, at, actor_id, action, target_type, target_id, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uid::new())
        .bind(Ts(now()))
        .bind(actor.user_id())
        .bind(action)
        .bind(target.0)
        .bind(target.1)
        .bind(detail)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
