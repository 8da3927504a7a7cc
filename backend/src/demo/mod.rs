//! Sample data for `wharf serve --demo`, so a newcomer sees a living catalog, and the demo
//! users the development sign-in offers. Idempotent: seeding again adds nothing twice.

use crate::domain::{Actor, NewDomain, Slug, UserClaims};
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
