//! The webhook signature, in Stripe's style: `X-Audit-Signature: t=<unix seconds>,v1=<hex>`
//! where the hex is HMAC-SHA256 of `"{t}.{body}"` under the stream's secret.
//!
//! A receiver recomputes the HMAC over the raw body it received, compares in constant time,
//! and rejects a timestamp older than its tolerance (five minutes, say) to stop replays; the
//! records' `id`s let it drop redeliveries.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const HEADER: &str = "x-audit-signature";

/// The header value for `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", hex::encode(mac(secret, timestamp, body)))
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Checks a header value as a receiver would: a valid `v1` over `body` and a timestamp no
/// further than `tolerance_seconds` from `now`.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance_seconds: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    if (now - timestamp).abs() > tolerance_seconds {
        return false;
    }
    let mut expected = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    expected.update(timestamp.to_string().as_bytes());
    expected.update(b".");
    expected.update(body);
    signatures
        .iter()
        .any(|signature| expected.clone().verify_slice(signature).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_expire() {
        let header = sign("whsec_test_secret_123", 1_764_000_000, b"{\"events\":[]}");
        assert!(header.starts_with("t=1764000000,v1="));
        assert!(verify(
            "whsec_test_secret_123",
            &header,
            b"{\"events\":[]}",
            1_764_000_100,
            300
        ));
        assert!(!verify(
            "whsec_test_secret_123",
            &header,
            b"{\"events\":[1]}",
            1_764_000_100,
            300
        ));
        assert!(!verify(
            "another_secret_12345",
            &header,
            b"{\"events\":[]}",
            1_764_000_100,
            300
        ));
        assert!(!verify(
            "whsec_test_secret_123",
            &header,
            b"{\"events\":[]}",
            1_764_000_400,
            300
        ));
    }
}
