//! The keys this process authenticated in the last moment, so that a busy caller's requests do
//! not each cost a database round trip (on PostgreSQL the key lookup was one statement per
//! request, more than the appends themselves).
//!
//! Invariants: only live keys are kept (an unknown secret is always looked up, so a key made by
//! another process works at once); an entry is used for at most [`KEY_CACHE_TTL`], so a key
//! revoked through another process stops working within that time; a key revoked through this
//! process is forgotten before the revocation is answered (a lookup that read it just before
//! the revocation committed may keep it, again for at most the TTL).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::api_keys::AuthenticatedKey;

/// How long an authenticated key is trusted without asking the database again.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(1);

/// Entries kept at most; when full, the cache starts over (a burst of distinct keys then costs
/// one lookup each, as without the cache).
const MAX_ENTRIES: usize = 10_000;

/// Live keys by the hash of their secret, with when they were read.
#[derive(Debug, Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, (AuthenticatedKey, Instant)>>,
}

impl KeyCache {
    /// The key whose secret hashes to `secret_hash`, when it was read less than the TTL ago.
    pub fn get(&self, secret_hash: &str) -> Option<AuthenticatedKey> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(secret_hash)
            .filter(|(_, read_at)| read_at.elapsed() < KEY_CACHE_TTL)
            .map(|(key, _)| key.clone())
    }

    /// Remembers a live key just read from the database.
    pub fn put(&self, secret_hash: String, key: AuthenticatedKey) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(secret_hash, (key, Instant::now()));
    }

    /// Forgets the key `id` (it was revoked).
    pub fn forget(&self, id: Uuid) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.retain(|_, (key, _)| key.id != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use audit_core::Scope;

    fn key() -> AuthenticatedKey {
        AuthenticatedKey {
            id: Uuid::now_v7(),
            org_id: Uuid::now_v7(),
            project_id: None,
            scopes: vec![Scope::AuditLogsWrite],
        }
    }

    #[test]
    fn a_kept_key_is_found_until_forgotten() {
        let cache = KeyCache::default();
        let key = key();
        assert_eq!(cache.get("h"), None);
        cache.put("h".to_owned(), key.clone());
        assert_eq!(cache.get("h"), Some(key.clone()));
        cache.forget(key.id);
        assert_eq!(cache.get("h"), None);
    }

    #[test]
    fn an_entry_older_than_the_ttl_is_not_used() {
        let cache = KeyCache::default();
        cache.entries.lock().unwrap().insert(
            "h".to_owned(),
            (key(), Instant::now() - KEY_CACHE_TTL - Duration::from_millis(1)),
        );
        assert_eq!(cache.get("h"), None);
    }
}
