//! Viewer tokens: short-lived, HMAC-SHA256-signed grants to read one organization's (or one
//! project's) trail, carrying the viewing user.
//!
//! Form: `vt_<base64url(JSON claims)>.<base64url(HMAC-SHA256(key, "vt_" + claims part))>`.

use audit_core::Role;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

/// The prefix that tells viewer tokens from API key secrets.
pub const PREFIX: &str = "vt_";

/// What a viewer token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewerGrant {
    /// The token's own id (recorded in the trail when it is minted and used).
    #[serde(rename = "i")]
    pub token_id: Uuid,
    /// The organization.
    #[serde(rename = "o")]
    pub org_id: Uuid,
    /// The project, for a project-level grant.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// The viewing user.
    #[serde(rename = "u")]
    pub user_id: String,
    /// The user's organization role.
    #[serde(rename = "r")]
    pub org_role: Role,
    /// The user's project role.
    #[serde(rename = "pr", default, skip_serializing_if = "Option::is_none")]
    pub project_role: Option<Role>,
    /// The API key that minted the token.
    #[serde(rename = "k")]
    pub minted_by: Uuid,
    /// Expiry, Unix seconds.
    #[serde(rename = "e")]
    pub expires: i64,
}

/// Why a viewer token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token this server signed (malformed or tampered).
    #[error("the viewer token is not valid")]
    Invalid,
    /// Signed, but past its expiry.
    #[error("the viewer token has expired; ask the app for a new link")]
    Expired,
}

fn mac(key: &[u8; 32], claims_part: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(PREFIX.as_bytes());
    mac.update(claims_part.as_bytes());
    mac
}

/// Signs a grant.
pub fn sign(key: &[u8; 32], grant: &ViewerGrant) -> String {
    let claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(grant).unwrap_or_default());
    let signature = URL_SAFE_NO_PAD.encode(mac(key, &claims).finalize().into_bytes());
    format!("{PREFIX}{claims}.{signature}")
}

/// Checks a token's signature and expiry at `now`.
pub fn verify(key: &[u8; 32], token: &str, now: DateTime<Utc>) -> Result<ViewerGrant, TokenError> {
    let body = token.strip_prefix(PREFIX).ok_or(TokenError::Invalid)?;
    let (claims, signature) = body.split_once('.').ok_or(TokenError::Invalid)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Invalid)?;
    mac(key, claims)
        .verify_slice(&signature)
        .map_err(|_| TokenError::Invalid)?;
    let claims = URL_SAFE_NO_PAD.decode(claims).map_err(|_| TokenError::Invalid)?;
    let grant: ViewerGrant = serde_json::from_slice(&claims).map_err(|_| TokenError::Invalid)?;
    if grant.expires <= now.timestamp() {
        return Err(TokenError::Expired);
    }
    Ok(grant)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(expires: i64) -> ViewerGrant {
        ViewerGrant {
            token_id: Uuid::now_v7(),
            org_id: Uuid::now_v7(),
            project_id: Some("p_1".into()),
            user_id: "u_1".into(),
            org_role: Role::Member,
            project_role: Some(Role::Admin),
            minted_by: Uuid::now_v7(),
            expires,
        }
    }

    #[test]
    fn signed_tokens_verify_until_they_expire() {
        let key = [7u8; 32];
        let now = Utc::now();
        let grant = grant(now.timestamp() + 60);
        let token = sign(&key, &grant);
        assert_eq!(verify(&key, &token, now), Ok(grant));
        assert_eq!(
            verify(&key, &token, now + chrono::Duration::seconds(61)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn tampered_or_foreign_tokens_are_invalid() {
        let key = [7u8; 32];
        let now = Utc::now();
        let token = sign(&key, &grant(now.timestamp() + 60));
        assert_eq!(verify(&[8u8; 32], &token, now), Err(TokenError::Invalid));
        let (claims, signature) = token.split_once('.').unwrap();
        let mut forged = grant(now.timestamp() + 60);
        forged.project_id = None;
        let forged_claims = format!(
            "{PREFIX}{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap())
        );
        assert_eq!(
            verify(&key, &format!("{forged_claims}.{signature}"), now),
            Err(TokenError::Invalid)
        );
        assert_eq!(verify(&key, claims, now), Err(TokenError::Invalid));
        assert_eq!(verify(&key, "vt_garbage", now), Err(TokenError::Invalid));
    }
}
