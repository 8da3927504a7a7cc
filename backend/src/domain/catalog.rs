//! The catalog: environments, consumer principals, data products and their tables.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::markdown::MAX_MARKDOWN_BYTES;
use super::*;

/// A new environment, validated.
#[derive(Debug, Clone)]
pub struct NewEnvironment {
    pub slug: Slug,
    pub name: String,
    pub kind: EnvironmentKind,
    pub aws_account_id: Option<AwsAccountId>,
    pub aws_region: Option<String>,
    /// A role Wharf assumes in that account, when its own credentials are not enough.
    pub aws_role_arn: Option<String>,
    /// An endpoint override for every AWS call in this environment (tests, local stand-ins).
    pub endpoint_url: Option<String>,
    pub owner_team: Option<TeamName>,
}

impl NewEnvironment {
    /// Check that an `aws` environment names its account and region.
    pub fn validate(self) -> Result<Self, Invalid> {
        if self.kind == EnvironmentKind::Aws {
            if self.aws_account_id.is_none() {
                return Err(Invalid::new(
                    "aws_account_id",
                    "an aws environment needs its account id",
                ));
            }
            if self.aws_region.is_none() {
                return Err(Invalid::new(
                    "aws_region",
                    "an aws environment needs its region",
                ));
            }
        }
        if let Some(role) = &self.aws_role_arn {
            let arn = PrincipalArn::parse(role)
                .map_err(|_| Invalid::new("aws_role_arn", "not an IAM role ARN"))?;
            if Some(arn.account()) != self.aws_account_id.as_ref() {
                return Err(Invalid::new(
                    "aws_role_arn",
                    "the role must be in the environment's account",
                ));
            }
        }
        Ok(self)
    }
}

/// Where an environment's AWS calls go, for the drivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwsTarget {
    pub account_id: String,
    pub region: String,
    pub role_arn: Option<String>,
    pub endpoint_url: Option<String>,
}

/// An IAM role (or account) registered to a team in an environment: the only kind of
/// principal that can ever receive a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConsumerPrincipal {
    pub id: PrincipalId,
    pub environment_id: EnvironmentId,
    pub team: TeamName,
    #[schema(value_type = String, example = "arn:aws:iam::123456789012:role/analytics")]
    pub arn: PrincipalArn,
    pub label: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Check a principal's account against the environment it is registered in.
pub fn check_principal_account(
    environment: &Environment,
    arn: &PrincipalArn,
) -> Result<(), Invalid> {
    match (&environment.kind, &environment.aws_account_id) {
        (EnvironmentKind::Aws, Some(account)) if arn.account().as_str() != account => {
            Err(Invalid::new(
                "arn",
                format!(
                    "the principal is in account {}, but this environment is account {account}",
                    arn.account().as_str()
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// A tag on a product: lowercase words and hyphens, at most 40 characters.
pub fn parse_tag(text: &str) -> Result<String, Invalid> {
    let tag = text.trim().to_lowercase();
    let ok = (1..=40).contains(&tag.len())
        && tag
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == ' ');
    if ok {
        Ok(tag)
    } else {
        Err(Invalid::new(
            "tags",
            format!("{text:?} is not a tag (letters, digits, hyphens, up to 40)"),
        ))
    }
}

/// The editable facts of a data product, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductFields {
    pub name: String,
    pub description: String,
    pub domain: Slug,
    pub owner_team: TeamName,
    pub environment: Slug,
    pub classification: Classification,
    pub tags: Vec<String>,
    /// Emails of people who have signed in at least once.
    pub steward_emails: Vec<String>,
    pub auto_approve: bool,
    pub max_access_days: i32,
}

/// What a client sends to create or edit a product.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    pub slug: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub domain: String,
    pub owner_team: String,
    #[serde(default = "default_environment")]
    pub environment: String,
    #[serde(default = "default_classification")]
    pub classification: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub stewards: Vec<String>,
    #[serde(default)]
    pub auto_approve: bool,
    #[serde(default = "default_max_access_days")]
    pub max_access_days: i32,
}

fn default_environment() -> String {
    "sandbox".into()
}
fn default_classification() -> String {
    "internal".into()
}
fn default_max_access_days() -> i32 {
    365
}

impl ProductInput {
    /// Parse every field, naming the first one that is wrong.
    pub fn parse(&self) -> Result<(Option<Slug>, ProductFields), Invalid> {
        let name = parse_display_name("name", &self.name)?;
        check_storable_text("description", &self.description)?;
        for steward in &self.stewards {
            check_storable_text("stewards", steward)?;
        }
        if self.description.len() > MAX_MARKDOWN_BYTES {
            return Err(Invalid::new(
                "description",
                format!("must be at most {MAX_MARKDOWN_BYTES} bytes"),
            ));
        }
        let slug = self
            .slug
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| Slug::parse(s.trim()))
            .transpose()?;
        let mut tags = self
            .tags
            .iter()
            .map(|t| parse_tag(t))
            .collect::<Result<Vec<_>, _>>()?;
        tags.sort();
        tags.dedup();
        if tags.len() > 20 {
            return Err(Invalid::new("tags", "at most 20 tags"));
        }
        let mut steward_emails: Vec<String> = self
            .stewards
            .iter()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        steward_emails.sort();
        steward_emails.dedup();
        if !(1..=3650).contains(&self.max_access_days) {
            return Err(Invalid::new("max_access_days", "must be 1–3650 days"));
        }
        let fields = ProductFields {
            name,
            description: self.description.trim().to_owned(),
            domain: Slug::parse(self.domain.trim())
                .map_err(|_| Invalid::new("domain", "no such domain"))?,
            owner_team: TeamName::parse(&self.owner_team)
                .map_err(|e| Invalid::new("owner_team", e.message))?,
            environment: Slug::parse(self.environment.trim())
                .map_err(|_| Invalid::new("environment", "no such environment"))?,
            classification: Classification::parse(self.classification.trim())
                .map_err(|e| Invalid::new("classification", e.message))?,
            tags,
            steward_emails,
            auto_approve: self.auto_approve,
            max_access_days: self.max_access_days,
        };
        Ok((slug, fields))
    }
}

/// A person, as other people see them on a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PersonRef {
    pub id: UserId,
    pub name: String,
    pub email: Option<String>,
}

/// A data product with what its page and the policy need.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Product {
    pub id: ProductId,
    pub slug: Slug,
    pub name: String,
    pub description: String,
    pub domain: Slug,
    pub domain_name: String,
    pub owner_team: TeamName,
    pub environment: Slug,
    pub environment_name: String,
    pub environment_kind: EnvironmentKind,
    pub classification: Classification,
    pub status: ProductStatus,
    pub tags: Vec<String>,
    pub stewards: Vec<PersonRef>,
    pub auto_approve: bool,
    pub max_access_days: i32,
    /// Increments with every change; the API's ETag.
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Product {
    pub fn steward_ids(&self) -> Vec<UserId> {
        self.stewards.iter().map(|s| s.id).collect()
    }
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Column {
    pub name: String,
    pub data_type: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub is_pii: bool,
    #[serde(default)]
    pub is_partition_key: bool,
}

/// A table of a product.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Asset {
    pub id: AssetId,
    pub product_id: ProductId,
    pub database: String,
    pub table: String,
    pub description: String,
    pub location: Option<String>,
    pub parameters: serde_json::Value,
    pub columns: Vec<Column>,
    /// Set when the table vanished from its catalog at the last re-sync.
    #[serde(with = "time::serde::rfc3339::option")]
    pub removed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_synced_at: Option<OffsetDateTime>,
}

impl Asset {
    /// Whether `definition` says exactly what is stored for this table.
    pub fn is_defined_by(&self, definition: &TableDefinition) -> bool {
        self.database == definition.database
            && self.table == definition.table
            && self.description == definition.description
            && self.location == definition.location
            && self.parameters == definition.parameters
            && self.columns == definition.columns
    }
}

/// A table's definition as a catalog (Glue, or a person for the sandbox) describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TableDefinition {
    pub database: String,
    pub table: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default = "empty_object")]
    pub parameters: serde_json::Value,
    pub columns: Vec<Column>,
}

fn empty_object() -> serde_json::Value {
    serde_json::json!({})
}

/// A Glue-style name: letters, digits and underscores (what Athena and Lake Formation accept).
pub fn parse_object_name(field: &'static str, text: &str) -> Result<String, Invalid> {
    let name = text.trim();
    let ok = (1..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(Invalid::new(
            field,
            format!("{text:?} is not a valid name (letters, digits, _ and -)"),
        ))
    }
}

impl TableDefinition {
    /// Check a hand-written (sandbox) definition.
    pub fn validate(mut self) -> Result<Self, Invalid> {
        self.database = parse_object_name("database", &self.database)?;
        self.table = parse_object_name("table", &self.table)?;
        check_storable_text("description", &self.description)?;
        if let Some(location) = &self.location {
            check_storable_text("location", location)?;
        }
        if self.columns.is_empty() || self.columns.len() > 1000 {
            return Err(Invalid::new("columns", "a table has 1–1000 columns"));
        }
        let mut seen = std::collections::HashSet::new();
        for column in &mut self.columns {
            column.name = parse_object_name("columns", &column.name)?;
            check_storable_text("columns", &column.data_type)?;
            check_storable_text("columns", &column.description)?;
            if !seen.insert(column.name.to_lowercase()) {
                return Err(Invalid::new(
                    "columns",
                    format!("column {:?} appears twice", column.name),
                ));
            }
            if column.data_type.trim().is_empty() || column.data_type.len() > 200 {
                return Err(Invalid::new(
                    "columns",
                    format!("column {:?} needs a type", column.name),
                ));
            }
        }
        Ok(self)
    }
}

/// One difference a re-sync found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum SchemaChange {
    ColumnAdded {
        table: String,
        column: String,
        data_type: String,
    },
    ColumnRemoved {
        table: String,
        column: String,
    },
    ColumnRetyped {
        table: String,
        column: String,
        from: String,
        to: String,
    },
    TableRemoved {
        table: String,
    },
}

/// Compare a table's stored columns with its catalog's current ones.
pub fn diff_columns(table: &str, old: &[Column], new: &[Column]) -> Vec<SchemaChange> {
    let mut changes = Vec::new();
    for column in new {
        match old.iter().find(|c| c.name == column.name) {
            None => changes.push(SchemaChange::ColumnAdded {
                table: table.into(),
                column: column.name.clone(),
                data_type: column.data_type.clone(),
            }),
            Some(before) if before.data_type != column.data_type => {
                changes.push(SchemaChange::ColumnRetyped {
                    table: table.into(),
                    column: column.name.clone(),
                    from: before.data_type.clone(),
                    to: column.data_type.clone(),
                })
            }
            Some(_) => {}
        }
    }
    for column in old {
        if !new.iter().any(|c| c.name == column.name) {
            changes.push(SchemaChange::ColumnRemoved {
                table: table.into(),
                column: column.name.clone(),
            });
        }
    }
    changes
}

/// A recorded schema change, for the product's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchemaChangeEntry {
    #[serde(flatten)]
    pub change: SchemaChange,
    #[serde(with = "time::serde::rfc3339")]
    pub detected_at: OffsetDateTime,
}

/// On the wire the change's fields and `detected_at` sit side by side (`flatten`), and so
/// does the schema: one object per kind of change, each with `detected_at`. (The derive
/// writes `allOf` the `SchemaChange` union and an object, which client generators refuse:
/// "cannot take allOf a non-object".)
impl utoipa::PartialSchema for SchemaChangeEntry {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
        let RefOr::T(Schema::OneOf(mut kinds)) = <SchemaChange as utoipa::PartialSchema>::schema()
        else {
            unreachable!("a tagged enum's schema is a oneOf")
        };
        for kind in &mut kinds.items {
            let RefOr::T(Schema::Object(object)) = kind else {
                unreachable!("each variant of SchemaChange is an object")
            };
            let detected_at = ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)));
            object
                .properties
                .insert("detected_at".into(), detected_at.into());
            object.required.push("detected_at".into());
        }
        kinds.description = Some("A recorded schema change, for the product's history.".into());
        Schema::OneOf(kinds).into()
    }
}

impl utoipa::ToSchema for SchemaChangeEntry {}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, data_type: &str) -> Column {
        Column {
            name: name.into(),
            data_type: data_type.into(),
            description: String::new(),
            is_pii: false,
            is_partition_key: false,
        }
    }

    #[test]
    fn schema_diff_finds_added_removed_and_retyped_columns() {
        let old = [
            col("id", "bigint"),
            col("amount", "int"),
            col("note", "string"),
        ];
        let new = [
            col("id", "bigint"),
            col("amount", "decimal(10,2)"),
            col("currency", "string"),
        ];
        assert_eq!(
            diff_columns("orders", &old, &new),
            vec![
                SchemaChange::ColumnRetyped {
                    table: "orders".into(),
                    column: "amount".into(),
                    from: "int".into(),
                    to: "decimal(10,2)".into()
                },
                SchemaChange::ColumnAdded {
                    table: "orders".into(),
                    column: "currency".into(),
                    data_type: "string".into()
                },
                SchemaChange::ColumnRemoved {
                    table: "orders".into(),
                    column: "note".into()
                },
            ]
        );
        assert!(diff_columns("t", &old, &old).is_empty());
    }

    fn input() -> ProductInput {
        ProductInput {
            slug: None,
            name: "Orders".into(),
            description: "Daily orders".into(),
            domain: "sales".into(),
            owner_team: "sales-data".into(),
            environment: "sandbox".into(),
            classification: "internal".into(),
            tags: vec!["Orders".into(), "orders".into(), "finance".into()],
            stewards: vec![" Sofia@Example.com ".into()],
            auto_approve: false,
            max_access_days: 90,
        }
    }

    #[test]
    fn product_input_is_parsed_once() {
        let (slug, fields) = input().parse().unwrap();
        assert_eq!(slug, None);
        assert_eq!(fields.tags, vec!["finance", "orders"]);
        assert_eq!(fields.steward_emails, vec!["sofia@example.com"]);
        let too_long = ProductInput {
            description: "x".repeat(MAX_MARKDOWN_BYTES + 1),
            ..input()
        };
        assert_eq!(too_long.parse().unwrap_err().field, "description");
        let bad_class = ProductInput {
            classification: "secret".into(),
            ..input()
        };
        assert_eq!(bad_class.parse().unwrap_err().field, "classification");
        let bad_days = ProductInput {
            max_access_days: 0,
            ..input()
        };
        assert_eq!(bad_days.parse().unwrap_err().field, "max_access_days");
    }

    #[test]
    fn sandbox_tables_are_checked() {
        let table = TableDefinition {
            database: "sales".into(),
            table: "orders".into(),
            description: String::new(),
            location: None,
            parameters: empty_object(),
            columns: vec![col("id", "bigint"), col("ID", "string")],
        };
        assert_eq!(table.clone().validate().unwrap_err().field, "columns");
        let bad_name = TableDefinition {
            table: "orders; drop".into(),
            ..table
        };
        assert_eq!(bad_name.validate().unwrap_err().field, "table");
    }
}
