//! Matching, ranking, typos, drafts, facets and browsing.

use std::collections::HashSet;

use super::*;

#[test]
fn exact_name_match_ranks_first() {
    let idx = index_with(catalog());
    let page = idx.search(&q("orders")).unwrap();
    assert_eq!(names(&page)[0], "Orders", "{:?}", names(&page));
    assert!(names(&page).contains(&"Order archive".to_owned()));
    // Name equality ignores case and snake_case.
    let page = idx.search(&q("Order Lines")).unwrap();
    assert_eq!(names(&page)[0], "sales.order_lines");
}

#[test]
fn tables_are_found_by_column_and_all_terms_must_match() {
    let idx = index_with(catalog());
    let page = idx.search(&q("customer_id")).unwrap();
    let found: HashSet<String> = names(&page).into_iter().collect();
    assert_eq!(
        found,
        HashSet::from(["crm.customers".into(), "crm.segments".into()])
    );
    let hit = &page.hits[0];
    assert_eq!(hit.kind, HitKind::Table);
    assert_eq!(hit.matched_columns, ["customer_id"]);
    assert!(hit.asset_id.is_some());
    // "customer" alone also matches the part of customer_id.
    let page = idx.search(&q("segment customer")).unwrap();
    assert_eq!(names(&page), ["crm.segments"]);
    assert_eq!(idx.search(&q("invoice customer")).unwrap().total, 0);
}

#[test]
fn last_term_matches_as_prefix() {
    let idx = index_with(catalog());
    let page = idx.search(&q("cust")).unwrap();
    assert!(names(&page).contains(&"Customer 360".to_owned()));
    assert!(names(&page).contains(&"crm.customers".to_owned()));
    // Only the last term is a prefix.
    assert_eq!(idx.search(&q("cust email")).unwrap().total, 0);
    assert_eq!(
        names(&idx.search(&q("email cust")).unwrap()),
        ["crm.customers"]
    );
    // A compound being typed matches its complete parts, and the last part as a prefix.
    let typing = names(&idx.search(&q("customer_i")).unwrap());
    assert!(
        typing.contains(&"crm.customers".to_owned()) && typing.contains(&"crm.segments".to_owned())
    );
    assert!(!typing.contains(&"Orders".to_owned()));
}

#[test]
fn typos_are_tolerated_when_the_term_is_unknown() {
    let idx = index_with(catalog());
    let page = idx.search(&q("custmer_id")).unwrap();
    assert_eq!(page.total, 2, "{:?}", names(&page));
    let page = idx.search(&q("invoise billing")).unwrap();
    let found: HashSet<String> = names(&page).into_iter().collect();
    assert_eq!(
        found,
        HashSet::from(["Invoices".into(), "billing.invoice_items".into()])
    );
    // The last term too (as a prefix), and highlighting marks the corrected word.
    let page = idx.search(&q("Invioces")).unwrap();
    assert_eq!(names(&page)[0], "Invoices");
    assert!(
        page.hits[0].highlight.contains("<mark>Invoices</mark>"),
        "{}",
        page.hits[0].highlight
    );
    // Short words are not corrected.
    assert_eq!(idx.search(&q("sku quantiti")).unwrap().total, 1);
    assert_eq!(idx.search(&q("skx")).unwrap().total, 0);
}

#[test]
fn drafts_are_visible_only_to_team_stewards_and_admins() {
    let mut docs = catalog();
    let steward = id(500);
    let mut draft = product(9, "Secret churn model", "Draft work on churn.");
    draft.is_draft = true;
    draft.owner_team = "team-d".into();
    draft.stewards = vec![steward];
    draft.tables = vec![table(91, "ml", "churn_scores", &["customer_id", "churn"])];
    docs.push(draft);
    let idx = index_with(docs);

    let outsider = idx.search(&q("churn")).unwrap();
    assert_eq!(outsider.total, 0);
    assert!(outsider.facets.iter().all(|f| f.values.is_empty()));
    let browse = idx.search(&q("")).unwrap();
    assert!(!names(&browse).iter().any(|n| n.contains("churn")));
    assert_eq!(count_of(&browse, "kind", "table"), Some(4));

    let mut member = q("churn");
    member.viewer.teams = vec!["team-d".into()];
    assert_eq!(idx.search(&member).unwrap().total, 2);
    let mut by_steward = q("churn");
    by_steward.viewer.user = steward;
    assert_eq!(idx.search(&by_steward).unwrap().total, 2);
    let mut admin = q("customer_id");
    admin.viewer.is_admin = true;
    assert_eq!(idx.search(&admin).unwrap().total, 3);
    assert_eq!(idx.search(&q("customer_id")).unwrap().total, 2);
}

#[test]
fn facets_count_matches_of_text_and_other_filters() {
    let idx = index_with(catalog());
    let page = idx.search(&q("")).unwrap();
    assert_eq!(page.total, 8);
    let order: Vec<&str> = page.facets.iter().map(|f| f.field).collect();
    assert_eq!(
        order,
        [
            "domain",
            "classification",
            "tag",
            "owner_team",
            "environment",
            "kind"
        ]
    );
    assert_eq!(count_of(&page, "domain", "Sales"), Some(3));
    assert_eq!(count_of(&page, "domain", "Marketing"), Some(3));
    assert_eq!(count_of(&page, "tag", "pii"), Some(5));
    assert_eq!(count_of(&page, "kind", "product"), Some(4));

    // One filtered facet (counted in a single scan): its own counts ignore the filter,
    // the others honour it.
    let mut one = q("");
    one.filters.domain = vec!["Marketing".into()];
    let page = idx.search(&one).unwrap();
    assert_eq!(page.total, 3);
    assert!(page.hits.iter().all(|h| h.domain == "Marketing"));
    assert_eq!(count_of(&page, "domain", "Sales"), Some(3));
    assert_eq!(count_of(&page, "domain", "Finance"), Some(2));
    assert_eq!(count_of(&page, "kind", "table"), Some(2));
    assert_eq!(count_of(&page, "tag", "gold"), Some(3));
    assert_eq!(count_of(&page, "owner_team", "team-f"), None);
    let mut one_text = q("customer");
    one_text.filters.kind = vec!["table".into()];
    let page = idx.search(&one_text).unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(count_of(&page, "kind", "product"), Some(1));
    assert_eq!(count_of(&page, "domain", "Marketing"), Some(2));

    let mut filtered = q("");
    filtered.filters.domain = vec!["Marketing".into()];
    filtered.filters.kind = vec!["table".into()];
    let page = idx.search(&filtered).unwrap();
    assert_eq!(page.total, 2);
    assert!(
        page.hits
            .iter()
            .all(|h| h.kind == HitKind::Table && h.domain == "Marketing")
    );
    // Domain counts ignore the domain filter but honour the kind filter.
    assert_eq!(count_of(&page, "domain", "Sales"), Some(1));
    assert_eq!(count_of(&page, "domain", "Marketing"), Some(2));
    assert_eq!(count_of(&page, "domain", "Finance"), Some(1));
    let marketing = facet(&page, "domain")
        .values
        .iter()
        .find(|v| v.value == "Marketing")
        .unwrap();
    assert!(marketing.selected && !marketing.capped);
    // Kind counts ignore the kind filter but honour the domain filter.
    assert_eq!(count_of(&page, "kind", "product"), Some(1));
    assert_eq!(count_of(&page, "tag", "gold"), Some(2));

    // Values within a facet are OR-ed; a selected value without matches is still listed.
    let mut either = q("");
    either.filters.domain = vec!["Finance".into(), "Marketing".into(), "Nowhere".into()];
    let page = idx.search(&either).unwrap();
    assert_eq!(page.total, 5);
    let nowhere = facet(&page, "domain")
        .values
        .iter()
        .find(|v| v.value == "Nowhere")
        .unwrap();
    assert!(nowhere.selected && nowhere.count == 0);
    // With text.
    let mut text = q("customer");
    text.filters.tag = vec!["gold".into()];
    assert_eq!(idx.search(&text).unwrap().total, 3);
}

#[test]
fn empty_text_browses_by_name() {
    let idx = index_with(catalog());
    let page = idx.search(&q("  ")).unwrap();
    let got = names(&page);
    let mut sorted: Vec<String> = page
        .hits
        .iter()
        .map(|h| {
            h.table.as_deref().map_or(h.product_name.clone(), |t| {
                t.split('.').nth(1).unwrap_or("").to_owned()
            })
        })
        .map(|s| s.to_lowercase())
        .collect();
    let before = sorted.clone();
    sorted.sort();
    assert_eq!(before, sorted, "{got:?}");
    assert_eq!(got.len(), 8);
    assert!(page.next_cursor.is_none());
}

/// Regression: exact-name candidates are visited in order while the text scorer may already
/// have moved past the next one (it matched a later document); it must never seek backwards.
#[test]
fn exact_name_candidates_that_fail_a_filter_do_not_break_the_search() {
    let mut docs = Vec::new();
    for (n, environment) in [
        (1, "Staging"),
        (2, "Staging"),
        (3, "Production"),
        (4, "Staging"),
    ] {
        let mut p = product(n, "Amount", "daily amounts");
        p.environment = environment.into();
        docs.push(p);
    }
    let idx = index_with(docs);
    let mut query = q("amount");
    query.filters.environment = vec!["Production".into()];
    for is_admin in [false, true] {
        query.viewer.is_admin = is_admin;
        let page = idx.search(&query).unwrap();
        assert_eq!(page.total, 1, "{:?}", names(&page));
        assert_eq!(page.hits[0].product_id, id(3));
    }
}
