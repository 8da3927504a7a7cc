//! In-app notifications on SQLite: who hears about a request, their list, unread counts.

use async_trait::async_trait;
use sqlx::SqliteConnection;
use time::OffsetDateTime;

use super::access::{event, load_one};
use super::{SqliteStore, parse_id, parse_ts, record_change, ts};
use crate::domain::events::Audience;
use crate::domain::*;
use crate::store::common::sqlite_peers::delivery::move_cursor;
use crate::store::{NewNotification, Notification, NotificationStore, StoreResult, now};

pub(in crate::store) async fn insert_notification(
    conn: &mut SqliteConnection,
    notification: &NewNotification,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO notifications (id, user_id, event_id, title, link, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
    )
    .bind(NotificationId::new().to_string())
    .bind(notification.user.to_string())
    .bind(notification.event_id.map(|id| id.to_string()))
    .bind(&notification.title)
    .bind(&notification.link)
    .bind(ts(now()))
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl NotificationStore for SqliteStore {
    #[tracing::instrument(skip_all)]
    async fn audience(&self, request: RequestId, audience: Audience) -> StoreResult<Vec<UserId>> {
        let sql = match audience {
            Audience::Requester => "SELECT requester_id FROM access_requests WHERE id = ?1",
            Audience::ProductOwners => {
                "SELECT m.user_id FROM access_requests r
                   JOIN products p ON p.id = r.product_id
                   JOIN memberships m ON m.team_id = p.owner_team_id
                  WHERE r.id = ?1
                 UNION
                 SELECT s.user_id FROM access_requests r
                   JOIN product_stewards s ON s.product_id = r.product_id
                  WHERE r.id = ?1"
            }
        };
        let ids: Vec<String> = sqlx::query_scalar(sql)
            .bind(request.to_string())
            .fetch_all(&self.pool)
            .await?;
        ids.iter().map(|id| parse_id(id)).collect()
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
        let (before_at, before_id) = match before {
            Some((at, id)) => (Some(ts(at)), Some(id.to_string())),
            None => (None, None),
        };
        let rows: Vec<(String, String, Option<String>, Option<String>, String)> = sqlx::query_as(
            "SELECT id, title, link, read_at, created_at FROM notifications
             WHERE user_id = ?1
               AND (?2 IS NULL OR created_at < ?2 OR (created_at = ?2 AND id < ?3))
             ORDER BY created_at DESC, id DESC LIMIT ?4",
        )
        .bind(user.to_string())
        .bind(before_at)
        .bind(before_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, title, link, read_at, created_at)| {
                Ok(Notification {
                    id: parse_id(&id)?,
                    title,
                    link,
                    read: read_at.is_some(),
                    created_at: parse_ts(&created_at)?,
                })
            })
            .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn notification_link(
        &self,
        user: UserId,
        id: NotificationId,
    ) -> StoreResult<Option<String>> {
        let link: Option<String> =
            sqlx::query_scalar("SELECT link FROM notifications WHERE user_id = ?1 AND id = ?2")
                .bind(user.to_string())
                .bind(id.to_string())
                .fetch_one(&self.pool)
                .await?;
        Ok(link)
    }

    #[tracing::instrument(skip_all)]
    async fn unread_notifications(&self, user: UserId) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE user_id = ?1 AND read_at IS NULL",
        )
        .bind(user.to_string())
        .fetch_one(&self.pool)
        .await?)
    }

    #[tracing::instrument(skip_all)]
    async fn mark_notifications_read(
        &self,
        user: UserId,
        ids: Option<&[NotificationId]>,
    ) -> StoreResult<u64> {
        let now = ts(now());
        let changed = match ids {
            None => sqlx::query(
                "UPDATE notifications SET read_at = ?1 WHERE user_id = ?2 AND read_at IS NULL",
            )
            .bind(&now)
            .bind(user.to_string())
            .execute(&self.pool)
            .await?
            .rows_affected(),
            Some(ids) => {
                let mut tx = self.begin().await?;
                let mut changed = 0;
                for id in ids {
                    changed += sqlx::query(
                        "UPDATE notifications SET read_at = ?1
                         WHERE user_id = ?2 AND id = ?3 AND read_at IS NULL",
                    )
                    .bind(&now)
                    .bind(user.to_string())
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                tx.commit().await?;
                changed
            }
        };
        if changed > 0 {
            self.writes.committed();
        }
        Ok(changed)
    }

    #[tracing::instrument(skip_all)]
    async fn warn_expiring(&self, before: OffsetDateTime) -> StoreResult<usize> {
        let mut tx = self.begin().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "UPDATE access_requests SET expiry_warned_at = ?1
              WHERE status = 'granted' AND expiry_warned_at IS NULL AND requested_until < ?2
              RETURNING id",
        )
        .bind(ts(now()))
        .bind(ts(before))
        .fetch_all(&mut *tx)
        .await?;
        for id in &ids {
            let request = load_one(&mut tx, id).await?;
            let detail = serde_json::json!({"until": request.requested_until.to_string()});
            record_change(
                &mut tx,
                Actor::System,
                "expiry approaching",
                ("access_request", id),
                &detail,
                event(EventType::AccessExpiryApproaching, &request),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(ids.len())
    }
}
