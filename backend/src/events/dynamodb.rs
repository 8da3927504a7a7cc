//! The DynamoDB sink: one item per event in one table, partition key `subject`, sort key
//! `sort` = time + id (so a subject's events read back in order; the time is written with a
//! fixed number of fraction digits, because RFC 3339 trims trailing zeros and `.12Z` would
//! sort after `.123Z`), written with a
//! conditional put on the id: a replay after a crash writes nothing twice. The table is
//! created with streams on, so other domains' consumers can hang off it.

use std::collections::HashMap;

use anyhow::Context;
use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, StreamSpecification, StreamViewType,
};
use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::OnceCell;

use super::EventSink;
use crate::domain::OutboxEvent;
use crate::domain::events::CloudEvent;
use crate::store::Store;

/// Subjects written side by side; one subject's events are written one after another.
const PARALLEL_SUBJECTS: usize = 16;

pub struct DynamoDbSink {
    table: String,
    source: String,
    endpoint: Option<String>,
    create_table: bool,
    store: Arc<dyn Store>,
    /// Built on first use: loading the AWS configuration is async, the app is not.
    client: OnceCell<Client>,
}

/// UTC, microseconds always six digits: text order is time order.
fn sortable_time(at: time::OffsetDateTime) -> anyhow::Result<String> {
    const FORMAT: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    Ok(at.to_offset(time::UtcOffset::UTC).format(FORMAT)?)
}

impl DynamoDbSink {
    /// Credentials and region come from the default AWS chain; `endpoint` overrides the
    /// service address (tests, local stand-ins). With `create_table`, the table is
    /// created on first use when missing.
    pub fn new(
        store: Arc<dyn Store>,
        table: String,
        source: String,
        endpoint: Option<String>,
        create_table: bool,
    ) -> Self {
        Self {
            table,
            source,
            endpoint,
            create_table,
            store,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> anyhow::Result<&Client> {
        self.client
            .get_or_try_init(|| async {
                let mut loader = aws_config::defaults(BehaviorVersion::latest());
                if let Some(endpoint) = &self.endpoint {
                    loader = loader.endpoint_url(endpoint);
                }
                let client = Client::new(&loader.load().await);
                if self.create_table {
                    ensure_table(&client, &self.table).await?;
                }
                Ok(client)
            })
            .await
    }
}

/// Create the table (with its key schema and a stream) unless it exists.
async fn ensure_table(client: &Client, table: &str) -> anyhow::Result<()> {
    let described = client.describe_table().table_name(table).send().await;
    match described {
        Ok(_) => return Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) => {}
        Err(error) => {
            return Err(anyhow::Error::new(error))
                .with_context(|| format!("cannot describe DynamoDB table {table}"));
        }
    }
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    client
        .create_table()
        .table_name(table)
        .attribute_definitions(attribute("subject")?)
        .attribute_definitions(attribute("sort")?)
        .key_schema(key("subject", KeyType::Hash)?)
        .key_schema(key("sort", KeyType::Range)?)
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()?,
        )
        .send()
        .await
        .with_context(|| format!("cannot create DynamoDB table {table}"))?;
    tracing::info!(%table, "created the events table in DynamoDB");
    Ok(())
}

impl DynamoDbSink {
    async fn put_in_order(&self, events: Vec<OutboxEvent>) -> anyhow::Result<()> {
        for event in &events {
            self.put(event).await?;
        }
        Ok(())
    }

    async fn put(&self, event: &OutboxEvent) -> anyhow::Result<()> {
        let cloud = CloudEvent::new(event, &self.source);
        let time = sortable_time(cloud.time)?;
        let item = HashMap::from([
            (
                "subject".to_owned(),
                AttributeValue::S(event.subject.clone()),
            ),
            (
                "sort".to_owned(),
                AttributeValue::S(format!("{time}#{}", cloud.id)),
            ),
            ("id".to_owned(), AttributeValue::S(cloud.id.clone())),
            (
                "type".to_owned(),
                AttributeValue::S(event.event_type.clone()),
            ),
            ("time".to_owned(), AttributeValue::S(time)),
            ("seq".to_owned(), AttributeValue::N(event.seq.to_string())),
            ("source".to_owned(), AttributeValue::S(self.source.clone())),
            ("data".to_owned(), AttributeValue::S(event.data.to_string())),
            (
                "event".to_owned(),
                AttributeValue::S(serde_json::to_string(&cloud)?),
            ),
        ]);
        let put = self
            .client()
            .await?
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(error))
                if matches!(
                    error.err(),
                    PutItemError::ConditionalCheckFailedException(_)
                ) =>
            {
                // Written before a crash or by an overlapping relay: already delivered.
                Ok(())
            }
            Err(error) => Err(anyhow::Error::new(error))
                .with_context(|| format!("PutItem of event {} failed", cloud.id)),
        }
    }
}

#[async_trait]
impl EventSink for DynamoDbSink {
    fn name(&self) -> &'static str {
        "dynamodb"
    }

    async fn deliver(&self, from: i64, events: &[OutboxEvent]) -> anyhow::Result<()> {
        // One subject's events in order; different subjects side by side.
        let mut by_subject: Vec<Vec<OutboxEvent>> = Vec::new();
        for event in events {
            match by_subject
                .iter_mut()
                .find(|list| list[0].subject == event.subject)
            {
                Some(list) => list.push(event.clone()),
                None => by_subject.push(vec![event.clone()]),
            }
        }
        let results: Vec<anyhow::Result<()>> = futures::stream::iter(by_subject)
            .map(|list: Vec<OutboxEvent>| self.put_in_order(list))
            .buffer_unordered(PARALLEL_SUBJECTS)
            .collect()
            .await;
        results.into_iter().collect::<anyhow::Result<()>>()?;
        let to = events.last().map_or(from, |e| e.seq);
        self.store
            .advance_sink_cursor(self.name(), from, to)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn sort_keys_order_like_the_times_they_hold() {
        let times = [
            datetime!(2026-11-22 01:02:03.1 UTC),
            datetime!(2026-11-22 01:02:03.12 UTC),
            datetime!(2026-11-22 01:02:03.123456 UTC),
            datetime!(2026-11-22 01:02:03.2 UTC),
            datetime!(2026-11-22 03:02:04 +01:00),
        ];
        let keys: Vec<String> = times.iter().map(|t| sortable_time(*t).unwrap()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys[0], "2026-11-22T01:02:03.100000Z");
        assert_eq!(keys[4], "2026-11-22T02:02:04.000000Z");
    }
}
