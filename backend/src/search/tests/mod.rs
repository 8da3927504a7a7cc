//! Behaviour tests of the search module against small in-memory and on-disk indexes:
//! shared fixtures here, the tests by theme in the submodules.

mod index;
mod query;

use uuid::Uuid;

use super::*;

pub(super) fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n)
}

pub(super) fn col(name: &str) -> ColumnDoc {
    ColumnDoc {
        name: name.into(),
        data_type: "string".into(),
        description: String::new(),
    }
}

pub(super) fn table(n: u128, db: &str, name: &str, cols: &[&str]) -> TableDoc {
    TableDoc {
        id: id(n),
        database: db.into(),
        name: name.into(),
        description: String::new(),
        columns: cols.iter().map(|c| col(c)).collect(),
    }
}

pub(super) fn product(n: u128, name: &str, description: &str) -> ProductDoc {
    ProductDoc {
        id: id(n),
        slug: name.to_lowercase().replace(' ', "-"),
        name: name.into(),
        description: description.into(),
        domain: "Sales".into(),
        classification: "internal".into(),
        tags: vec![],
        owner_team: "team-a".into(),
        environment: "Production".into(),
        is_draft: false,
        stewards: vec![],
        tables: vec![],
    }
}

pub(super) fn viewer() -> Viewer {
    Viewer {
        user: id(999_999),
        teams: vec!["team-z".into()],
        is_admin: false,
    }
}

pub(super) fn q(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.into(),
        filters: Filters::default(),
        viewer: viewer(),
        limit: 20,
        cursor: None,
    }
}

pub(super) fn names(page: &SearchPage) -> Vec<String> {
    page.hits
        .iter()
        .map(|h| h.table.clone().unwrap_or_else(|| h.product_name.clone()))
        .collect()
}

pub(super) fn facet<'a>(page: &'a SearchPage, field: &str) -> &'a Facet {
    page.facets
        .iter()
        .find(|f| f.field == field)
        .expect("facet present")
}

pub(super) fn count_of(page: &SearchPage, field: &str, value: &str) -> Option<u64> {
    facet(page, field)
        .values
        .iter()
        .find(|v| v.value == value)
        .map(|v| v.count)
}

/// A small catalog: sales orders, a customer 360 product with tables, finance invoices.
pub(super) fn catalog() -> Vec<ProductDoc> {
    let mut orders = product(1, "Orders", "All orders placed in the web shop.");
    orders.tags = vec!["pii".into()];
    orders.tables = vec![table(
        11,
        "sales",
        "order_lines",
        &["order_id", "sku", "quantity"],
    )];

    let mut archive = product(
        2,
        "Order archive",
        "Orders, orders and more orders: historical orders of every orders system.",
    );
    archive.environment = "Sandbox".into();

    let mut customer = product(
        3,
        "Customer 360",
        "Everything about a <customer> & their orders.",
    );
    customer.domain = "Marketing".into();
    customer.tags = vec!["pii".into(), "gold".into()];
    customer.tables = vec![
        table(
            31,
            "crm",
            "customers",
            &["customer_id", "email", "signup_date"],
        ),
        table(32, "crm", "segments", &["segment_id", "customer_id"]),
    ];

    let mut invoices = product(4, "Invoices", "Billing documents.");
    invoices.domain = "Finance".into();
    invoices.classification = "confidential".into();
    invoices.owner_team = "team-f".into();
    invoices.tables = vec![table(
        41,
        "billing",
        "invoice_items",
        &["invoice_id", "amount_cents"],
    )];
    vec![orders, archive, customer, invoices]
}

pub(super) fn index_with(docs: Vec<ProductDoc>) -> CatalogIndex {
    let idx = CatalogIndex::in_memory().expect("index");
    idx.rebuild(docs.into_iter(), 7).expect("rebuild");
    idx
}
