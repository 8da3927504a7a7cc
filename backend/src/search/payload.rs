//! The stored part of an index document: what a hit needs to be displayed.
//!
//! A small length-prefixed binary format rather than JSON: decoding a page's 20 payloads
//! borrows every string from the stored bytes (no allocation per column), which matters at a
//! ~1 ms page budget. Layout (all integers little-endian):
//! `version u8 | product id 16 | has table u8 [| table id 16] | 8 strings | n u32 | n × 3
//! strings`, a string being `len u32 | UTF-8 bytes`.

use anyhow::{Context, bail};
use uuid::Uuid;

use super::HitKind;

const VERSION: u8 = 1;

/// Display data of a product or table document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Payload<'a> {
    pub product_id: Uuid,
    /// Set for table documents.
    pub table_id: Option<Uuid>,
    pub product_slug: &'a str,
    pub product_name: &'a str,
    pub database: &'a str,
    pub table: &'a str,
    pub description: &'a str,
    pub domain: &'a str,
    pub classification: &'a str,
    pub owner_team: &'a str,
    /// Columns as (name, type, description).
    pub columns: Vec<(&'a str, &'a str, &'a str)>,
}

impl<'a> Payload<'a> {
    /// Whether this is a table document (product documents have no table id).
    pub(crate) fn kind(&self) -> HitKind {
        if self.table_id.is_some() {
            HitKind::Table
        } else {
            HitKind::Product
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.description.len() + self.columns.len() * 48);
        out.push(VERSION);
        out.extend_from_slice(self.product_id.as_bytes());
        match self.table_id {
            Some(t) => {
                out.push(1);
                out.extend_from_slice(t.as_bytes());
            }
            None => out.push(0),
        }
        for s in [
            self.product_slug,
            self.product_name,
            self.database,
            self.table,
            self.description,
            self.domain,
            self.classification,
            self.owner_team,
        ] {
            put_str(&mut out, s);
        }
        out.extend_from_slice(&(self.columns.len() as u32).to_le_bytes());
        for (n, t, d) in &self.columns {
            put_str(&mut out, n);
            put_str(&mut out, t);
            put_str(&mut out, d);
        }
        out
    }

    pub(crate) fn decode(bytes: &'a [u8]) -> anyhow::Result<Self> {
        let mut r = Reader(bytes);
        if r.take(1)?[0] != VERSION {
            bail!("unknown search payload version");
        }
        let product_id = r.uuid()?;
        let table_id = if r.take(1)?[0] == 1 {
            Some(r.uuid()?)
        } else {
            None
        };
        let mut strings = [""; 8];
        for s in &mut strings {
            *s = r.str()?;
        }
        let n = r.u32()? as usize;
        let mut columns = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            columns.push((r.str()?, r.str()?, r.str()?));
        }
        let [
            product_slug,
            product_name,
            database,
            table,
            description,
            domain,
            classification,
            owner_team,
        ] = strings;
        Ok(Payload {
            product_id,
            table_id,
            product_slug,
            product_name,
            database,
            table,
            description,
            domain,
            classification,
            owner_team,
            columns,
        })
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> anyhow::Result<&'a [u8]> {
        let (head, rest) = self
            .0
            .split_at_checked(n)
            .context("truncated search payload")?;
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self) -> anyhow::Result<u32> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    fn uuid(&mut self) -> anyhow::Result<Uuid> {
        Ok(Uuid::from_slice(self.take(16)?)?)
    }

    fn str(&mut self) -> anyhow::Result<&'a str> {
        let n = self.u32()? as usize;
        Ok(std::str::from_utf8(self.take(n)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let p = Payload {
            product_id: Uuid::from_u128(1),
            table_id: Some(Uuid::from_u128(2)),
            product_slug: "s",
            product_name: "n\"é",
            database: "db",
            table: "t",
            description: "",
            domain: "Sales",
            classification: "public",
            owner_team: "a",
            columns: vec![("c", "int", "d")],
        };
        let bytes = p.encode();
        assert_eq!(Payload::decode(&bytes).unwrap(), p);
        assert!(Payload::decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(Payload::decode(&[]).is_err());
    }
}
