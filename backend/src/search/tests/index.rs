//! Pagination, odd input, highlighting and the index lifecycle (apply, reopen, rebuild).

use std::collections::HashSet;

use uuid::Uuid;

use super::*;

/// Many documents with identical scores: pages must neither repeat nor skip any, and
/// must list the documents in the same order as one big page.
#[test]
fn pagination_is_stable() {
    let docs: Vec<ProductDoc> = (0..60)
        .map(|i| {
            let mut p = product(
                100 + i,
                &format!("Ledger {}", i % 7),
                &format!("general ledger entries {}", i % 3),
            );
            p.tables = vec![table(
                1000 + i,
                "fin",
                &format!("ledger_{}", i % 5),
                &["amount"],
            )];
            p
        })
        .collect();
    let idx = index_with(docs);
    let all = |page: &SearchPage| {
        page.hits
            .iter()
            .map(|h| h.asset_id.unwrap_or(h.product_id))
            .collect::<Vec<_>>()
    };
    for (text, expected_total) in [("ledger", 120), ("", 120), ("led", 120), ("ledger 1", 0)] {
        let mut query = q(text);
        query.limit = 7;
        let mut seen = Vec::new();
        let mut pages = 0;
        let mut total;
        loop {
            let page = idx.search(&query).unwrap();
            total = page.total;
            seen.extend(all(&page));
            pages += 1;
            match page.next_cursor {
                Some(c) => {
                    assert!(
                        c.chars()
                            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
                    );
                    query.cursor = Some(c);
                }
                None => break,
            }
            assert!(pages < 30);
        }
        if expected_total > 0 {
            assert_eq!(total, expected_total, "{text:?}");
        }
        let unique: HashSet<Uuid> = seen.iter().copied().collect();
        assert_eq!(seen.len() as u64, total, "{text:?}");
        assert_eq!(unique.len(), seen.len(), "{text:?}");
        if total <= 100 {
            let mut one = q(text);
            one.limit = 100;
            assert_eq!(all(&idx.search(&one).unwrap()), seen, "{text:?}");
        }
    }
    // A cursor only fits the query it came from.
    let mut first = q("ledger");
    first.limit = 5;
    let cursor = idx.search(&first).unwrap().next_cursor.unwrap();
    let mut other = q("entries");
    other.cursor = Some(cursor);
    let err = idx.search(&other).unwrap_err();
    assert!(err.downcast_ref::<InvalidCursor>().is_some());
    let mut garbage = q("ledger");
    garbage.cursor = Some("%%%not-base64".into());
    let err = idx.search(&garbage).unwrap_err();
    assert!(err.downcast_ref::<InvalidCursor>().is_some());
}

#[test]
fn odd_characters_are_just_separators() {
    let idx = index_with(catalog());
    for text in [
        "\"orders",
        "orders AND (",
        "*",
        "+-!^~:",
        "o'rders",
        "\\",
        "order~2",
        "<script>",
        "💥",
        "ordérs",
        "a b c d e f g h i j k l m n o",
    ] {
        idx.search(&q(text))
            .unwrap_or_else(|e| panic!("{text:?}: {e}"));
    }
    assert!(idx.search(&q("(orders)")).unwrap().total >= 2);
}

#[test]
fn highlights_are_escaped_and_marked() {
    let idx = index_with(catalog());
    let page = idx.search(&q("customer")).unwrap();
    let hit = page
        .hits
        .iter()
        .find(|h| h.product_name == "Customer 360" && h.kind == HitKind::Product)
        .unwrap();
    assert_eq!(
        hit.highlight,
        "Everything about a &lt;<mark>customer</mark>&gt; &amp; their orders."
    );
    let table = page
        .hits
        .iter()
        .find(|h| h.table.as_deref() == Some("crm.segments"))
        .unwrap();
    assert_eq!(table.highlight, "<mark>customer</mark>_id");
}

#[test]
fn apply_replaces_and_removes_products() {
    let idx = index_with(catalog());
    assert_eq!(idx.indexed_seq(), 7);
    let mut renamed = catalog().remove(3);
    renamed.name = "Receivables".into();
    renamed.tables.clear();
    idx.apply(&[renamed], &[id(1)], 8).unwrap();
    assert_eq!(idx.indexed_seq(), 8);
    assert_eq!(
        names(&idx.search(&q("receivables")).unwrap()),
        ["Receivables"]
    );
    assert_eq!(idx.search(&q("invoice_items")).unwrap().total, 0);
    assert_eq!(idx.search(&q("order_lines")).unwrap().total, 0);
    assert_eq!(idx.search(&q("")).unwrap().total, 5);
}

#[test]
fn reopen_keeps_data_and_seq_and_rebuild_replaces_everything() {
    let dir = tempfile::tempdir().unwrap();
    {
        let idx = CatalogIndex::open(dir.path()).unwrap();
        assert_eq!(idx.indexed_seq(), 0);
        idx.rebuild(catalog().into_iter(), 41).unwrap();
        idx.apply(&[product(77, "Late arrival", "")], &[], 42)
            .unwrap();
    }
    let idx = CatalogIndex::open(dir.path()).unwrap();
    assert_eq!(idx.indexed_seq(), 42);
    assert_eq!(idx.search(&q("")).unwrap().total, 9);
    assert_eq!(names(&idx.search(&q("late")).unwrap()), ["Late arrival"]);

    idx.rebuild(vec![product(88, "Only one", "")].into_iter(), 50)
        .unwrap();
    assert_eq!(idx.indexed_seq(), 50);
    let page = idx.search(&q("")).unwrap();
    assert_eq!(names(&page), ["Only one"]);
    drop(idx);
    let idx = CatalogIndex::open(dir.path()).unwrap();
    assert_eq!(idx.indexed_seq(), 50);
    assert_eq!(idx.search(&q("")).unwrap().total, 1);
}

#[test]
fn totals_and_facet_counts_are_capped() {
    let docs = (0..40u128).map(|i| {
        let mut p = product(10_000 + i, &format!("Bulk {i}"), "bulk data");
        p.tables = (0..300u128)
            .map(|t| {
                table(
                    1_000_000 + i * 1000 + t,
                    "bulk",
                    &format!("bulk_{t}"),
                    &["x"],
                )
            })
            .collect();
        p
    });
    let idx = index_with(docs.collect());
    let page = idx.search(&q("bulk")).unwrap();
    assert_eq!(page.total, 10_000);
    assert!(page.total_capped);
    assert!(facet(&page, "kind").values.iter().all(|v| v.capped));
    assert_eq!(page.hits.len(), 20);
    let mut small = q("bulk");
    small.filters.kind = vec!["product".into()];
    let page = idx.search(&small).unwrap();
    assert_eq!((page.total, page.total_capped), (40, false));
    let page = idx.search(&q("")).unwrap();
    assert!(page.total_capped && page.hits.len() == 20);

    // Browsing more than 10,000 filtered matches walks the name dictionary: still filtered,
    // in name order, and pages chain without repeats.
    let mut tables = q("");
    tables.filters.kind = vec!["table".into()];
    tables.limit = 50;
    let first = idx.search(&tables).unwrap();
    assert!(first.total_capped);
    assert!(first.hits.iter().all(|h| h.kind == HitKind::Table));
    let keys: Vec<String> = first
        .hits
        .iter()
        .map(|h| h.table.clone().unwrap_or_default())
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    tables.cursor = first.next_cursor.clone();
    let second = idx.search(&tables).unwrap();
    assert!(second.hits.iter().all(|h| h.kind == HitKind::Table));
    assert!(
        second
            .hits
            .iter()
            .all(|h| !first.hits.iter().any(|f| f.asset_id == h.asset_id))
    );
    let mut none = q("");
    none.filters.domain = vec!["Nowhere".into()];
    assert_eq!(idx.search(&none).unwrap().total, 0);
}
