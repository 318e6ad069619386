//! Witness cosignatures, [c2sp.org/tlog-cosignature](https://c2sp.org/tlog-cosignature)
//! `cosignature/v1` with Ed25519: a witness's statement that, at a time, the checkpoint is the
//! largest consistent tree it has seen for the origin.
//!
//! The signed message is `cosignature/v1\ntime <unix seconds>\n` followed by the checkpoint's
//! whole note body; the signature line is `— <witness name> base64(key id || u64 big-endian
//! time || 64-byte signature)`, the key id taken over type byte `0x04`.
//!
//! ```
//! use audit_core::cosignature::{Cosigner, CosignatureVerifier};
//!
//! let witness = Cosigner::from_seed("witness.example/w1", &[3; 32]).unwrap();
//! let body = "example.com/log\n2\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
//! let line = witness.cosign(body, 1_700_000_000);
//! let verifier = CosignatureVerifier::from_vkey(&witness.verifier().vkey()).unwrap();
//! assert_eq!(verifier.verify_line(body, &line).unwrap(), Some(1_700_000_000));
//! ```

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::checkpoint::CheckpointError;
use crate::note::{
    ED25519_COSIGNATURE, Note, NoteSignature, check_key_name, format_vkey, key_id, parse_vkey,
};

/// The message a `cosignature/v1` signs over a checkpoint `body` at `time`.
fn signed_message(body: &str, time: u64) -> String {
    format!("cosignature/v1\ntime {time}\n{body}")
}

/// A witness's Ed25519 signing key.
#[derive(Clone)]
pub struct Cosigner {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for Cosigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Cosigner")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Cosigner {
    /// The witness named `name` (a schema-less URL by convention) with the 32-byte `seed`.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, CheckpointError> {
        check_key_name(name)?;
        Ok(Cosigner {
            name: name.to_owned(),
            key: SigningKey::from_bytes(seed),
        })
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier of this witness's cosignatures.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// The cosignature line (without its newline) over the checkpoint `body` at `time`.
    pub fn cosign(&self, body: &str, time: u64) -> String {
        let signature = self.key.sign(signed_message(body, time).as_bytes());
        let mut bytes = time.to_be_bytes().to_vec();
        bytes.extend_from_slice(&signature.to_bytes());
        NoteSignature {
            name: self.name.clone(),
            key_id: key_id(&self.name, ED25519_COSIGNATURE, &self.key.verifying_key()),
            signature: bytes,
        }
        .line()
    }
}

/// Checks one witness's cosignatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Reads a witness verifier key `<name>+<hex key id>+<base64(0x04 || 32-byte key)>`.
    pub fn from_vkey(vkey: &str) -> Result<Self, CheckpointError> {
        let (name, key) = parse_vkey(vkey, ED25519_COSIGNATURE)?;
        Ok(CosignatureVerifier { name, key })
    }

    /// The verifier key in note format.
    pub fn vkey(&self) -> String {
        format_vkey(&self.name, ED25519_COSIGNATURE, &self.key)
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id, 8 hex digits.
    pub fn key_id(&self) -> String {
        hex::encode(key_id(&self.name, ED25519_COSIGNATURE, &self.key))
    }

    /// Whether `signature` is by this witness (its name and key id), valid or not.
    pub fn is_signer_of(&self, signature: &NoteSignature) -> bool {
        signature.name == self.name && signature.key_id == key_id(&self.name, ED25519_COSIGNATURE, &self.key)
    }

    /// Checks `signature` over the checkpoint `body`; returns the cosignature's time, `None`
    /// when the signature is not by this witness.
    pub fn verify_signature(
        &self,
        body: &str,
        signature: &NoteSignature,
    ) -> Result<Option<u64>, CheckpointError> {
        if !self.is_signer_of(signature) {
            return Ok(None);
        }
        let who = format!("{}+{}", self.name, self.key_id());
        let bytes = &signature.signature;
        if bytes.len() != 8 + 64 {
            return Err(CheckpointError::BadSignature(who));
        }
        let time = u64::from_be_bytes(bytes[..8].try_into().expect("eight bytes"));
        let ed25519 = Signature::from_bytes(bytes[8..].try_into().expect("64 bytes"));
        self.key
            .verify_strict(signed_message(body, time).as_bytes(), &ed25519)
            .map_err(|_| CheckpointError::BadSignature(who))?;
        Ok(Some(time))
    }

    /// [`verify_signature`](Self::verify_signature) of one signature line.
    pub fn verify_line(&self, body: &str, line: &str) -> Result<Option<u64>, CheckpointError> {
        self.verify_signature(body, &NoteSignature::parse(line.trim_end_matches('\n'))?)
    }

    /// Finds this witness's cosignature in `note` and checks it; returns its time.
    pub fn verify(&self, note: &str) -> Result<u64, CheckpointError> {
        let note = Note::parse(note)?;
        for signature in &note.signatures {
            if let Some(time) = self.verify_signature(&note.body, signature)? {
                return Ok(time);
            }
        }
        Err(CheckpointError::NotSignedByKey(format!(
            "{}+{}",
            self.name,
            self.key_id()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

    #[test]
    fn a_cosigned_note_verifies_and_states_its_time() {
        let witness = Cosigner::from_seed("w.example/1", &[5; 32]).unwrap();
        let note = format!("{BODY}\n{}\n", witness.cosign(BODY, 42));
        let verifier = CosignatureVerifier::from_vkey(&witness.verifier().vkey()).unwrap();
        assert_eq!(verifier.verify(&note).unwrap(), 42);
    }

    #[test]
    fn another_body_time_or_witness_is_refused() {
        let witness = Cosigner::from_seed("w.example/1", &[5; 32]).unwrap();
        let verifier = witness.verifier();
        let line = witness.cosign(BODY, 42);
        let other_body = BODY.replace("\n5\n", "\n6\n");
        assert!(verifier.verify_line(&other_body, &line).is_err());
        let mut signature = NoteSignature::parse(&line).unwrap();
        signature.signature[7] ^= 1;
        assert!(verifier.verify_signature(BODY, &signature).is_err());
        let stranger = Cosigner::from_seed("w.example/1", &[6; 32]).unwrap();
        assert_eq!(stranger.verifier().verify_line(BODY, &line).unwrap(), None);
    }

    #[test]
    fn a_log_key_is_not_a_witness_key() {
        let log = crate::checkpoint::CheckpointSigner::from_seed("log", &[1; 32]).unwrap();
        assert!(CosignatureVerifier::from_vkey(&log.verifier().vkey()).is_err());
    }
}
