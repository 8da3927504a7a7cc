//! Sample data for `wharf serve --demo`, so a newcomer sees a living catalog, and the demo
//! users the development sign-in offers. Idempotent: seeding again adds nothing twice.

mod catalog;
mod history;

use crate::domain::*;
use crate::store::{Store, StoreError, StoreResult};

const DOMAINS: &[(&str, &str, &str)] = &[
    (
        "sales",
        "Sales",
        "Orders, customers and revenue across all channels.",
    ),
    (
        "finance",
        "Finance",
        "Ledgers, invoices, budgets and forecasts.",
    ),
    (
        "marketing",
        "Marketing",
        "Campaigns, web analytics and attribution.",
    ),
    (
        "operations",
        "Operations",
        "Inventory, shipments and fulfilment.",
    ),
];

/// A person the development sign-in can act as. The same people (and groups) exist in the
/// test IdP, so journeys read the same with either sign-in.
#[derive(Debug)]
pub struct DemoUser {
    pub login: &'static str,
    pub name: &'static str,
    pub role: &'static str,
    pub teams: &'static [&'static str],
}

impl DemoUser {
    pub fn claims(&self) -> UserClaims {
        UserClaims {
            subject: format!("demo:{}", self.login),
            email: Some(format!("{}@example.com", self.login)),
            name: self.name.into(),
        }
    }
}

pub const DEMO_USERS: &[DemoUser] = &[
    DemoUser {
        login: "ana",
        name: "Ana Analyst",
        role: "Analyst",
        teams: &["analytics"],
    },
    DemoUser {
        login: "omar",
        name: "Omar Owner",
        role: "Data owner",
        teams: &["sales-data"],
    },
    DemoUser {
        login: "sofia",
        name: "Sofia Steward",
        role: "Steward and analyst",
        teams: &["finance-data", "analytics"],
    },
    DemoUser {
        login: "root",
        name: "Rita Root",
        role: "Administrator",
        teams: &["wharf-admins"],
    },
];

/// Create what is missing of the demo catalog: domains, then products with their tables,
/// then the demo teams' roles and a few requests.
pub async fn seed(store: &dyn Store) -> StoreResult<()> {
    seed_domains(store).await?;
    for (domain, team, name, classification, tags, description, tables) in catalog::PRODUCTS {
        let slug = Slug::from_name(name).expect("demo names make slugs");
        match store.product_by_slug(&slug).await {
            Ok(_) => continue,
            Err(StoreError::NotFound) => {}
            Err(other) => return Err(other),
        }
        let fields = ProductFields {
            name: (*name).into(),
            description: format!(
                "{description}\n\nOwned by the `{team}` team. Refreshed daily at 06:00 UTC."
            ),
            domain: Slug::parse(domain).expect("demo domain"),
            owner_team: TeamName::parse(team).expect("demo team"),
            environment: Slug::parse("sandbox").expect("sandbox"),
            classification: Classification::parse(classification).expect("demo classification"),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            steward_emails: Vec::new(),
            auto_approve: *classification == "public",
            max_access_days: 180,
        };
        let product = store.create_product(Actor::System, &slug, &fields).await?;
        for table in *tables {
            let definition = TableDefinition {
                database: format!("{domain}_curated"),
                table: (*table).into(),
                description: format!("{} — part of {name}.", table.replace('_', " ")),
                location: Some(format!("s3://demo-lake/{domain}/{table}/")),
                parameters: serde_json::json!({ "classification": "parquet" }),
                columns: catalog::columns(table)
                    .into_iter()
                    .map(|(column, data_type, description, is_pii)| Column {
                        name: column.into(),
                        data_type: data_type.into(),
                        description: description.into(),
                        is_pii,
                        is_partition_key: column == "ingestion_date",
                    })
                    .collect(),
            };
            store
                .put_asset(Actor::System, &product, &definition)
                .await?;
        }
        if !catalog::DRAFTS.contains(name) {
            store
                .set_product_status(Actor::System, product.id, ProductStatus::Published)
                .await?;
        }
    }
    history::seed(store).await
}

async fn seed_domains(store: &dyn Store) -> StoreResult<()> {
    let existing = store.list_domains().await?;
    for (slug, name, description) in DOMAINS {
        if existing.iter().any(|d| d.slug.as_str() == *slug) {
            continue;
        }
        let slug = Slug::parse(slug).expect("demo slugs are valid");
        store
            .create_domain(
                Actor::System,
                &NewDomain {
                    slug,
                    name: (*name).into(),
                    description: (*description).into(),
                },
            )
            .await?;
    }
    Ok(())
}
