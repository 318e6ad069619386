//! The [C2SP signed-note](https://c2sp.org/signed-note) container, apart from what its body
//! says: splitting a note into its body and signature lines, verifier keys (`vkey`s) and key
//! ids. Checkpoints ([`crate::checkpoint`]) and witness cosignatures ([`crate::cosignature`])
//! are both notes; they differ in the signature type byte and in the message signed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use crate::checkpoint::CheckpointError;

/// What starts every signature line of a note: an em dash and a space.
pub const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// The signature type byte of a log's Ed25519 note signature.
pub const ED25519_NOTE: u8 = 0x01;

/// The signature type byte of an Ed25519 `cosignature/v1` (c2sp.org/tlog-cosignature).
pub const ED25519_COSIGNATURE: u8 = 0x04;

/// One signature line of a note: `— <name> base64(key id || signature)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The first four bytes of the decoded signature: the key id.
    pub key_id: [u8; 4],
    /// The rest of the decoded signature.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The line as it appears in a note, without its newline.
    pub fn line(&self) -> String {
        let mut bytes = self.key_id.to_vec();
        bytes.extend_from_slice(&self.signature);
        format!("{SIGNATURE_PREFIX}{} {}", self.name, STANDARD.encode(bytes))
    }

    /// Reads one signature line (without its newline).
    pub fn parse(line: &str) -> Result<Self, CheckpointError> {
        let bad = |message: &str| CheckpointError::BadNote(message.to_owned());
        let rest = line
            .strip_prefix(SIGNATURE_PREFIX)
            .ok_or_else(|| bad("a signature line does not start with an em dash"))?;
        let (name, signature) = rest
            .split_once(' ')
            .ok_or_else(|| bad("a signature line lacks a key name"))?;
        let bytes = STANDARD
            .decode(signature)
            .map_err(|_| bad("a signature is not base64"))?;
        if bytes.len() < 4 || name.is_empty() {
            return Err(bad("a signature is shorter than its key id"));
        }
        Ok(NoteSignature {
            name: name.to_owned(),
            key_id: [bytes[0], bytes[1], bytes[2], bytes[3]],
            signature: bytes[4..].to_vec(),
        })
    }
}

/// A note split into its body (with its final newline) and its signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The text that was signed, ending in a newline.
    pub body: String,
    /// The signatures, in order.
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Splits `text` at its first blank line; every line after it must be a signature.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let bad = |message: &str| CheckpointError::BadNote(message.to_owned());
        let split = text
            .find("\n\n")
            .ok_or_else(|| bad("no blank line before the signatures"))?;
        let (body, signatures) = (&text[..split + 1], &text[split + 2..]);
        let signatures = signatures
            .strip_suffix('\n')
            .ok_or_else(|| bad("does not end with a newline"))?;
        let signatures = signatures
            .split('\n')
            .map(NoteSignature::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Note {
            body: body.to_owned(),
            signatures,
        })
    }

    /// The note's text: body, blank line, one line per signature.
    pub fn text(&self) -> String {
        let mut text = format!("{}\n", self.body);
        for signature in &self.signatures {
            text.push_str(&signature.line());
            text.push('\n');
        }
        text
    }

    /// Adds `signature` unless a signature with its name and key id is there already.
    pub fn add_signature(&mut self, signature: NoteSignature) {
        let known = self
            .signatures
            .iter()
            .any(|held| held.name == signature.name && held.key_id == signature.key_id);
        if !known {
            self.signatures.push(signature);
        }
    }
}

/// The key id of an Ed25519 key of type `kind`: `SHA-256(name || "\n" || kind || key)[..4]`.
pub fn key_id(name: &str, kind: u8, key: &VerifyingKey) -> [u8; 4] {
    let mut digest = Sha256::new();
    digest.update(name.as_bytes());
    digest.update(b"\n");
    digest.update([kind]);
    digest.update(key.as_bytes());
    let hash = digest.finalize();
    [hash[0], hash[1], hash[2], hash[3]]
}

/// Refuses a key name that is empty or holds whitespace or `+`.
pub fn check_key_name(name: &str) -> Result<(), CheckpointError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(CheckpointError::BadKeyName(name.to_owned()));
    }
    Ok(())
}

/// The verifier key `<name>+<hex key id>+<base64(kind || key)>`.
pub fn format_vkey(name: &str, kind: u8, key: &VerifyingKey) -> String {
    let mut bytes = vec![kind];
    bytes.extend_from_slice(key.as_bytes());
    format!(
        "{name}+{}+{}",
        hex::encode(key_id(name, kind, key)),
        STANDARD.encode(bytes)
    )
}

/// Reads a verifier key of signature type `kind`; returns its name and Ed25519 key.
pub fn parse_vkey(vkey: &str, kind: u8) -> Result<(String, VerifyingKey), CheckpointError> {
    let bad = |message: &str| CheckpointError::BadVerifierKey(message.to_owned());
    let mut parts = vkey.trim().splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected <name>+<key id>+<key>"));
    };
    check_key_name(name).map_err(|error| bad(&error.to_string()))?;
    let key = STANDARD.decode(key).map_err(|_| bad("the key is not base64"))?;
    let key = match key.split_first() {
        Some((&found, rest)) if found == kind => {
            <[u8; 32]>::try_from(rest).map_err(|_| bad("the key is not 32 bytes"))?
        }
        _ => return Err(bad(&format!("not an Ed25519 key of type byte {kind:#04x}"))),
    };
    let key = VerifyingKey::from_bytes(&key).map_err(|_| bad("not a valid Ed25519 point"))?;
    if !id.eq_ignore_ascii_case(&hex::encode(key_id(name, kind, &key))) {
        return Err(bad("the key id does not match the name and key"));
    }
    Ok((name.to_owned(), key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_splits_and_joins_again() {
        let text = "origin\n3\nroot\n\n\u{2014} a AAAAAAE=\n\u{2014} b AQIDBAU=\n";
        let note = Note::parse(text).unwrap();
        assert_eq!(note.body, "origin\n3\nroot\n");
        assert_eq!(note.signatures.len(), 2);
        assert_eq!(note.signatures[1].key_id, [1, 2, 3, 4]);
        assert_eq!(note.signatures[1].signature, vec![5]);
        assert_eq!(note.text(), text);
        let mut twice = note.clone();
        twice.add_signature(note.signatures[0].clone());
        assert_eq!(twice, note);
    }

    #[test]
    fn malformed_notes_are_refused() {
        for text in [
            "no blank line\n",
            "body\n\nnot a signature\n",
            "body\n\n\u{2014} a AAAAAAE=",
            "body\n\n\u{2014} a AAE=\n",
        ] {
            assert!(Note::parse(text).is_err(), "{text:?}");
        }
    }
}
