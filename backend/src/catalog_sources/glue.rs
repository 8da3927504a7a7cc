//! AWS Glue as a catalog source (aws-sdk-glue).

use async_trait::async_trait;
use aws_sdk_glue::Client;
use aws_sdk_glue::types::Table;

use super::{CatalogSource, SourceError, TablePages, all_pages};
use crate::domain::{Column, TableDefinition};

pub struct GlueSource {
    client: Client,
}

impl GlueSource {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(config),
        }
    }
}

fn unavailable(error: impl std::error::Error) -> SourceError {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    SourceError::Unavailable(text)
}

/// A Glue table as Wharf keeps it: columns then partition keys (flagged), comments as
/// descriptions, table parameters kept whole.
fn definition(database: &str, table: &Table) -> TableDefinition {
    let storage = table.storage_descriptor();
    let column = |c: &aws_sdk_glue::types::Column, partition: bool| Column {
        name: c.name().to_owned(),
        data_type: c.r#type().unwrap_or("unknown").to_owned(),
        description: c.comment().unwrap_or_default().to_owned(),
        is_pii: false,
        is_partition_key: partition,
    };
    let mut columns: Vec<Column> = storage
        .map(|s| s.columns().iter().map(|c| column(c, false)).collect())
        .unwrap_or_default();
    columns.extend(table.partition_keys().iter().map(|c| column(c, true)));
    let parameters: serde_json::Map<String, serde_json::Value> = table
        .parameters()
        .map(|p| {
            p.iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect()
        })
        .unwrap_or_default();
    TableDefinition {
        database: database.to_owned(),
        table: table.name().to_owned(),
        description: table.description().unwrap_or_default().to_owned(),
        location: storage.and_then(|s| s.location()).map(str::to_owned),
        parameters: serde_json::Value::Object(parameters),
        columns,
    }
}

#[async_trait]
impl TablePages for GlueSource {
    async fn page(
        &self,
        database: &str,
        token: Option<String>,
    ) -> Result<(Vec<TableDefinition>, Option<String>), SourceError> {
        let output = self
            .client
            .get_tables()
            .database_name(database)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(service) if service.is_entity_not_found_exception() => {
                    SourceError::DatabaseNotFound(database.to_owned())
                }
                _ => unavailable(e),
            })?;
        let tables = output
            .table_list()
            .iter()
            .map(|t| definition(database, t))
            .collect();
        Ok((tables, output.next_token().map(str::to_owned)))
    }
}

#[async_trait]
impl CatalogSource for GlueSource {
    async fn list_databases(&self) -> Result<Vec<String>, SourceError> {
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let output = self
                .client
                .get_databases()
                .set_next_token(token)
                .send()
                .await
                .map_err(unavailable)?;
            names.extend(output.database_list().iter().map(|d| d.name().to_owned()));
            match output.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        names.sort();
        Ok(names)
    }

    async fn list_tables(&self, database: &str) -> Result<Vec<TableDefinition>, SourceError> {
        all_pages(self, database).await
    }

    async fn get_table(
        &self,
        database: &str,
        table: &str,
    ) -> Result<Option<TableDefinition>, SourceError> {
        match self
            .client
            .get_table()
            .database_name(database)
            .name(table)
            .send()
            .await
        {
            Ok(output) => Ok(output.table().map(|t| definition(database, t))),
            Err(e) => match e.as_service_error() {
                Some(service) if service.is_entity_not_found_exception() => Ok(None),
                _ => Err(unavailable(e)),
            },
        }
    }
}
