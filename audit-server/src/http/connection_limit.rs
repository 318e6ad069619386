//! A cap on the long-lived connections (live tails) one credential may hold open at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Counts open connections per credential and refuses those over the cap.
#[derive(Debug)]
pub struct ConnectionLimit {
    max_per_credential: usize,
    open: Mutex<HashMap<String, usize>>,
}

impl ConnectionLimit {
    /// At most `max_per_credential` open connections per credential (0 = no cap).
    pub fn new(max_per_credential: usize) -> Self {
        ConnectionLimit {
            max_per_credential,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Opens a connection for `credential`, or `None` when it already holds the most allowed.
    /// The connection counts until the guard is dropped.
    pub fn try_open(self: &Arc<Self>, credential: String) -> Option<ConnectionGuard> {
        let mut open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(credential.clone()).or_default();
        if self.max_per_credential > 0 && *count >= self.max_per_credential {
            return None;
        }
        *count += 1;
        Some(ConnectionGuard {
            limit: self.clone(),
            credential,
        })
    }

    /// How many connections `credential` holds open.
    pub fn open_for(&self, credential: &str) -> usize {
        let open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        open.get(credential).copied().unwrap_or(0)
    }
}

/// One open connection; dropping it (when the client goes away) frees its place.
#[derive(Debug)]
pub struct ConnectionGuard {
    limit: Arc<ConnectionLimit>,
    credential: String,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut open = self
            .limit
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&self.credential) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.credential);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_per_credential_and_freed_on_drop() {
        let limit = Arc::new(ConnectionLimit::new(2));
        let a1 = limit.try_open("a".into()).unwrap();
        let _a2 = limit.try_open("a".into()).unwrap();
        assert!(limit.try_open("a".into()).is_none());
        let _b = limit.try_open("b".into()).unwrap();
        drop(a1);
        assert_eq!(limit.open_for("a"), 1);
        assert!(limit.try_open("a".into()).is_some());
    }

    #[test]
    fn zero_means_no_cap() {
        let limit = Arc::new(ConnectionLimit::new(0));
        let guards: Vec<_> = (0..100).map(|_| limit.try_open("a".into()).unwrap()).collect();
        assert_eq!(limit.open_for("a"), guards.len());
    }
}
