//! Store code written once for both databases. Each file's body sits in [`for_both!`],
//! which expands it twice: as `sqlite` with `Store = SqliteStore`, and as `postgres` with
//! `Store = PgStore`. The statements are the same text on both (`$N` placeholders, ids
//! and times through `store::types`); what truly differs in dialect is a function of the
//! same name in each backend's `dialect` module, which the body calls.

/// Expand `body` once per backend. Inside it: `Store` (the backend's store), `Db` (its
/// `sqlx::Database`), `Conn` (its connection), `dialect` (its dialect module, also glob
/// imported) and `peers` (the other common files' expansions for the same backend).
macro_rules! for_both {
    ($($body:tt)*) => {
        /// The body above, on SQLite.
        pub(in crate::store) mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use crate::store::common::sqlite_peers as peers;
            #[allow(unused_imports)]
            use crate::store::sqlite::{SqliteStore as Store, dialect, dialect::*};
            #[allow(dead_code)]
            type Db = sqlx::Sqlite;
            #[allow(dead_code)]
            type Conn = sqlx::SqliteConnection;
            $($body)*
        }

        /// The body above, on PostgreSQL.
        pub(in crate::store) mod postgres {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use crate::store::common::postgres_peers as peers;
            #[allow(unused_imports)]
            use crate::store::postgres::{PgStore as Store, dialect, dialect::*};
            #[allow(dead_code)]
            type Db = sqlx::Postgres;
            #[allow(dead_code)]
            type Conn = sqlx::PgConnection;
            $($body)*
        }
    };
}

mod audit;
mod auth;
mod catalog;
mod changes;
mod delivery;
mod environments;
mod events;
mod grants;
mod health;
mod jobs;
mod publishers;
mod stats;
mod users;
pub(in crate::store) mod webhooks;

/// Each common file's SQLite expansion, by the file's name.
pub(in crate::store) mod sqlite_peers {
    pub(in crate::store) use super::changes::sqlite as changes;
    pub(in crate::store) use super::delivery::sqlite as delivery;
    pub(in crate::store) use super::environments::sqlite as environments;
    pub(in crate::store) use super::jobs::sqlite as jobs;
}

/// Each common file's PostgreSQL expansion, by the file's name.
pub(in crate::store) mod postgres_peers {
    pub(in crate::store) use super::changes::postgres as changes;
    pub(in crate::store) use super::delivery::postgres as delivery;
    pub(in crate::store) use super::environments::postgres as environments;
    pub(in crate::store) use super::jobs::postgres as jobs;
}
