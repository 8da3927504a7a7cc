//! In-app notifications on PostgreSQL: who hears about a request, their list, unread counts.

use async_trait::async_trait;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::access::{event, load_one};
use super::{PgStore, record_change};
use crate::domain::events::Audience;
use crate::domain::*;
use crate::store::common::postgres_peers::delivery::move_cursor;
use crate::store::{NewNotification, Notification, NotificationStore, StoreResult, now};

pub(in crate::store) async fn insert_notification(
    conn: &mut PgConnection,
    notification: &NewNotification,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO notifications (id, user_id, event_id, title, link, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(NotificationId::new().0)
    .bind(notification.user.0)
    .bind(notification.event_id.map(|id| id.0))
    .bind(&notification.title)
    .bind(&notification.link)
    .bind(now())
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl NotificationStore for PgStore {
    #[tracing::instrument(skip_all)]
    async fn audience(&self, request: RequestId, audience: Audience) -> StoreResult<Vec<UserId>> {
        let sql = match audience {
            Audience::Requester => "SELECT requester_id FROM access_requests WHERE id = $1",
            Audience::ProductOwners => {
                "SELECT m.user_id FROM access_requests r
                   JOIN products p ON p.id = r.product_id
                   JOIN memberships m ON m.team_id = p.owner_team_id
                  WHERE r.id = $1
                 UNION
                 SELECT s.user_id FROM access_requests r
                   JOIN product_stewards s ON s.product_id = r.product_id
                  WHERE r.id = $1"
            }
        };
        let ids: Vec<Uuid> = sqlx::query_scalar(sql)
            .bind(request.0)
            .fetch_all(&self.pool)
            .await?;
        Ok(ids.into_iter().map(UserId).collect())
    }

    #[tracing::instrument(skip_all)]
    async fn deliver_notifications(
        &self,
        sink: &str,
        from: i64,
        to: i64,
        notifications: &[NewNotification],
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for notification in notifications {
            insert_notification(&mut tx, notification).await?;
        }
        move_cursor(&mut tx, sink, from, to).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn notifications(
        &self,
        user: UserId,
        before: Option<(OffsetDateTime, NotificationId)>,
        limit: i64,
    ) -> StoreResult<Vec<Notification>> {
        let rows: Vec<(
            Uuid,
            String,
            Option<String>,
            Option<OffsetDateTime>,
            OffsetDateTime,
        )> = sqlx::query_as(
            "SELECT id, title, link, read_at, created_at FROM notifications
              WHERE user_id = $1
                AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
              ORDER BY created_at DESC, id DESC LIMIT $4",
        )
        .bind(user.0)
        .bind(before.map(|b| b.0))
        .bind(before.map(|b| b.1.0))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, title, link, read_at, created_at)| Notification {
                id: NotificationId(id),
                title,
                link,
                read: read_at.is_some(),
                created_at,
            })
            .collect())
    }

    #[tracing::instrument(skip_all)]
    async fn notification_link(
        &self,
        user: UserId,
        id: NotificationId,
    ) -> StoreResult<Option<String>> {
        let link: Option<String> =
            sqlx::query_scalar("SELECT link FROM notifications WHERE user_id = $1 AND id = $2")
                .bind(user.0)
                .bind(id.0)
                .fetch_one(&self.pool)
                .await?;
        Ok(link)
    }

    #[tracing::instrument(skip_all)]
    async fn unread_notifications(&self, user: UserId) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL",
        )
        .bind(user.0)
        .fetch_one(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all)]
    async fn mark_notifications_read(
        &self,
        user: UserId,
        ids: Option<&[NotificationId]>,
    ) -> StoreResult<u64> {
        let changed = match ids {
            None => sqlx::query(
                "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL",
            )
            .bind(now())
            .bind(user.0)
            .execute(&self.pool)
            .await?
            .rows_affected(),
            Some(ids) => sqlx::query(
                "UPDATE notifications SET read_at = $1
                 WHERE user_id = $2 AND id = ANY($3) AND read_at IS NULL",
            )
            .bind(now())
            .bind(user.0)
            .bind(ids.iter().map(|id| id.0).collect::<Vec<_>>())
            .execute(&self.pool)
            .await?
            .rows_affected(),
        };
        if changed > 0 {
            self.writes.committed();
        }
        Ok(changed)
    }

    #[tracing::instrument(skip_all)]
    async fn warn_expiring(&self, before: OffsetDateTime) -> StoreResult<usize> {
        let mut tx = self.begin().await?;
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE access_requests SET expiry_warned_at = $1
              WHERE status = 'granted' AND expiry_warned_at IS NULL AND requested_until < $2
              RETURNING id",
        )
        .bind(now())
        .bind(before)
        .fetch_all(&mut *tx)
        .await?;
        for id in &ids {
            let request = load_one(&mut tx, *id).await?;
            let detail = serde_json::json!({"until": request.requested_until.to_string()});
            record_change(
                &mut tx,
                Actor::System,
                "expiry approaching",
                ("access_request", &id.to_string()),
                &detail,
                event(EventType::AccessExpiryApproaching, &request),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(ids.len())
    }
}
