//! This process's committed writes, counted. What the HTTP layer keeps in memory about a
//! caller (their teams, how far the outbox had got) is dropped the moment the process
//! writes anything, so a change is visible to the very next request here without asking
//! the database on every request whether something changed.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::StoreResult;

/// How many writes this process has committed through its store. Cheap to read: no
/// statement, no lock.
#[derive(Debug, Default, Clone)]
pub struct WriteCount(Arc<AtomicU64>);

impl WriteCount {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Count a write that has been committed (never before: a reader that sees the new
    /// count must find the write in the database).
    pub(crate) fn committed(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// A write transaction, counted once it commits. Statements run on it as on the
/// connection (`&mut *tx`); dropping it uncommitted rolls back and counts nothing.
pub(crate) struct WriteTx<DB: sqlx::Database> {
    tx: sqlx::Transaction<'static, DB>,
    count: WriteCount,
}

impl<DB: sqlx::Database> WriteTx<DB> {
    pub(crate) fn new(tx: sqlx::Transaction<'static, DB>, count: &WriteCount) -> Self {
        Self {
            tx,
            count: count.clone(),
        }
    }

    pub(crate) async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await?;
        self.count.committed();
        Ok(())
    }
}

impl<DB: sqlx::Database> Deref for WriteTx<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        &self.tx
    }
}

impl<DB: sqlx::Database> DerefMut for WriteTx<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.tx
    }
}
