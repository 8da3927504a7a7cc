//! Where table definitions come from: AWS Glue for `aws` environments, people (through the
//! page and the API) for the sandbox. Import adds tables to a product; re-sync compares
//! them with their catalog and records what changed.

pub mod glue;
pub mod scheduled;
pub mod sync;

use async_trait::async_trait;

use crate::domain::TableDefinition;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("there is no database {0:?} in the catalog")]
    DatabaseNotFound(String),
    #[error("there is no table {0:?} in the catalog")]
    TableNotFound(String),
    #[error("the catalog did not answer: {0}")]
    Unavailable(String),
}

/// A data catalog Wharf can read table definitions from.
#[async_trait]
pub trait CatalogSource: Send + Sync {
    async fn list_databases(&self) -> Result<Vec<String>, SourceError>;
    /// Every table of a database (all pages).
    async fn list_tables(&self, database: &str) -> Result<Vec<TableDefinition>, SourceError>;
    /// One table; `Ok(None)` when it no longer exists.
    async fn get_table(
        &self,
        database: &str,
        table: &str,
    ) -> Result<Option<TableDefinition>, SourceError>;
}

/// One page of a paginated listing.
#[async_trait]
pub trait TablePages: Send + Sync {
    async fn page(
        &self,
        database: &str,
        token: Option<String>,
    ) -> Result<(Vec<TableDefinition>, Option<String>), SourceError>;
}

/// Follow `next` tokens until the last page. Guards against a catalog that repeats a token.
pub async fn all_pages(
    pages: &dyn TablePages,
    database: &str,
) -> Result<Vec<TableDefinition>, SourceError> {
    let mut tables = Vec::new();
    let mut token = None;
    let mut seen = std::collections::HashSet::new();
    loop {
        let (page, next) = pages.page(database, token).await?;
        tables.extend(page);
        match next {
            Some(next) if seen.insert(next.clone()) => token = Some(next),
            _ => return Ok(tables),
        }
    }
}

/// The catalog behind an environment: Glue for `aws` environments, none for the sandbox
/// (whose tables people define by hand).
pub async fn source_for(
    environment: &crate::domain::Environment,
    global_endpoint: Option<&str>,
) -> Option<glue::GlueSource> {
    let target = environment.aws_target()?;
    let config = crate::aws::sdk_config(&target, global_endpoint).await;
    Some(glue::GlueSource::new(&config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Column;

    struct FakePages {
        pages: Vec<Vec<&'static str>>,
    }

    #[async_trait]
    impl TablePages for FakePages {
        async fn page(
            &self,
            database: &str,
            token: Option<String>,
        ) -> Result<(Vec<TableDefinition>, Option<String>), SourceError> {
            let index: usize = token.map_or(0, |t| t.parse().unwrap());
            let tables = self.pages[index]
                .iter()
                .map(|name| TableDefinition {
                    database: database.into(),
                    table: (*name).into(),
                    description: String::new(),
                    location: None,
                    parameters: serde_json::json!({}),
                    columns: vec![Column {
                        name: "id".into(),
                        data_type: "bigint".into(),
                        description: String::new(),
                        is_pii: false,
                        is_partition_key: false,
                    }],
                })
                .collect();
            let next = (index + 1 < self.pages.len()).then(|| (index + 1).to_string());
            Ok((tables, next))
        }
    }

    #[tokio::test]
    async fn every_page_is_read() {
        let fake = FakePages {
            pages: vec![vec!["a", "b"], vec!["c"], vec![], vec!["d"]],
        };
        let tables = all_pages(&fake, "sales").await.unwrap();
        let names: Vec<_> = tables.iter().map(|t| t.table.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
    }
}
