//! How domain values sit in a column, on both databases: ids as hyphenated TEXT on SQLite
//! and `uuid` on PostgreSQL, times as fixed-width RFC 3339 TEXT on SQLite and
//! `timestamptz` on PostgreSQL. With these, one statement binds and decodes the same Rust
//! types on either database, and rows decode straight into domain types.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::domain::*;

/// Implements the column traits for a type that is a `Uuid` inside (`.0`).
macro_rules! uuid_column {
    ($($name:ty),* $(,)?) => {$(
        impl Type<Sqlite> for $name {
            fn type_info() -> SqliteTypeInfo {
                <&str as Type<Sqlite>>::type_info()
            }
            fn compatible(ty: &SqliteTypeInfo) -> bool {
                <&str as Type<Sqlite>>::compatible(ty)
            }
        }

        impl<'q> Encode<'q, Sqlite> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut Vec<SqliteArgumentValue<'q>>,
            ) -> Result<IsNull, BoxDynError> {
                Encode::<Sqlite>::encode(self.0.hyphenated().to_string(), buf)
            }
        }

        impl<'r> Decode<'r, Sqlite> for $name {
            fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <&str as Decode<Sqlite>>::decode(value)?;
                Ok(Self(Uuid::parse_str(text).map_err(|_| format!("id {text:?}"))?))
            }
        }

        impl Type<Postgres> for $name {
            fn type_info() -> PgTypeInfo {
                <Uuid as Type<Postgres>>::type_info()
            }
        }

        impl PgHasArrayType for $name {
            fn array_type_info() -> PgTypeInfo {
                <Uuid as PgHasArrayType>::array_type_info()
            }
        }

        impl<'q> Encode<'q, Postgres> for $name {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                Encode::<Postgres>::encode_by_ref(&self.0, buf)
            }
        }

        impl<'r> Decode<'r, Postgres> for $name {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok(Self(<Uuid as Decode<Postgres>>::decode(value)?))
            }
        }
    )*};
}

/// A bare UUID column (audit entries, grants, tokens): ids the domain does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Uid(pub Uuid);

impl Uid {
    pub(crate) fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

uuid_column!(
    Uid,
    UserId,
    TeamId,
    DomainId,
    EnvironmentId,
    PrincipalId,
    ProductId,
    AssetId,
    RequestId,
    JobId,
    EventId,
    WebhookId,
    DeliveryId,
    NotificationId,
);

/// A point in time as a column. SQLite keeps RFC 3339 UTC with exactly six fractional
/// digits, so text order is time order (and rows written before this type compare the
/// same); PostgreSQL keeps `timestamptz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ts(pub OffsetDateTime);

impl Ts {
    /// The fixed-width text SQLite stores.
    pub(crate) fn text(at: OffsetDateTime) -> String {
        const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        );
        at.to_offset(time::UtcOffset::UTC)
            .format(FORMAT)
            .unwrap_or_else(|_| at.to_string())
    }
}

impl From<OffsetDateTime> for Ts {
    fn from(at: OffsetDateTime) -> Self {
        Self(at)
    }
}

impl From<Ts> for OffsetDateTime {
    fn from(ts: Ts) -> Self {
        ts.0
    }
}

impl Type<Sqlite> for Ts {
    fn type_info() -> SqliteTypeInfo {
        <&str as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <&str as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for Ts {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode(Self::text(self.0), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Ts {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        Ok(Self(
            OffsetDateTime::parse(text, &Rfc3339)
                .map_err(|e| format!("timestamp {text:?}: {e}"))?,
        ))
    }
}

impl Type<Postgres> for Ts {
    fn type_info() -> PgTypeInfo {
        <OffsetDateTime as Type<Postgres>>::type_info()
    }
}

impl PgHasArrayType for Ts {
    fn array_type_info() -> PgTypeInfo {
        <OffsetDateTime as PgHasArrayType>::array_type_info()
    }
}

impl<'q> Encode<'q, Postgres> for Ts {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Postgres>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for Ts {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self(<OffsetDateTime as Decode<Postgres>>::decode(value)?))
    }
}

/// A list of names as one value: a JSON array on SQLite (`json_group_array`, `json_each`)
/// and `text[]` on PostgreSQL (`ARRAY(…)`, `= ANY($n)`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TextList(pub Vec<String>);

impl Type<Sqlite> for TextList {
    fn type_info() -> SqliteTypeInfo {
        <&str as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <&str as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for TextList {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode(serde_json::to_string(&self.0)?, buf)
    }
}

impl<'r> Decode<'r, Sqlite> for TextList {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        Ok(Self(serde_json::from_str(text)?))
    }
}

impl Type<Postgres> for TextList {
    fn type_info() -> PgTypeInfo {
        <Vec<String> as Type<Postgres>>::type_info()
    }
}

impl<'q> Encode<'q, Postgres> for TextList {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Postgres>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for TextList {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self(<Vec<String> as Decode<Postgres>>::decode(value)?))
    }
}

/// A list of ids as one value: a JSON array of hyphenated ids on SQLite (`json_each`) and
/// `uuid[]` on PostgreSQL (`= ANY($n)`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IdList(pub Vec<Uuid>);

impl Type<Sqlite> for IdList {
    fn type_info() -> SqliteTypeInfo {
        <&str as Type<Sqlite>>::type_info()
    }
}

impl<'q> Encode<'q, Sqlite> for IdList {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        let ids: Vec<String> = self
            .0
            .iter()
            .map(|id| id.hyphenated().to_string())
            .collect();
        Encode::<Sqlite>::encode(serde_json::to_string(&ids)?, buf)
    }
}

impl Type<Postgres> for IdList {
    fn type_info() -> PgTypeInfo {
        <Vec<Uuid> as Type<Postgres>>::type_info()
    }
}

impl<'q> Encode<'q, Postgres> for IdList {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Postgres>::encode_by_ref(&self.0, buf)
    }
}
