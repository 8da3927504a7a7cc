//! Checking what a new access request asks for against the product it is for: the chosen
//! tables and columns exist, the reason is given, the end date is within the product's
//! longest access. Who may ask is the policy's business (`policy::may_request_access`).

use time::{Duration, OffsetDateTime};

use super::{Asset, AssetId, Invalid};

/// A table as the requester chose it: by `database.table` or asset id, optionally a
/// column subset.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TableChoice {
    #[serde(default)]
    #[schema(example = "sales_curated.orders")]
    pub table: Option<String>,
    #[serde(default)]
    pub asset_id: Option<uuid::Uuid>,
    /// Only these columns; the whole table when omitted.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
}

/// What a request asks for, before checking.
#[derive(Debug, Clone)]
pub struct RequestAsk<'a> {
    /// The product's tables (removed ones included; they cannot be chosen).
    pub assets: &'a [Asset],
    pub max_access_days: i32,
    pub tables: &'a [TableChoice],
    pub justification: &'a str,
    pub until: OffsetDateTime,
    pub idempotency_key: Option<&'a str>,
}

/// A request's contents once checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedAsk {
    pub items: Vec<(AssetId, Option<Vec<String>>)>,
    pub justification: String,
    pub until: OffsetDateTime,
}

impl RequestAsk<'_> {
    /// Check the ask as of `now`; the first problem found is returned, worded for the requester.
    pub fn check(&self, now: OffsetDateTime) -> Result<CheckedAsk, Invalid> {
        let justification = self.justification.trim().to_owned();
        if !(10..=2000).contains(&justification.chars().count()) {
            return Err(Invalid::new(
                "justification",
                "say why in 10–2000 characters",
            ));
        }
        if self.until <= now {
            return Err(Invalid::new("until", "must be in the future"));
        }
        if self.until > now + Duration::days(i64::from(self.max_access_days.max(0))) {
            return Err(Invalid::new(
                "until",
                format!(
                    "this product grants access for at most {} days",
                    self.max_access_days
                ),
            ));
        }
        let mut items: Vec<(AssetId, Option<Vec<String>>)> = Vec::new();
        for choice in self.tables {
            let asset = self
                .assets
                .iter()
                .filter(|a| a.removed_at.is_none())
                .find(|a| {
                    Some(a.id.0) == choice.asset_id
                        || choice.table.as_deref() == Some(&format!("{}.{}", a.database, a.table))
                })
                .ok_or_else(|| {
                    Invalid::new("tables", "a chosen table is not part of this product")
                })?;
            if let Some(columns) = &choice.columns
                && (columns.is_empty()
                    || columns
                        .iter()
                        .any(|c| !asset.columns.iter().any(|a| &a.name == c)))
            {
                return Err(Invalid::new(
                    "tables",
                    format!(
                        "choose existing columns of {}.{}",
                        asset.database, asset.table
                    ),
                ));
            }
            if items.iter().any(|(id, _)| *id == asset.id) {
                return Err(Invalid::new("tables", "a table is chosen twice"));
            }
            items.push((asset.id, choice.columns.clone()));
        }
        if items.is_empty() {
            return Err(Invalid::new("tables", "choose at least one table"));
        }
        if self
            .idempotency_key
            .is_some_and(|k| k.is_empty() || k.len() > 200)
        {
            return Err(Invalid::new("Idempotency-Key", "1–200 characters"));
        }
        Ok(CheckedAsk {
            items,
            justification,
            until: self.until,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Column, ProductId};

    fn asset(table: &str, columns: &[&str], removed: bool) -> Asset {
        Asset {
            id: AssetId::new(),
            product_id: ProductId::new(),
            database: "sales".into(),
            table: table.into(),
            description: String::new(),
            location: None,
            parameters: serde_json::json!({}),
            columns: columns
                .iter()
                .map(|c| Column {
                    name: (*c).into(),
                    data_type: "string".into(),
                    description: String::new(),
                    is_pii: false,
                    is_partition_key: false,
                })
                .collect(),
            removed_at: removed.then(OffsetDateTime::now_utc),
            last_synced_at: None,
        }
    }

    fn by_name(table: &str, columns: Option<&[&str]>) -> TableChoice {
        TableChoice {
            table: Some(table.into()),
            asset_id: None,
            columns: columns.map(|c| c.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2027-01-01 12:00 UTC)
    }

    fn ask<'a>(assets: &'a [Asset], tables: &'a [TableChoice]) -> RequestAsk<'a> {
        RequestAsk {
            assets,
            max_access_days: 30,
            tables,
            justification: "  weekly revenue dashboard ",
            until: now() + Duration::days(10),
            idempotency_key: None,
        }
    }

    #[test]
    fn a_good_ask_names_existing_tables_and_columns() {
        let assets = [
            asset("orders", &["id", "amount"], false),
            asset("customers", &["id"], false),
        ];
        let tables = [
            by_name("sales.orders", Some(&["amount"])),
            TableChoice {
                table: None,
                asset_id: Some(assets[1].id.0),
                columns: None,
            },
        ];
        let checked = ask(&assets, &tables).check(now()).unwrap();
        assert_eq!(checked.justification, "weekly revenue dashboard");
        assert_eq!(
            checked.items,
            vec![
                (assets[0].id, Some(vec!["amount".to_owned()])),
                (assets[1].id, None)
            ]
        );
    }

    #[test]
    fn each_problem_names_its_field() {
        let assets = [
            asset("orders", &["id"], false),
            asset("gone", &["id"], true),
        ];
        let field = |ask: RequestAsk| ask.check(now()).unwrap_err().field;
        let tables = [by_name("sales.orders", None)];
        let base = ask(&assets, &tables);
        assert_eq!(
            field(RequestAsk {
                justification: "why",
                ..base.clone()
            }),
            "justification"
        );
        assert_eq!(
            field(RequestAsk {
                until: now(),
                ..base.clone()
            }),
            "until"
        );
        assert_eq!(
            field(RequestAsk {
                until: now() + Duration::days(31),
                ..base.clone()
            }),
            "until"
        );
        assert_eq!(
            field(RequestAsk {
                idempotency_key: Some(""),
                ..base.clone()
            }),
            "Idempotency-Key"
        );
        for tables in [
            vec![],
            vec![by_name("sales.missing", None)],
            vec![by_name("sales.gone", None)],
            vec![by_name("sales.orders", Some(&["nope"]))],
            vec![by_name("sales.orders", Some(&[]))],
            vec![
                by_name("sales.orders", None),
                by_name("sales.orders", Some(&["id"])),
            ],
        ] {
            assert_eq!(
                field(RequestAsk {
                    tables: &tables,
                    ..base.clone()
                }),
                "tables",
                "{tables:?}"
            );
        }
    }
}
