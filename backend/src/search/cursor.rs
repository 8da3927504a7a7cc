//! Opaque page cursors.
//!
//! A cursor is the sort position of the last hit of a page, base64url-encoded (no padding):
//! `[version][mode][query fingerprint: 4][position]`. Ranked results carry
//! (tier, score, stable key); browsing carries the name sort key. The fingerprint binds a
//! cursor to the text and filters it was made for, so a cursor reused with another query is
//! rejected ([`InvalidCursor`]) instead of silently skipping results.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::InvalidCursor;
use super::facets::FilterSpec;
use super::query::Cand;
use super::text::QueryTerms;

const VERSION: u8 = 1;
const MODE_RANKED: u8 = 0;
const MODE_BROWSE: u8 = 1;
/// Longest cursor accepted, in characters (a browse sort key is ~120 bytes).
const MAX_CURSOR_CHARS: usize = 512;

/// A decoded cursor.
#[derive(Debug, Clone)]
pub(crate) enum Cursor {
    /// Position in relevance order (only tier, score and key are meaningful).
    Ranked(Cand),
    /// Position in name order: the `sortkey` term of the last hit.
    Browse(Vec<u8>),
}

impl Cursor {
    pub(crate) fn encode(&self, terms: &QueryTerms, spec: &FilterSpec) -> String {
        let mut b = vec![VERSION];
        match self {
            Cursor::Ranked(c) => {
                b.push(MODE_RANKED);
                b.extend_from_slice(&fingerprint(terms, spec).to_le_bytes());
                b.push(c.tier);
                b.extend_from_slice(&c.score.to_bits().to_le_bytes());
                b.extend_from_slice(&c.key.to_le_bytes());
            }
            Cursor::Browse(k) => {
                b.push(MODE_BROWSE);
                b.extend_from_slice(&fingerprint(terms, spec).to_le_bytes());
                b.extend_from_slice(k);
            }
        }
        URL_SAFE_NO_PAD.encode(b)
    }

    pub(crate) fn decode(
        s: &str,
        terms: &QueryTerms,
        spec: &FilterSpec,
    ) -> Result<Self, InvalidCursor> {
        if s.len() > MAX_CURSOR_CHARS {
            return Err(InvalidCursor);
        }
        let b = URL_SAFE_NO_PAD
            .decode(s.trim())
            .map_err(|_| InvalidCursor)?;
        let (head, rest) = b.split_at_checked(6).ok_or(InvalidCursor)?;
        if head[0] != VERSION || head[2..6] != fingerprint(terms, spec).to_le_bytes() {
            return Err(InvalidCursor);
        }
        match head[1] {
            MODE_RANKED => {
                let rest: &[u8; 13] = rest.try_into().map_err(|_| InvalidCursor)?;
                let mut score = [0u8; 4];
                score.copy_from_slice(&rest[1..5]);
                let mut key = [0u8; 8];
                key.copy_from_slice(&rest[5..13]);
                let score = f32::from_bits(u32::from_le_bytes(score));
                if !score.is_finite() {
                    return Err(InvalidCursor);
                }
                Ok(Cursor::Ranked(Cand {
                    tier: rest[0],
                    score,
                    key: u64::from_le_bytes(key),
                    seg: 0,
                    doc: 0,
                }))
            }
            MODE_BROWSE => Ok(Cursor::Browse(rest.to_vec())),
            _ => Err(InvalidCursor),
        }
    }
}

/// FNV-1a over the normalised terms and the filters.
fn fingerprint(terms: &QueryTerms, spec: &FilterSpec) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes.iter().chain([0xff].iter()) {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    for t in &terms.exact {
        eat(t.as_bytes());
    }
    eat(terms.prefix.as_deref().unwrap_or("").as_bytes());
    for values in &spec.values {
        for v in values {
            eat(v.as_bytes());
        }
        eat(b"|");
    }
    h
}
