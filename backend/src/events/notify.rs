//! In-app notifications: the people an access request's event concerns get a line in
//! their list (owners and stewards on a new request; the requester on decisions, grant
//! results, revocation and approaching expiry).

use std::sync::Arc;

use async_trait::async_trait;

use super::EventSink;
use crate::domain::OutboxEvent;
use crate::domain::events::{link_for, notification_for};
use crate::store::{NewNotification, Store};

pub struct NotificationSink(pub Arc<dyn Store>);

#[async_trait]
impl EventSink for NotificationSink {
    fn name(&self) -> &'static str {
        "notifications"
    }

    async fn deliver(&self, from: i64, events: &[OutboxEvent]) -> anyhow::Result<()> {
        let mut notifications = Vec::new();
        for event in events {
            let Some((audience, title)) = notification_for(event) else {
                continue;
            };
            let Some(request) = event
                .subject
                .strip_prefix("access-requests/")
                .and_then(|id| id.parse().ok())
            else {
                continue;
            };
            for user in self.0.audience(request, audience).await? {
                notifications.push(NewNotification {
                    user,
                    event_id: Some(event.id),
                    title: title.clone(),
                    link: link_for(event),
                });
            }
        }
        let to = events.last().map_or(from, |e| e.seq);
        self.0
            .deliver_notifications(self.name(), from, to, &notifications)
            .await?;
        Ok(())
    }
}
