//! Checking what Lake Formation holds against what a request was granted: each item is
//! healthy, or the difference is spelled out ("DESCRIBE missing on database sales").

use std::collections::{BTreeSet, HashMap};

use aws_sdk_lakeformation::types::{Permission, Resource};
use futures::stream::{self, StreamExt};

use super::{LakeFormationDriver, READS_IN_FLIGHT};
use crate::grants::{CallLog, GrantItem, ItemResult};

/// Up to this many whole tables are checked one `ListPermissions` each; more are checked
/// against one listing of the catalog's table permissions.
const PER_TABLE_CHECKS: usize = 4;

impl LakeFormationDriver {
    /// Reads are not serialised per account like changes. A few whole tables are checked
    /// with one `ListPermissions` each (principal and table), concurrently; more tables, or
    /// any column subset (which `ListPermissions` cannot be asked about with a principal),
    /// are checked against one listing of the catalog's table permissions, so a check
    /// costs two or three calls however many tables it covers.
    pub(super) async fn verify_items(
        &self,
        principal: &str,
        items: &[GrantItem],
        calls: &CallLog,
    ) -> Vec<ItemResult<()>> {
        let databases: Vec<&str> = items
            .iter()
            .map(|i| i.database.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let database_reads: Vec<_> = databases
            .iter()
            .map(|d| self.permissions_on(principal, self.database(d), calls))
            .collect();
        let on_databases = stream::iter(database_reads)
            .buffered(READS_IN_FLIGHT)
            .collect::<Vec<_>>();
        let catalog_wide =
            items.len() > PER_TABLE_CHECKS || items.iter().any(|i| i.columns.is_some());
        let on_tables = async {
            if catalog_wide {
                let held = self.held_on_tables(principal, calls).await;
                items
                    .iter()
                    .map(|item| match &held {
                        Ok(held) => Ok(HeldOnTable::on_table(held, item)),
                        Err(e) => Err(e.clone()),
                    })
                    .collect::<Vec<_>>()
            } else {
                let table_reads: Vec<_> = items
                    .iter()
                    .map(|item| self.permissions_on(principal, self.table(item), calls))
                    .collect();
                stream::iter(table_reads)
                    .buffered(READS_IN_FLIGHT)
                    .map(|held| held.map(|permissions| (permissions, Vec::new())))
                    .collect::<Vec<_>>()
                    .await
            }
        };
        let (on_databases, on_tables) = futures::join!(on_databases, on_tables);
        let on_database: HashMap<&str, Result<Vec<Permission>, String>> =
            databases.into_iter().zip(on_databases).collect();
        items
            .iter()
            .zip(on_tables)
            .map(|(item, table)| {
                let mut missing = Vec::new();
                match table {
                    Ok((table, column_sets)) => {
                        if item.columns.is_none() && !table.contains(&Permission::Select) {
                            missing.push(format!("SELECT missing on table {}", item.name()));
                        }
                        if !table.contains(&Permission::Describe) {
                            missing.push(format!("DESCRIBE missing on table {}", item.name()));
                        }
                        if let Some(columns) = &item.columns
                            && !column_sets
                                .iter()
                                .any(|held| columns.iter().all(|c| held.contains(c)))
                        {
                            missing.push(format!(
                                "SELECT missing on columns {} of {}",
                                columns.join(", "),
                                item.name()
                            ));
                        }
                    }
                    Err(e) => missing.push(e),
                }
                match &on_database[item.database.as_str()] {
                    Ok(database) if database.contains(&Permission::Describe) => {}
                    Ok(_) => {
                        missing.push(format!("DESCRIBE missing on database {}", item.database))
                    }
                    Err(e) => missing.push(e.clone()),
                }
                let result = if missing.is_empty() {
                    Ok(())
                } else {
                    Err(missing.join("; "))
                };
                ItemResult::new(item.item, result)
            })
            .collect()
    }
}

/// One entry of the principal's table permissions: on a whole table, or (with `columns`)
/// SELECT on some of its columns.
struct HeldOnTable {
    database: String,
    table: String,
    columns: Option<Vec<String>>,
    permissions: Vec<Permission>,
}

impl HeldOnTable {
    /// What the principal holds on the item's table: its table permissions, and each
    /// column set it may SELECT.
    fn on_table(held: &[HeldOnTable], item: &GrantItem) -> (Vec<Permission>, Vec<Vec<String>>) {
        let mut permissions = Vec::new();
        let mut column_sets = Vec::new();
        for entry in held
            .iter()
            .filter(|h| h.database == item.database && h.table == item.table)
        {
            match &entry.columns {
                None => permissions.extend(entry.permissions.iter().cloned()),
                Some(columns) if entry.permissions.contains(&Permission::Select) => {
                    column_sets.push(columns.clone())
                }
                Some(_) => {}
            }
        }
        (permissions, column_sets)
    }
}

impl LakeFormationDriver {
    /// Every table and column permission the principal holds, from one (paginated)
    /// listing of the catalog's table permissions, kept for the principal here.
    async fn held_on_tables(
        &self,
        principal: &str,
        calls: &CallLog,
    ) -> Result<Vec<HeldOnTable>, String> {
        let mut held = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .retried("ListPermissions", calls, || {
                    self.lakeformation
                        .list_permissions()
                        .catalog_id(&self.account)
                        .resource_type(aws_sdk_lakeformation::types::DataLakeResourceType::Table)
                        .set_next_token(token.clone())
                        .send()
                })
                .await?;
            for entry in page.principal_resource_permissions() {
                let same_principal = entry
                    .principal()
                    .and_then(|p| p.data_lake_principal_identifier())
                    == Some(principal);
                let Some(resource) = entry.resource().filter(|_| same_principal) else {
                    continue;
                };
                let permissions = entry.permissions().to_vec();
                if let Some(t) = resource.table() {
                    held.push(HeldOnTable {
                        database: t.database_name().to_owned(),
                        table: t.name().unwrap_or_default().to_owned(),
                        columns: None,
                        permissions,
                    });
                } else if let Some(t) = resource.table_with_columns() {
                    held.push(HeldOnTable {
                        database: t.database_name().to_owned(),
                        table: t.name().to_owned(),
                        columns: Some(t.column_names().to_vec()),
                        permissions,
                    });
                }
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(held),
            }
        }
    }

    /// Every permission the principal holds on a resource (all pages).
    async fn permissions_on(
        &self,
        principal: &str,
        resource: Resource,
        calls: &CallLog,
    ) -> Result<Vec<Permission>, String> {
        let mut permissions = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .retried("ListPermissions", calls, || {
                    self.lakeformation
                        .list_permissions()
                        .catalog_id(&self.account)
                        .principal(Self::principal(principal))
                        .resource(resource.clone())
                        .set_next_token(token.clone())
                        .send()
                })
                .await?;
            for entry in page.principal_resource_permissions() {
                permissions.extend(entry.permissions().iter().cloned());
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(permissions),
            }
        }
    }
}
