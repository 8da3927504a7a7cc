//! The sample catalog: products and tables with realistic columns, in the sandbox.

/// (domain slug, owner team, product name, classification, tags, description, tables)
pub type DemoProduct = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static [&'static str],
);

pub const PRODUCTS: &[DemoProduct] = &[
    (
        "sales",
        "sales-data",
        "Orders",
        "internal",
        &["orders", "gold"],
        "Every **order** placed online and in stores, updated hourly.",
        &["orders", "order_lines", "order_status_history", "returns"],
    ),
    (
        "sales",
        "sales-data",
        "Customers",
        "confidential",
        &["customers", "pii"],
        "The **customer master**: one row per customer, deduplicated across channels.",
        &[
            "customers",
            "customer_addresses",
            "customer_segments",
            "loyalty_members",
        ],
    ),
    (
        "sales",
        "sales-data",
        "Revenue",
        "internal",
        &["revenue", "finance", "gold"],
        "Daily recognised revenue by channel, region and product line.",
        &[
            "daily_revenue",
            "revenue_by_channel",
            "revenue_by_region",
            "revenue_targets",
        ],
    ),
    (
        "sales",
        "sales-data",
        "Pricing",
        "internal",
        &["pricing"],
        "List prices, promotions and price changes.",
        &[
            "price_list",
            "promotions",
            "price_changes",
            "discount_codes",
        ],
    ),
    (
        "sales",
        "sales-data",
        "Sales pipeline",
        "restricted",
        &["crm", "forecast"],
        "Opportunities and forecasts from the CRM. *Restricted*: ask the sales operations team.",
        &["opportunities", "accounts", "forecasts", "sales_reps"],
    ),
    (
        "finance",
        "finance-data",
        "General ledger",
        "restricted",
        &["ledger", "gold"],
        "Journal entries and balances of the general ledger.",
        &[
            "journal_entries",
            "account_balances",
            "chart_of_accounts",
            "fiscal_periods",
        ],
    ),
    (
        "finance",
        "finance-data",
        "Invoices",
        "confidential",
        &["invoices", "billing"],
        "Issued and received invoices with their payment state.",
        &["invoices", "invoice_lines", "payments", "credit_notes"],
    ),
    (
        "finance",
        "finance-data",
        "Budgets",
        "internal",
        &["budget", "planning"],
        "Approved budgets and monthly forecasts per cost centre.",
        &[
            "budgets",
            "budget_lines",
            "cost_centres",
            "monthly_forecasts",
        ],
    ),
    (
        "finance",
        "finance-data",
        "Currency rates",
        "public",
        &["reference", "fx"],
        "Daily foreign exchange reference rates.",
        &["fx_rates", "currencies", "fx_rate_history", "rate_sources"],
    ),
    (
        "finance",
        "finance-data",
        "Expenses",
        "confidential",
        &["expenses"],
        "Employee expense claims and approvals.",
        &[
            "expense_claims",
            "expense_items",
            "approvals",
            "reimbursements",
        ],
    ),
    (
        "marketing",
        "marketing-data",
        "Web analytics",
        "internal",
        &["web", "clickstream"],
        "Sessions, page views and conversions from the web shop.",
        &["sessions", "page_views", "conversions", "traffic_sources"],
    ),
    (
        "marketing",
        "marketing-data",
        "Campaigns",
        "internal",
        &["campaigns"],
        "Marketing campaigns with spend and reach.",
        &["campaigns", "campaign_spend", "ad_impressions", "ad_clicks"],
    ),
    (
        "marketing",
        "marketing-data",
        "Attribution",
        "internal",
        &["attribution", "gold"],
        "Multi-touch attribution of orders to campaigns.",
        &[
            "touchpoints",
            "attributed_orders",
            "channel_weights",
            "attribution_runs",
        ],
    ),
    (
        "marketing",
        "marketing-data",
        "Email engagement",
        "confidential",
        &["email", "pii"],
        "Email sends, opens and clicks per subscriber.",
        &["email_sends", "email_opens", "email_clicks", "subscribers"],
    ),
    (
        "marketing",
        "marketing-data",
        "Surveys",
        "internal",
        &["nps", "feedback"],
        "Customer satisfaction surveys and NPS answers. *Draft*: being reviewed.",
        &[
            "surveys",
            "survey_responses",
            "nps_scores",
            "survey_questions",
        ],
    ),
    (
        "operations",
        "ops-data",
        "Inventory",
        "internal",
        &["inventory", "gold"],
        "Stock levels per warehouse and product, every hour.",
        &[
            "stock_levels",
            "stock_movements",
            "warehouses",
            "reorder_points",
        ],
    ),
    (
        "operations",
        "ops-data",
        "Shipments",
        "internal",
        &["logistics"],
        "Outbound shipments, carriers and delivery times.",
        &["shipments", "shipment_events", "carriers", "delivery_slas"],
    ),
    (
        "operations",
        "ops-data",
        "Products catalog",
        "public",
        &["reference", "products"],
        "The product catalogue: articles, categories and attributes.",
        &["articles", "categories", "article_attributes", "suppliers"],
    ),
    (
        "operations",
        "ops-data",
        "Fulfilment",
        "internal",
        &["fulfilment"],
        "Picking, packing and fulfilment performance.",
        &[
            "pick_lists",
            "pack_events",
            "fulfilment_times",
            "fulfilment_centres",
        ],
    ),
    (
        "operations",
        "ops-data",
        "Suppliers",
        "confidential",
        &["suppliers", "procurement"],
        "Suppliers, contracts and purchase orders.",
        &[
            "supplier_contracts",
            "purchase_orders",
            "purchase_order_lines",
            "supplier_ratings",
        ],
    ),
];

/// Products left as drafts in the demo (visible to their owners only).
pub const DRAFTS: &[&str] = &["Surveys"];

/// Realistic columns for a table, from its name.
pub fn columns(table: &str) -> Vec<(&'static str, &'static str, &'static str, bool)> {
    let mut columns = vec![("id", "bigint", "Surrogate key", false)];
    let words: Vec<&str> = table.split('_').collect();
    let has = |w: &str| words.iter().any(|x| x.starts_with(w));
    if has("order") || has("return") || has("attributed") {
        columns.extend([
            ("order_id", "bigint", "The order", false),
            ("customer_id", "bigint", "Who ordered", false),
            ("order_date", "date", "Day of the order", false),
            ("total_amount", "decimal(12,2)", "Order total in EUR", false),
            ("channel", "string", "web, store or app", false),
        ]);
    }
    if has("customer") || has("loyalty") || has("subscriber") || has("address") {
        columns.extend([
            ("customer_id", "bigint", "Customer key", false),
            ("email", "string", "Email address", true),
            ("full_name", "string", "Name as given", true),
            ("postal_code", "string", "Postal code", true),
            ("country_code", "string", "ISO 3166 country", false),
            ("created_at", "timestamp", "First seen", false),
        ]);
    }
    if has("revenue") || has("budget") || has("forecast") || has("target") || has("balance") {
        columns.extend([
            ("period_start", "date", "First day of the period", false),
            ("amount", "decimal(14,2)", "Amount in EUR", false),
            ("currency", "string", "ISO 4217", false),
            ("region", "string", "Sales region", false),
            ("cost_centre", "string", "Cost centre code", false),
        ]);
    }
    if has("invoice")
        || has("payment")
        || has("credit")
        || has("journal")
        || has("expense")
        || has("reimburse")
    {
        columns.extend([
            ("document_number", "string", "Document number", false),
            ("posting_date", "date", "Posting date", false),
            ("amount", "decimal(14,2)", "Amount", false),
            ("currency", "string", "ISO 4217", false),
            ("counterparty", "string", "Customer or supplier", false),
            ("status", "string", "open, paid, cancelled", false),
        ]);
    }
    if has("session")
        || has("page")
        || has("conversion")
        || has("traffic")
        || has("touchpoint")
        || has("ad")
        || has("email")
        || has("campaign")
    {
        columns.extend([
            ("visitor_id", "string", "Pseudonymous visitor", false),
            ("event_time", "timestamp", "When it happened", false),
            ("campaign_id", "bigint", "Campaign", false),
            ("utm_source", "string", "Traffic source", false),
            ("device_type", "string", "desktop, mobile, tablet", false),
        ]);
    }
    if has("stock")
        || has("warehouse")
        || has("reorder")
        || has("pick")
        || has("pack")
        || has("fulfilment")
        || has("article")
        || has("categor")
    {
        columns.extend([
            ("article_id", "bigint", "Article", false),
            ("warehouse_id", "int", "Warehouse", false),
            ("quantity", "int", "Units", false),
            ("updated_at", "timestamp", "Last change", false),
        ]);
    }
    if has("shipment") || has("carrier") || has("delivery") {
        columns.extend([
            ("shipment_id", "bigint", "Shipment", false),
            ("carrier_code", "string", "Carrier", false),
            ("shipped_at", "timestamp", "Left the warehouse", false),
            ("delivered_at", "timestamp", "Delivered", false),
            (
                "tracking_number",
                "string",
                "Carrier tracking number",
                false,
            ),
        ]);
    }
    if has("supplier") || has("purchase") || has("contract") {
        columns.extend([
            ("supplier_id", "bigint", "Supplier", false),
            ("supplier_name", "string", "Legal name", false),
            ("contract_value", "decimal(14,2)", "Value in EUR", false),
            ("valid_until", "date", "End of contract", false),
        ]);
    }
    if has("price")
        || has("promotion")
        || has("discount")
        || has("fx")
        || has("currenc")
        || has("rate")
    {
        columns.extend([
            ("valid_from", "date", "First day valid", false),
            ("valid_to", "date", "Last day valid", false),
            ("rate", "decimal(18,8)", "Rate or price", false),
            ("currency", "string", "ISO 4217", false),
        ]);
    }
    if has("opportunit") || has("account") || has("rep") {
        columns.extend([
            ("account_name", "string", "Customer account", false),
            ("owner_email", "string", "Sales rep", true),
            ("stage", "string", "Pipeline stage", false),
            ("expected_close", "date", "Expected close date", false),
            ("value", "decimal(14,2)", "Deal value", false),
        ]);
    }
    if has("survey")
        || has("nps")
        || has("approval")
        || has("status")
        || has("segment")
        || has("sales")
        || has("chart")
        || has("fiscal")
        || has("cost")
        || has("channel")
        || has("weight")
        || has("run")
        || has("source")
        || has("question")
        || has("response")
        || has("score")
        || has("click")
        || has("open")
        || has("send")
        || has("impression")
        || has("spend")
        || has("movement")
        || has("event")
        || has("time")
        || has("sla")
        || has("centre")
        || has("attribute")
        || has("rating")
        || has("history")
        || has("code")
        || has("line")
        || has("item")
        || has("claim")
        || has("entries")
        || has("period")
        || has("member")
        || has("change")
        || has("list")
    {
        columns.extend([
            ("name", "string", "Display name", false),
            ("description", "string", "Free text", false),
            ("score", "double", "Measured value", false),
            ("recorded_at", "timestamp", "When recorded", false),
        ]);
    }
    columns.push((
        "ingestion_date",
        "date",
        "Partition: day the row arrived",
        false,
    ));
    let mut seen = std::collections::HashSet::new();
    columns.retain(|c| seen.insert(c.0));
    columns
}
