//! Sample data for `wharf serve --demo`, so a newcomer sees a living catalog.
//! Idempotent: running it again on the same database adds nothing twice.

use crate::domain::{Actor, NewDomain, Slug};
use crate::store::{Store, StoreResult};

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

/// Create what is missing of the demo catalog.
pub async fn seed(store: &dyn Store) -> StoreResult<()> {
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
