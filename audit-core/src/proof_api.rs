//! Merkle proofs on the wire. Hashes are base64, as in tlog-checkpoint notes; each proof checks
//! itself against the root it names, and the caller compares that root with a signed
//! checkpoint's.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::merkle::{Hash, ProofError, verify_consistency, verify_inclusion};

/// A record's inclusion proof: it is leaf `leafIndex` (its `seq - 1`) of the organization's
/// tree of `treeSize` leaves, whose root is `rootHash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "id": "019ab9a0-1f2e-7c3d-8a4b-5c6d7e8f9a0c",
    "seq": 3,
    "leafIndex": 2,
    "treeSize": 5,
    "leafHash": "ApjRIpBtz8EIkstTpzmS/FufST6kybrbJ7eRtBJ6f+c=",
    "rootHash": "rra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc=",
    "proof": ["+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=", "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4="]
})))]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    /// The record.
    pub id: Uuid,
    /// Its `seq`.
    pub seq: i64,
    /// Its leaf index: `seq - 1`.
    pub leaf_index: u64,
    /// The size of the tree the proof is against.
    pub tree_size: u64,
    /// The leaf's hash: SHA-256(0x00 || the record's 32-byte chain hash), base64.
    pub leaf_hash: String,
    /// The root of that tree, base64.
    pub root_hash: String,
    /// The RFC 6962 audit path from the leaf's sibling up, base64 hashes.
    pub proof: Vec<String>,
}

/// A consistency proof: the tree of `oldSize` leaves is the start of the tree of `newSize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "oldSize": 2,
    "newSize": 5,
    "oldRootHash": "Tju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=",
    "newRootHash": "+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=",
    "proof": ["Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="]
})))]
#[serde(rename_all = "camelCase")]
pub struct ConsistencyProof {
    /// The older tree's size.
    pub old_size: u64,
    /// The newer tree's size.
    pub new_size: u64,
    /// The older tree's root, base64.
    pub old_root_hash: String,
    /// The newer tree's root, base64.
    pub new_root_hash: String,
    /// The RFC 6962 consistency proof, base64 hashes.
    pub proof: Vec<String>,
}

/// A hash as the wire carries it.
pub fn encode_hash(hash: &Hash) -> String {
    STANDARD.encode(hash)
}

/// A hash from the wire; `None` unless it is the base64 of 32 bytes.
pub fn decode_hash(text: &str) -> Option<Hash> {
    STANDARD.decode(text).ok()?.try_into().ok()
}

fn decode_all(texts: &[String]) -> Result<Vec<Hash>, ProofError> {
    texts
        .iter()
        .map(|text| decode_hash(text).ok_or(ProofError::RootMismatch))
        .collect()
}

impl InclusionProof {
    /// Checks the path from `leafHash` to `rootHash`, and that the leaf is the record's.
    pub fn verify(&self) -> Result<(), ProofError> {
        if i64::try_from(self.leaf_index + 1).ok() != Some(self.seq) {
            return Err(ProofError::LeafOutsideTree {
                index: self.leaf_index,
                size: self.tree_size,
            });
        }
        let leaf = decode_hash(&self.leaf_hash).ok_or(ProofError::RootMismatch)?;
        let root = decode_hash(&self.root_hash).ok_or(ProofError::RootMismatch)?;
        verify_inclusion(
            self.leaf_index,
            self.tree_size,
            &leaf,
            &decode_all(&self.proof)?,
            &root,
        )
    }
}

impl ConsistencyProof {
    /// Checks that the older root's tree is the start of the newer root's.
    pub fn verify(&self) -> Result<(), ProofError> {
        let old_root = decode_hash(&self.old_root_hash).ok_or(ProofError::RootMismatch)?;
        let new_root = decode_hash(&self.new_root_hash).ok_or(ProofError::RootMismatch)?;
        verify_consistency(
            self.old_size,
            self.new_size,
            &old_root,
            &new_root,
            &decode_all(&self.proof)?,
        )
    }
}
