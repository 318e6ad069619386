//! Signed checkpoints: the server's Ed25519 signature over `(orgId, size, Merkle root, head
//! hash, time)`, written as a [C2SP signed note](https://github.com/C2SP/C2SP/blob/main/signed-note.md)
//! whose body is a [tlog-checkpoint](https://github.com/C2SP/C2SP/blob/main/tlog-checkpoint.md):
//!
//! ```text
//! audit-log/019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b
//! 42
//! rra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc=
//! n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=
//! 2026-11-25T10:00:00.120Z
//!
//! — audit-log/019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0b Ab3x...base64(keyId || signature)...
//! ```
//!
//! The origin line is `<log name>/<orgId>`, then the tree size (the organization's head `seq`),
//! the RFC 6962 root of its Merkle tree ([`crate::merkle`]), and two extension lines: the head
//! record's chain hash and the signing time (hashes are base64 of the 32 bytes). The signature
//! line's key name is the origin. Checkpoints signed before trees were kept have no root line
//! (origin, seq, head hash, time), those signed before key names were origins carry the log
//! name alone; both still verify. The server and the offline verifier share this one
//! implementation.
//!
//! ```
//! use audit_core::checkpoint::{Checkpoint, CheckpointSigner, CheckpointVerifier};
//!
//! let signer = CheckpointSigner::from_seed("audit-log", &[7; 32]).unwrap();
//! let checkpoint = Checkpoint::new(
//!     "audit-log",
//!     uuid::Uuid::nil(),
//!     3,
//!     &"ab".repeat(32),
//!     audit_core::timestamp::parse("2026-11-25T10:00:00Z").unwrap(),
//! );
//! let note = signer.sign(&checkpoint).note;
//! let verifier = CheckpointVerifier::from_vkey(&signer.verifier().vkey()).unwrap();
//! assert_eq!(verifier.verify(&note).unwrap(), checkpoint);
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use uuid::Uuid;

pub use crate::note::SIGNATURE_PREFIX;
use crate::note::{ED25519_NOTE, Note, NoteSignature, check_key_name, format_vkey, key_id, parse_vkey};
use crate::timestamp;

/// Why a checkpoint, a note or a key is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// A key name is empty or holds whitespace or `+`.
    #[error("key name {0:?} is empty or contains whitespace or '+'")]
    BadKeyName(String),
    /// A seed is neither 32 raw bytes nor the base64 of 32 bytes.
    #[error("a signing key seed must be 32 bytes, raw or base64")]
    BadSeed,
    /// A verifier key is not `<name>+<hex key id>+<base64(0x01 || key)>`.
    #[error("malformed verifier key: {0}")]
    BadVerifierKey(String),
    /// The note's text is not a body, a blank line and signature lines.
    #[error("malformed note: {0}")]
    BadNote(String),
    /// The note's body is not a checkpoint.
    #[error("malformed checkpoint body: {0}")]
    BadBody(String),
    /// No signature of the note is by the given key.
    #[error("the note carries no signature by key {0}")]
    NotSignedByKey(String),
    /// The signature by the given key does not verify.
    #[error("the signature by key {0} does not verify")]
    BadSignature(String),
}

/// The signed statement: the head of one organization's chain at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// `<key name>/<orgId>`.
    pub origin: String,
    /// The organization.
    pub org_id: Uuid,
    /// The `seq` of the organization's last record.
    pub seq: i64,
    /// That record's hash, lowercase hex.
    pub head_hash: String,
    /// The root of the organization's Merkle tree of `seq` leaves, lowercase hex; `None` in
    /// checkpoints signed before trees were kept, and for a trail without a tree.
    pub root_hash: Option<String>,
    /// When the server signed it.
    pub time: DateTime<Utc>,
}

impl Checkpoint {
    /// The checkpoint of `org_id`'s head `seq`/`head_hash` (hex) at `time`, by the key `key_name`.
    pub fn new(key_name: &str, org_id: Uuid, seq: i64, head_hash: &str, time: DateTime<Utc>) -> Self {
        Checkpoint {
            origin: format!("{key_name}/{org_id}"),
            org_id,
            seq,
            head_hash: head_hash.to_ascii_lowercase(),
            root_hash: None,
            time: timestamp::truncate(time),
        }
    }

    /// The same checkpoint stating `root` as the Merkle tree's root at `seq` leaves.
    pub fn with_root(mut self, root: &[u8; 32]) -> Self {
        self.root_hash = Some(hex::encode(root));
        self
    }

    /// The note body. With a Merkle root it is a c2sp.org/tlog-checkpoint: origin, tree size
    /// (`seq`), base64 root, then two extension lines, the base64 head hash and the time.
    /// Without one (the form before trees were kept): origin, seq, base64 head hash, time.
    pub fn body(&self) -> String {
        let base64 = |hex_text: &str| STANDARD.encode(hex::decode(hex_text).unwrap_or_default());
        let root_line = match &self.root_hash {
            Some(root) => format!("{}\n", base64(root)),
            None => String::new(),
        };
        format!(
            "{}\n{}\n{root_line}{}\n{}\n",
            self.origin,
            self.seq,
            base64(&self.head_hash),
            timestamp::format(&self.time)
        )
    }

    /// Reads a note body written by [`Checkpoint::body`].
    pub fn parse_body(body: &str) -> Result<Self, CheckpointError> {
        let bad = |message: &str| CheckpointError::BadBody(message.to_owned());
        let text = body
            .strip_suffix('\n')
            .ok_or_else(|| bad("does not end with a newline"))?;
        let lines: Vec<&str> = text.split('\n').collect();
        let (origin, seq, root, hash, time) = match lines[..] {
            [origin, seq, root, hash, time] => (origin, seq, Some(root), hash, time),
            [origin, seq, hash, time] => (origin, seq, None, hash, time),
            _ => {
                return Err(bad(
                    "expected origin, size, root, head hash and time lines (or origin, seq, head hash, time)",
                ));
            }
        };
        let hash_line = |line: &str, what: &str| {
            STANDARD
                .decode(line)
                .ok()
                .filter(|bytes| bytes.len() == 32)
                .map(hex::encode)
                .ok_or_else(|| bad(&format!("the {what} line is not a base64 SHA-256 hash")))
        };
        let org_id = origin
            .rsplit_once('/')
            .and_then(|(_, id)| Uuid::parse_str(id).ok())
            .ok_or_else(|| bad("the origin does not end with `/<orgId>`"))?;
        let seq: i64 = seq
            .parse()
            .ok()
            .filter(|seq| *seq >= 0)
            .ok_or_else(|| bad("the second line is not a seq"))?;
        let root_hash = root.map(|root| hash_line(root, "root")).transpose()?;
        let head_hash = hash_line(hash, "head hash")?;
        let time = timestamp::parse(time).map_err(|_| bad("the last line is not an RFC 3339 time"))?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            org_id,
            seq,
            head_hash,
            root_hash,
            time,
        })
    }
}

/// A checkpoint with its note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// What was signed.
    pub checkpoint: Checkpoint,
    /// The whole signed note: body, blank line, signature line.
    pub note: String,
    /// The signing key's name.
    pub key_name: String,
    /// The signing key's id, 8 hex digits.
    pub key_id: String,
    /// `base64(keyId || signature)`, as on the signature line.
    pub signature: String,
}

/// Signs checkpoints with an Ed25519 key. Each organization's log is its own origin,
/// `<log name>/<orgId>`, and per c2sp.org/tlog-checkpoint the key name on its signature line
/// is that origin: one Ed25519 key, one verifier key per organization
/// ([`CheckpointVerifier::for_origin`]).
#[derive(Clone)]
pub struct CheckpointSigner {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CheckpointSigner")
            .field("name", &self.name)
            .field("key_id", &self.verifier().key_id())
            .finish_non_exhaustive()
    }
}

impl CheckpointSigner {
    /// The signer of the logs named `<name>/<orgId>` whose private key is the 32-byte `seed`.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, CheckpointError> {
        check_key_name(name)?;
        Ok(CheckpointSigner {
            name: name.to_owned(),
            key: SigningKey::from_bytes(seed),
        })
    }

    /// A seed from a key file's bytes: exactly 32 raw bytes, or their base64 (surrounding
    /// whitespace ignored).
    pub fn parse_seed(bytes: &[u8]) -> Result<[u8; 32], CheckpointError> {
        if let Ok(seed) = <[u8; 32]>::try_from(bytes) {
            return Ok(seed);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| CheckpointError::BadSeed)?;
        STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|decoded| <[u8; 32]>::try_from(decoded.as_slice()).ok())
            .ok_or(CheckpointError::BadSeed)
    }

    /// The log name, the first part of every origin.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier of every origin this signer signs (named by the log name).
    pub fn verifier(&self) -> CheckpointVerifier {
        CheckpointVerifier {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// Signs `checkpoint` into a note whose key name is the checkpoint's origin.
    pub fn sign(&self, checkpoint: &Checkpoint) -> SignedCheckpoint {
        let body = checkpoint.body();
        let key_id = key_id(&checkpoint.origin, ED25519_NOTE, &self.key.verifying_key());
        let line = NoteSignature {
            name: checkpoint.origin.clone(),
            key_id,
            signature: self.key.sign(body.as_bytes()).to_bytes().to_vec(),
        };
        let mut signature_bytes = key_id.to_vec();
        signature_bytes.extend_from_slice(&line.signature);
        SignedCheckpoint {
            checkpoint: checkpoint.clone(),
            note: format!("{body}\n{}\n", line.line()),
            key_name: checkpoint.origin.clone(),
            key_id: hex::encode(key_id),
            signature: STANDARD.encode(signature_bytes),
        }
    }
}

/// Checks notes against one public key. Named by an origin (`<log name>/<orgId>`, the form of
/// a tlog-policy `log` line) it accepts that origin's checkpoints; named by the log name
/// alone it accepts every `<log name>/<orgId>` origin, and also checkpoints signed before key
/// names were origins (signature lines named by the log name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointVerifier {
    name: String,
    key: VerifyingKey,
}

impl CheckpointVerifier {
    /// Reads a verifier key `<name>+<hex key id>+<base64(0x01 || 32-byte key)>`.
    pub fn from_vkey(vkey: &str) -> Result<Self, CheckpointError> {
        let (name, key) = parse_vkey(vkey, ED25519_NOTE)?;
        Ok(CheckpointVerifier { name, key })
    }

    /// The same key named by `origin`: the verifier key of one organization's log.
    pub fn for_origin(&self, origin: &str) -> Result<Self, CheckpointError> {
        check_key_name(origin)?;
        Ok(CheckpointVerifier {
            name: origin.to_owned(),
            key: self.key,
        })
    }

    /// Whether this key signs the checkpoints of `origin`: the origin it is named by or, named
    /// by a log name, every `<log name>/<orgId>` (the orgId a lowercase hyphenated UUID).
    pub fn covers(&self, origin: &str) -> bool {
        let org_id = origin
            .strip_prefix(self.name.as_str())
            .and_then(|rest| rest.strip_prefix('/'));
        origin == self.name
            || org_id.is_some_and(|id| Uuid::parse_str(id).is_ok_and(|uuid| uuid.to_string() == id))
    }

    /// The verifier key in note format.
    pub fn vkey(&self) -> String {
        format_vkey(&self.name, ED25519_NOTE, &self.key)
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id, 8 hex digits.
    pub fn key_id(&self) -> String {
        hex::encode(key_id(&self.name, ED25519_NOTE, &self.key))
    }

    /// The raw 32-byte public key, base64.
    pub fn public_key_base64(&self) -> String {
        STANDARD.encode(self.key.as_bytes())
    }

    /// Checks that `note` is signed by this key and returns the checkpoint it states.
    /// Signatures by other keys (a witness's cosignatures among them) are ignored; one valid
    /// signature by this key is required.
    pub fn verify(&self, note: &str) -> Result<Checkpoint, CheckpointError> {
        let parsed = Note::parse(note)?;
        let checkpoint = Checkpoint::parse_body(&parsed.body)?;
        let names: Vec<&str> = if checkpoint.origin == self.name {
            vec![&self.name]
        } else if checkpoint.origin == format!("{}/{}", self.name, checkpoint.org_id) {
            vec![&checkpoint.origin, &self.name]
        } else {
            return Err(CheckpointError::BadBody(format!(
                "the origin {:?} is not one this key ({}) signs",
                checkpoint.origin, self.name
            )));
        };
        let who = format!(
            "{}+{}",
            checkpoint.origin,
            hex::encode(key_id(&checkpoint.origin, ED25519_NOTE, &self.key))
        );
        let mut found = false;
        for line in &parsed.signatures {
            let ours = names
                .iter()
                .any(|name| line.name == *name && line.key_id == key_id(name, ED25519_NOTE, &self.key));
            if !ours {
                continue;
            }
            found = true;
            let signature = <[u8; 64]>::try_from(line.signature.as_slice())
                .map(|bytes| Signature::from_bytes(&bytes))
                .map_err(|_| CheckpointError::BadSignature(who.clone()))?;
            self.key
                .verify_strict(parsed.body.as_bytes(), &signature)
                .map_err(|_| CheckpointError::BadSignature(who.clone()))?;
        }
        if !found {
            return Err(CheckpointError::NotSignedByKey(who));
        }
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rooted_checkpoint_is_a_tlog_checkpoint_and_reads_back() {
        let time = timestamp::parse("2026-12-06T10:00:00Z").unwrap();
        let checkpoint =
            Checkpoint::new("audit-log", Uuid::nil(), 5, &"ab".repeat(32), time).with_root(&[7; 32]);
        let body = checkpoint.body();
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines[1], "5");
        assert_eq!(lines[2], STANDARD.encode([7; 32]));
        assert_eq!(lines.len(), 5);
        assert_eq!(Checkpoint::parse_body(&body).unwrap(), checkpoint);
        let legacy = Checkpoint::new("audit-log", Uuid::nil(), 5, &"ab".repeat(32), time);
        assert_eq!(legacy.body().lines().count(), 4);
        assert_eq!(Checkpoint::parse_body(&legacy.body()).unwrap(), legacy);
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint::new(
            "audit-log",
            Uuid::from_u128(42),
            7,
            &"0f".repeat(32),
            timestamp::parse("2026-11-25T10:00:00.120Z").unwrap(),
        )
    }

    #[test]
    fn a_signed_note_verifies_and_round_trips() {
        let signer = CheckpointSigner::from_seed("audit-log", &[1; 32]).unwrap();
        let signed = signer.sign(&checkpoint());
        assert!(
            signed
                .note
                .starts_with(&format!("audit-log/{}\n7\n", Uuid::from_u128(42)))
        );
        assert!(
            signed
                .note
                .contains(&format!("\n\n— audit-log/{} ", Uuid::from_u128(42)))
        );
        let verifier = CheckpointVerifier::from_vkey(&signer.verifier().vkey()).unwrap();
        assert_eq!(verifier, signer.verifier());
        assert_eq!(verifier.verify(&signed.note).unwrap(), checkpoint());
    }

    #[test]
    fn another_key_or_a_changed_body_is_refused() {
        let signer = CheckpointSigner::from_seed("audit-log", &[1; 32]).unwrap();
        let other = CheckpointSigner::from_seed("audit-log", &[2; 32]).unwrap();
        let note = other.sign(&checkpoint()).note;
        assert!(matches!(
            signer.verifier().verify(&note),
            Err(CheckpointError::NotSignedByKey(_))
        ));
        let note = signer.sign(&checkpoint()).note.replacen("\n7\n", "\n8\n", 1);
        assert!(matches!(
            signer.verifier().verify(&note),
            Err(CheckpointError::BadSignature(_))
        ));
    }

    #[test]
    fn seeds_are_raw_or_base64() {
        assert_eq!(CheckpointSigner::parse_seed(&[3; 32]).unwrap(), [3; 32]);
        let text = format!("{}\n", STANDARD.encode([4; 32]));
        assert_eq!(CheckpointSigner::parse_seed(text.as_bytes()).unwrap(), [4; 32]);
        assert!(CheckpointSigner::parse_seed(b"short").is_err());
    }

    #[test]
    fn a_log_name_covers_its_organizations_and_an_origin_only_itself() {
        let log = CheckpointSigner::from_seed("audit-log", &[1; 32])
            .unwrap()
            .verifier();
        let origin = format!("audit-log/{}", Uuid::from_u128(42));
        assert!(log.covers(&origin));
        assert!(log.covers("audit-log"));
        assert!(!log.covers("audit-log/not-a-uuid"));
        assert!(!log.covers(&origin.to_uppercase().replace("AUDIT-LOG", "audit-log")));
        assert!(!log.covers(&format!("audit-logs/{}", Uuid::from_u128(42))));
        let one = log.for_origin(&origin).unwrap();
        assert!(one.covers(&origin));
        assert!(!one.covers(&format!("audit-log/{}", Uuid::from_u128(43))));
    }

    #[test]
    fn malformed_verifier_keys_are_refused() {
        let vkey = CheckpointSigner::from_seed("audit-log", &[1; 32])
            .unwrap()
            .verifier()
            .vkey();
        assert!(CheckpointVerifier::from_vkey(&vkey.replacen("audit-log", "other", 1)).is_err());
        assert!(CheckpointVerifier::from_vkey("audit-log+00").is_err());
    }
}
