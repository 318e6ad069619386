//! When and how long to wait before trying again: exponential backoff with full jitter.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How the client retries transient failures (connection errors, timeouts, 408, 429, 502,
/// 503, 504).
///
/// The delay before retry `n` (counting from 0) is drawn uniformly from
/// `0..=min(max_backoff, initial_backoff * multiplier^n)` ("full jitter"), so many clients
/// failing together do not come back together. A `Retry-After` from the service replaces the
/// drawn delay (capped at `max_backoff`).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 disables retrying.
    pub max_retries: u32,
    /// The upper bound of the first delay.
    pub initial_backoff: Duration,
    /// The largest delay.
    pub max_backoff: Duration,
    /// How much the bound grows per retry.
    pub multiplier: f64,
}

impl Default for RetryPolicy {
    /// 3 retries, delays bounded by 100 ms, 200 ms, 400 ms, at most 10 s.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            multiplier: 2.0,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The same policy with `max_retries` retries.
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// The same policy with other delay bounds.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// The upper bound of the delay before retry `retry` (0-based), before jitter.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = self.multiplier.max(1.0).powi(retry.min(64) as i32);
        let ceiling = self.initial_backoff.as_secs_f64() * factor;
        if !ceiling.is_finite() || ceiling >= self.max_backoff.as_secs_f64() {
            self.max_backoff
        } else {
            Duration::from_secs_f64(ceiling)
        }
    }

    /// The delay before retry `retry` (0-based): a full-jitter draw, or the service's
    /// `Retry-After` when it gave one.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, jitter: &mut Jitter) -> Duration {
        match retry_after {
            Some(asked) => asked.min(self.max_backoff),
            None => jitter.up_to(self.backoff_ceiling(retry)),
        }
    }
}

/// A small xorshift generator for backoff jitter, seeded from the operating system. Jitter
/// needs spread, not cryptographic quality.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// A generator seeded from the OS (falling back to the clock).
    pub fn new() -> Self {
        let seed = getrandom::u64().unwrap_or_else(|_| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
        Jitter::seeded(seed)
    }

    /// A generator with a fixed seed (for reproducible tests).
    pub fn seeded(seed: u64) -> Self {
        Jitter(seed.max(1))
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A uniform draw from `0..=bound`.
    pub fn up_to(&mut self, bound: Duration) -> Duration {
        let nanos = bound.as_nanos().min(u64::MAX as u128) as u64;
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.next_u64() % (nanos + 1))
    }
}

impl Default for Jitter {
    fn default() -> Self {
        Jitter::new()
    }
}

/// Parses a `Retry-After` header: delay-seconds, or an HTTP date (a date in the past is 0).
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn ceilings_grow_exponentially_up_to_the_maximum() {
        let policy = RetryPolicy::default();
        let ceilings: Vec<u128> = (0..10).map(|n| policy.backoff_ceiling(n).as_millis()).collect();
        assert_eq!(
            ceilings,
            [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]
        );
        assert_eq!(policy.backoff_ceiling(u32::MAX), Duration::from_secs(10));
    }

    #[test]
    fn full_jitter_stays_within_the_ceiling_and_spreads() {
        let policy = RetryPolicy::default();
        let mut jitter = Jitter::seeded(42);
        let delays: Vec<Duration> = (0..1000).map(|_| policy.delay(2, None, &mut jitter)).collect();
        assert!(delays.iter().all(|delay| *delay <= Duration::from_millis(400)));
        let low = delays
            .iter()
            .filter(|delay| **delay < Duration::from_millis(200))
            .count();
        assert!((350..650).contains(&low), "{low} of 1000 below the middle");
    }

    #[test]
    fn retry_after_replaces_the_draw_but_is_capped() {
        let policy = RetryPolicy::default();
        let mut jitter = Jitter::seeded(7);
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(2)), &mut jitter),
            Duration::from_secs(2)
        );
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(3600)), &mut jitter),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn retry_after_is_parsed_as_seconds_or_a_date() {
        let mut headers = HeaderMap::new();
        assert_eq!(parse_retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(parse_retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(parse_retry_after(&headers), Some(Duration::ZERO));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let parsed = parse_retry_after(&headers).unwrap();
        assert!(
            parsed > Duration::from_secs(25) && parsed <= Duration::from_secs(30),
            "{parsed:?}"
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&headers), None);
    }
}
