//! How many of a read rule's requests are recorded, so that a hot read path cannot flood the
//! trail: a share of them ([`ReadSampling::rate`]), at most so many per actor and minute
//! ([`ReadSampling::per_actor_per_minute`]), or both (a request must pass both).
//!
//! Invariants: the share is decided by a seeded hash of the request's number along the rule
//! (SplitMix64), so the same seed over the same number of requests records the same requests,
//! whatever the threads or their interleaving; the budget counts per actor in fixed UTC minutes
//! and forgets every count when a minute ends, so its memory is bounded by one minute's actors
//! (and by [`MAX_TRACKED_ACTORS`]: an actor beyond it is over budget).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The most actors one rule's budget counts in a minute; more are refused for that minute.
pub const MAX_TRACKED_ACTORS: usize = 100_000;

/// The sampling of one read rule: set on [`Rule`](crate::Rule) with
/// [`Rule::sampled`](crate::Rule::sampled).
///
/// ```
/// use audit_tower::ReadSampling;
///
/// let sampling = ReadSampling::rate(0.1).per_actor_per_minute(30);
/// assert_eq!(sampling.share(), Some(0.1));
/// assert_eq!(sampling.budget(), Some(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadSampling {
    rate: Option<f64>,
    seed: u64,
    budget: Option<u32>,
}

impl ReadSampling {
    /// Records this share of the requests (clamped to 0..=1).
    pub fn rate(rate: f64) -> Self {
        ReadSampling {
            rate: Some(if rate.is_nan() { 0.0 } else { rate.clamp(0.0, 1.0) }),
            seed: 0x5eed_a0d1_7000_0001,
            budget: None,
        }
    }

    /// Records at most `requests` per actor and UTC minute (all of them up to that).
    pub fn budget_per_actor_per_minute(requests: u32) -> Self {
        ReadSampling {
            rate: None,
            seed: 0,
            budget: Some(requests),
        }
    }

    /// And at most `requests` of the sampled ones per actor and UTC minute.
    pub fn per_actor_per_minute(mut self, requests: u32) -> Self {
        self.budget = Some(requests);
        self
    }

    /// With this seed for the share (the default is fixed; any value works).
    pub fn seeded(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The share recorded, if one is set.
    pub fn share(&self) -> Option<f64> {
        self.rate
    }

    /// The budget per actor and minute, if one is set.
    pub fn budget(&self) -> Option<u32> {
        self.budget
    }
}

/// The live state of one rule's [`ReadSampling`], shared by every service of the layer.
#[derive(Debug)]
pub(crate) struct Sampler {
    sampling: ReadSampling,
    /// The share as a bound on the 64-bit hash (`rate × 2^64`).
    threshold: u128,
    requests: AtomicU64,
    /// The minute counted, and each actor's recorded requests in it.
    minute: Mutex<(i64, HashMap<String, u32>)>,
}

impl Sampler {
    pub(crate) fn new(sampling: ReadSampling) -> Self {
        let threshold = sampling
            .rate
            .map_or(1u128 << 64, |rate| (rate * 18_446_744_073_709_551_616.0) as u128);
        Sampler {
            sampling,
            threshold,
            requests: AtomicU64::new(0),
            minute: Mutex::new((i64::MIN, HashMap::new())),
        }
    }

    /// Whether to record this request by `actor` (its id; empty for none) in UTC minute
    /// `minute` (Unix seconds / 60).
    pub(crate) fn admit(&self, actor: &str, minute: i64) -> bool {
        if self.sampling.rate.is_some() {
            let number = self.requests.fetch_add(1, Ordering::Relaxed);
            if u128::from(splitmix64(self.sampling.seed.wrapping_add(number))) >= self.threshold {
                return false;
            }
        }
        let Some(budget) = self.sampling.budget else {
            return true;
        };
        let Ok(mut counted) = self.minute.lock() else {
            return false;
        };
        if counted.0 != minute {
            *counted = (minute, HashMap::new());
        }
        let full = counted.1.len() >= MAX_TRACKED_ACTORS;
        match counted.1.get_mut(actor) {
            Some(used) if *used < budget => {
                *used += 1;
                true
            }
            Some(_) => false,
            None if full || budget == 0 => false,
            None => {
                counted.1.insert(actor.to_owned(), 1);
                true
            }
        }
    }
}

/// SplitMix64's output function: a well-mixed 64-bit hash of `x`.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_is_near_the_rate_and_the_same_for_the_same_seed() {
        let count = |seed: u64| {
            let sampler = Sampler::new(ReadSampling::rate(0.1).seeded(seed));
            (0..10_000).filter(|_| sampler.admit("u", 0)).count()
        };
        let first = count(7);
        assert_eq!(first, count(7), "deterministic for a seed");
        // Binomial(10,000, 0.1): σ = 30; five σ either way.
        assert!((850..=1150).contains(&first), "{first}");
        assert_eq!(
            (0..1000)
                .filter(|_| Sampler::new(ReadSampling::rate(0.0)).admit("u", 0))
                .count(),
            0
        );
        let all = Sampler::new(ReadSampling::rate(1.0));
        assert!((0..1000).all(|_| all.admit("u", 0)));
    }

    #[test]
    fn the_budget_counts_per_actor_and_starts_again_each_minute() {
        let sampler = Sampler::new(ReadSampling::budget_per_actor_per_minute(3));
        let admitted = |actor: &str, minute: i64| (0..10).filter(|_| sampler.admit(actor, minute)).count();
        assert_eq!(admitted("alice", 100), 3);
        assert_eq!(admitted("bob", 100), 3, "another actor has a budget of its own");
        assert_eq!(admitted("alice", 100), 0);
        assert_eq!(admitted("alice", 101), 3, "a new minute");
    }
}
