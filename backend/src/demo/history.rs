//! A little history for the demo, so a newcomer's first pages have something to show: a
//! role registered for each demo team, a granted request, one waiting for a decision and
//! one whose access ends soon. The grants are applied by the worker, as in real use.

use time::Duration;

use super::DEMO_USERS;
use crate::domain::access::{NewAccessRequest, Transition};
use crate::domain::*;
use crate::grants::jobs::grant_job;
use crate::store::{RequestFilter, Store, StoreResult, now};

/// (team, IAM role, label) registered in the sandbox.
const ROLES: &[(&str, &str, &str)] = &[
    (
        "analytics",
        "arn:aws:iam::111122223333:role/analytics-dashboards",
        "Dashboards and notebooks",
    ),
    (
        "sales-data",
        "arn:aws:iam::111122223333:role/sales-reporting",
        "Sales reporting jobs",
    ),
    (
        "finance-data",
        "arn:aws:iam::111122223333:role/finance-planning",
        "Planning models",
    ),
];

/// One sample request: who asks, for which product's tables, why, for how many days, and
/// whether its owner (Omar) has approved it.
struct SampleRequest {
    requester: &'static str,
    product: &'static str,
    tables: &'static [&'static str],
    justification: &'static str,
    days: i64,
    approved: bool,
}

const REQUESTS: &[SampleRequest] = &[
    SampleRequest {
        requester: "ana",
        product: "orders",
        tables: &["orders", "order_lines"],
        justification: "Weekly basket-size dashboard for the analytics team.",
        days: 90,
        approved: true,
    },
    SampleRequest {
        requester: "sofia",
        product: "revenue",
        tables: &["daily_revenue"],
        justification: "Quarter-end revenue check; needed until the close is signed off.",
        days: 5,
        approved: true,
    },
    SampleRequest {
        requester: "ana",
        product: "customers",
        tables: &["customers", "customer_segments"],
        justification: "Churn model: segment and tenure per customer, no contact details.",
        days: 60,
        approved: false,
    },
];

/// Add the demo teams' roles and sample requests, unless they are there already.
pub async fn seed(store: &dyn Store) -> StoreResult<()> {
    let mut users = Vec::new();
    for demo in DEMO_USERS {
        let teams: Vec<TeamName> = demo
            .teams
            .iter()
            .map(|t| TeamName::parse(t).expect("demo team"))
            .collect();
        users.push((
            demo.login,
            store.sign_in_user(&demo.claims(), &teams).await?,
        ));
    }
    let user = |login: &str| {
        users
            .iter()
            .find(|(l, _)| *l == login)
            .map(|(_, u)| u.id)
            .expect("a demo user")
    };
    let sandbox = store.ensure_sandbox_environment().await?;
    let registered = store.list_principals(sandbox.id, None).await?;
    let mut principals = Vec::new();
    for (team, arn, label) in ROLES {
        let team = TeamName::parse(team).expect("demo team");
        let arn = PrincipalArn::parse(arn).expect("demo role");
        let principal = match registered.iter().find(|p| p.arn == arn) {
            Some(principal) => principal.clone(),
            None => {
                store
                    .register_principal(Actor::System, sandbox.id, &team, &arn, label)
                    .await?
            }
        };
        principals.push(principal);
    }
    let any_request = RequestFilter {
        all: true,
        limit: Some(1),
        ..Default::default()
    };
    if !store.list_requests(&any_request).await?.is_empty() {
        return Ok(());
    }
    let analytics = TeamName::parse("analytics").expect("demo team");
    let role = principals
        .iter()
        .find(|p| p.team == analytics)
        .expect("the analytics role");
    for sample in REQUESTS {
        let product = store
            .product_by_slug(&Slug::parse(sample.product).expect("demo slug"))
            .await?;
        let items = store
            .assets_of(&[product.id])
            .await?
            .into_iter()
            .filter(|asset| sample.tables.contains(&asset.table.as_str()))
            .map(|asset| (asset.id, None))
            .collect();
        let request = store
            .create_request(
                &NewAccessRequest {
                    product_id: product.id,
                    requester: user(sample.requester),
                    consumer_team: analytics.clone(),
                    principal_id: role.id,
                    items,
                    justification: sample.justification.into(),
                    requested_until: now() + Duration::days(sample.days),
                    idempotency_key: None,
                },
                false,
                &grant_job(RequestId::new()),
            )
            .await?;
        if sample.approved {
            store
                .transition_request(
                    Actor::User(user("omar")),
                    request.id,
                    RequestStatus::Submitted,
                    Transition::Approve,
                    "Approved for the demo.",
                    Some(&grant_job(request.id)),
                )
                .await?;
        }
    }
    Ok(())
}
