//! Destination secrets at rest: ChaCha20-Poly1305 with the server's stream key (generated once
//! and shared through the database like the viewer key), a random nonce per secret, and the
//! stream's id as associated data so a sealed secret cannot be moved to another stream.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use uuid::Uuid;

/// The name of the stream secret key in `server_secrets`.
pub const STREAM_SECRET_KEY: &str = "stream_secret_key";

const NONCE_BYTES: usize = 12;

/// A secret could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stream secret: {0}")]
pub struct SealError(String);

/// Encrypts `secret` for stream `stream_id`; hex of nonce and ciphertext.
pub fn seal(key: &[u8; 32], stream_id: Uuid, secret: &str) -> Result<String, SealError> {
    let mut nonce = [0u8; NONCE_BYTES];
    getrandom::fill(&mut nonce).map_err(|error| SealError(format!("no randomness: {error}")))?;
    let cipher = ChaCha20Poly1305::new(&Key::from(*key));
    let payload = Payload {
        msg: secret.as_bytes(),
        aad: stream_id.as_bytes(),
    };
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), payload)
        .map_err(|_| SealError("encryption failed".to_owned()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(hex::encode(out))
}

/// Decrypts what [`seal`] made for the same stream.
pub fn open(key: &[u8; 32], stream_id: Uuid, sealed: &str) -> Result<String, SealError> {
    let bytes = hex::decode(sealed).map_err(|_| SealError("not hex".to_owned()))?;
    if bytes.len() < NONCE_BYTES {
        return Err(SealError("too short".to_owned()));
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
    let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| SealError("too short".to_owned()))?;
    let cipher = ChaCha20Poly1305::new(&Key::from(*key));
    let payload = Payload {
        msg: ciphertext,
        aad: stream_id.as_bytes(),
    };
    let plain = cipher
        .decrypt(&Nonce::from(nonce), payload)
        .map_err(|_| SealError("cannot be decrypted with this server's key".to_owned()))?;
    String::from_utf8(plain).map_err(|_| SealError("not UTF-8".to_owned()))
}

/// The last four characters, shown so people can tell secrets apart.
pub fn hint(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_for_their_stream_and_key() {
        let key = [7u8; 32];
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let sealed = seal(&key, a, "whsec_0123456789abcdef").unwrap();
        assert!(!sealed.contains("whsec"));
        assert_ne!(
            sealed,
            seal(&key, a, "whsec_0123456789abcdef").unwrap(),
            "fresh nonce"
        );
        assert_eq!(open(&key, a, &sealed).unwrap(), "whsec_0123456789abcdef");
        assert!(open(&key, b, &sealed).is_err());
        assert!(open(&[8u8; 32], a, &sealed).is_err());
        assert_eq!(hint("whsec_0123456789abcdef"), "…cdef");
    }
}
