//! What delivering needs, made the same way by the worker and by a dead letter's retry: the
//! HTTP client, the destination with its opened secret, the privacy key and the batch.

use audit_core::AuditRecord;

use super::batch::Batch;
use super::destination::{DeliveryError, Destination};
use super::network::PublicOnly;
use super::worker::WorkerSettings;
use crate::keys::sealed;
use crate::store::streams::Claimed;

/// The HTTP client destinations are called with: bounded, no redirects, and only public
/// addresses unless the operator allows private networks.
pub fn http_client(settings: &WorkerSettings) -> reqwest::Client {
    let mut http = reqwest::Client::builder()
        .timeout(settings.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("audit-log-streams/", env!("CARGO_PKG_VERSION")));
    if !settings.allow_private_networks {
        http = http.no_proxy().dns_resolver(PublicOnly);
    }
    http.build().unwrap_or_default()
}

/// The stream's destination, its secret opened with the stream key `key`.
pub fn destination(
    key: &[u8; 32],
    settings: &WorkerSettings,
    claimed: &Claimed,
) -> Result<Destination, DeliveryError> {
    let secret = claimed
        .secret_sealed
        .as_deref()
        .map(|sealed| sealed::open(key, claimed.stream.id, sealed))
        .transpose()
        .map_err(|error| DeliveryError::new(error.to_string()))?;
    Destination::new(
        &claimed.stream.destination,
        secret,
        settings.file_root.as_ref(),
        settings.allow_private_networks,
    )
}

/// The stream's opened hashing key; empty when its policy has no rules.
pub fn privacy_key(key: &[u8; 32], claimed: &Claimed) -> Result<Vec<u8>, DeliveryError> {
    if claimed.stream.privacy.rules.is_empty() {
        return Ok(Vec::new());
    }
    let sealed = claimed
        .privacy_key_sealed
        .as_deref()
        .ok_or_else(|| DeliveryError::new("the stream has no privacy key".to_owned()))?;
    let opened = sealed::open(key, claimed.stream.id, sealed)
        .map_err(|error| DeliveryError::new(error.to_string()))?;
    hex::decode(opened).map_err(|_| DeliveryError::new("the stream's privacy key cannot be read".to_owned()))
}

/// The batch of `records` (not empty) in the stream's format and privacy policy, chained to
/// the last record delivered and naming the records set aside since.
pub fn batch<'a>(
    settings: &WorkerSettings,
    claimed: &Claimed,
    privacy_key: &[u8],
    records: &'a [AuditRecord],
) -> Batch<'a> {
    let stream = &claimed.stream;
    let origin = format!("{}/{}", settings.log_name, stream.org_id);
    let mut batch = Batch::in_format(
        stream.id,
        stream.format,
        &origin,
        (&stream.privacy, privacy_key),
        records,
        claimed.last_delivered_hash.clone(),
    );
    batch.envelope.dead_lettered = claimed.dead_lettered_pending.clone();
    batch
}
