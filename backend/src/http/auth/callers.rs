//! Callers kept in memory between their requests, so that a busy API client, or a browser
//! loading a page and its fragments, costs no statement to say who it is. On SQLite that
//! statement was most of a search request's or product page's cost: every sqlx-sqlite
//! statement is a round trip to its connection's thread.
//!
//! What could make a kept caller wrong, and what bounds it:
//! - a change this process commits (a revoked token, a sign-out, a sign-in that changed
//!   someone's teams; and any other write, since a caller also carries how far the outbox
//!   had got, which product pages compare against): the store counts its committed
//!   writes, and a caller kept before the latest one is read again, so the next request
//!   here already sees the change;
//! - a change another process commits (another replica, `wharf worker`, a hand edit): a
//!   caller is kept at most `caller_cache_secs` (1 s unless configured; 0 keeps none);
//! - a credential's end (a session's absolute end, a token's expiry): a caller is never
//!   kept past it.
//!
//! A browser's header counts (requests waiting for them, unread notifications) are kept
//! with its session's caller, on the same terms.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::CurrentUser;

/// The hash of the secret a caller presented, and how it was presented: a session id in
/// a cookie is never taken for an API token in a header, whatever its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Credential {
    Session(String),
    ApiToken(String),
}

pub struct CallerCache {
    entries: Mutex<HashMap<Credential, Kept>>,
    /// How long another process's change (a revoked token, a sign-out there) may go
    /// unnoticed here; zero keeps nothing.
    ttl: Duration,
}

struct Kept {
    caller: CurrentUser,
    /// The store's count of local writes when the caller was read.
    writes: u64,
    until: Instant,
    /// A browser's header counts (inbox, unread notifications), once a page asked for them.
    counts: Option<(usize, usize)>,
}

impl CallerCache {
    /// Beyond this many credentials kept, expired ones go, then all of them.
    const MAX_ENTRIES: usize = 10_000;

    /// `ttl`: the configured `caller_cache_secs`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: Mutex::default(),
            ttl,
        }
    }

    /// The caller of `credential`, if kept since this process's last write (`writes`: the
    /// store's count of local writes now).
    pub fn get(&self, credential: &Credential, writes: u64) -> Option<CurrentUser> {
        self.get_at(credential, writes, Instant::now())
    }

    /// Keep `caller`, read when the store had counted `writes`, for the configured time or
    /// until `ends` (when the credential stops being valid), whichever comes first.
    pub fn keep(
        &self,
        credential: Credential,
        caller: &CurrentUser,
        writes: u64,
        ends: Option<OffsetDateTime>,
    ) {
        let left = ends.map_or(self.ttl, |ends| {
            let left = ends - OffsetDateTime::now_utc();
            Duration::try_from(left).unwrap_or_default().min(self.ttl)
        });
        if left.is_zero() {
            return;
        }
        self.keep_at(credential, caller, writes, Instant::now() + left);
    }

    /// The header counts kept with the caller of `credential`, on the same terms.
    pub fn counts(&self, credential: &Credential, writes: u64) -> Option<(usize, usize)> {
        let entries = self.entries.lock().expect("caller cache lock");
        let kept = entries.get(credential)?;
        kept.current(writes, Instant::now())
            .then_some(kept.counts)
            .flatten()
    }

    /// Keep the header counts, counted when the store had counted `writes`, with the
    /// caller of `credential` if that is still current (else they are not kept).
    pub fn keep_counts(&self, credential: &Credential, writes: u64, counts: (usize, usize)) {
        let mut entries = self.entries.lock().expect("caller cache lock");
        if let Some(kept) = entries.get_mut(credential)
            && kept.current(writes, Instant::now())
        {
            kept.counts = Some(counts);
        }
    }

    fn get_at(&self, credential: &Credential, writes: u64, now: Instant) -> Option<CurrentUser> {
        let entries = self.entries.lock().expect("caller cache lock");
        let kept = entries.get(credential)?;
        kept.current(writes, now).then(|| kept.caller.clone())
    }

    fn keep_at(&self, credential: Credential, caller: &CurrentUser, writes: u64, until: Instant) {
        let mut entries = self.entries.lock().expect("caller cache lock");
        if entries.len() >= Self::MAX_ENTRIES {
            let now = Instant::now();
            entries.retain(|_, kept| now < kept.until);
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
        }
        let kept = Kept {
            caller: caller.clone(),
            writes,
            until,
            counts: None,
        };
        entries.insert(credential, kept);
    }
}

impl Kept {
    fn current(&self, writes: u64, now: Instant) -> bool {
        self.writes == writes && now < self.until
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{TeamName, User, UserId};
    use crate::http::auth::AuthMethod;

    const TTL: Duration = Duration::from_secs(1);

    fn caller(name: &str) -> CurrentUser {
        CurrentUser {
            user: User {
                id: UserId::new(),
                subject: name.into(),
                email: None,
                name: name.into(),
                created_at: OffsetDateTime::now_utc(),
            },
            teams: vec![TeamName::parse("sales").unwrap()],
            is_admin: false,
            method: AuthMethod::ApiToken,
            inbox: 0,
            unread: 0,
            outbox_seq: Some(7),
        }
    }

    #[test]
    fn a_kept_caller_is_used_until_its_time_is_up() {
        let cache = CallerCache::new(TTL);
        let token = Credential::ApiToken("hash".into());
        let start = Instant::now();
        cache.keep_at(token.clone(), &caller("ada"), 3, start + TTL);
        let kept = cache.get_at(&token, 3, start).expect("kept");
        assert_eq!(kept.user.name, "ada");
        assert_eq!(kept.outbox_seq, Some(7));
        assert!(cache.get_at(&token, 3, start + TTL).is_none());
    }

    #[test]
    fn any_local_write_since_it_was_read_retires_it() {
        let cache = CallerCache::new(TTL);
        let token = Credential::ApiToken("hash".into());
        let start = Instant::now();
        cache.keep_at(token.clone(), &caller("ada"), 3, start + TTL);
        assert!(cache.get_at(&token, 4, start).is_none());
    }

    #[test]
    fn a_session_id_is_not_an_api_token_with_the_same_hash() {
        let cache = CallerCache::new(TTL);
        let start = Instant::now();
        let until = start + TTL;
        cache.keep_at(
            Credential::ApiToken("same".into()),
            &caller("ada"),
            0,
            until,
        );
        assert!(
            cache
                .get_at(&Credential::Session("same".into()), 0, start)
                .is_none()
        );
    }

    #[test]
    fn header_counts_are_kept_with_a_current_caller_only() {
        let cache = CallerCache::new(TTL);
        let session = Credential::Session("hash".into());
        cache.keep_counts(&session, 0, (1, 2));
        assert_eq!(cache.counts(&session, 0), None, "no caller kept");
        cache.keep(session.clone(), &caller("ada"), 0, None);
        assert_eq!(cache.counts(&session, 0), None, "not counted yet");
        cache.keep_counts(&session, 1, (1, 2));
        assert_eq!(cache.counts(&session, 0), None, "counted after a write");
        cache.keep_counts(&session, 0, (1, 2));
        assert_eq!(cache.counts(&session, 0), Some((1, 2)));
        assert_eq!(cache.counts(&session, 1), None, "a write since");
        cache.keep(session.clone(), &caller("ada"), 1, None);
        assert_eq!(cache.counts(&session, 1), None, "the caller read again");
    }

    #[test]
    fn a_zero_time_keeps_nothing() {
        let cache = CallerCache::new(Duration::ZERO);
        let token = Credential::ApiToken("hash".into());
        cache.keep(token.clone(), &caller("ada"), 0, None);
        assert!(cache.get(&token, 0).is_none());
    }

    #[test]
    fn a_credential_is_not_kept_past_its_end() {
        let cache = CallerCache::new(TTL);
        let session = Credential::Session("hash".into());
        let ended = OffsetDateTime::now_utc() - time::Duration::seconds(1);
        cache.keep(session.clone(), &caller("ada"), 0, Some(ended));
        assert!(cache.get(&session, 0).is_none());
    }
}
