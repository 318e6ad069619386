//! S3-compatible object storage: every batch becomes one gzipped NDJSON object (one event per
//! line, in `seq` order) and one small JSON manifest beside it.
//!
//! Keys are `<prefix>/<orgId>/YYYY/MM/DD/HH/<firstSeq>-<lastSeq>.ndjson.gz` (the hour of the
//! first record's `createdAt`, UTC; both `seq`s zero-padded to 20 digits so keys sort in
//! delivery order) and the same with `.manifest.json`. Invariants:
//! - the manifest is written only after its object, so a manifest proves its object exists;
//! - keys depend only on the batch, so a batch sent again after a restart overwrites its own
//!   objects instead of adding new ones;
//! - manifests chain: each names the previous batch's last hash and its first record's
//!   `prevHash`, so a reader proves there is no hole between consecutive objects.
//!
//! Requests are signed by `rusty-s3` (presigned SigV4 URLs) and sent with the stream's client.

use std::io::Write;
use std::time::Duration;

use audit_core::S3Destination;
use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use serde_json::{Value, json};

use super::batch::{Batch, BatchEnvelope};
use super::destination::{DeliveryError, check_status};

/// How long a signed request stays valid.
const SIGNED_FOR: Duration = Duration::from_secs(300);

/// The service URL `config` talks to: its endpoint, or AWS's regional one.
pub fn endpoint(config: &S3Destination) -> String {
    config
        .endpoint
        .clone()
        .unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", config.region))
}

/// Splits a secret `ACCESS_KEY_ID:SECRET_ACCESS_KEY` (the key id cannot hold a `:`).
pub fn credentials(secret: &str) -> Option<(&str, &str)> {
    secret
        .split_once(':')
        .filter(|(id, key)| !id.is_empty() && !key.is_empty())
}

/// The object key of a batch, without its extension.
pub fn key_stem(prefix: Option<&str>, envelope: &BatchEnvelope, first_created: DateTime<Utc>) -> String {
    let prefix = prefix
        .map(|prefix| prefix.trim_end_matches('/'))
        .unwrap_or_default();
    let path = format!(
        "{}/{}/{:020}-{:020}",
        envelope.org_id,
        first_created.format("%Y/%m/%d/%H"),
        envelope.first_seq,
        envelope.last_seq
    );
    if prefix.is_empty() {
        path
    } else {
        format!("{prefix}/{path}")
    }
}

/// Writes batches into one bucket.
#[derive(Debug)]
pub struct S3Sink {
    bucket: Bucket,
    credentials: Credentials,
    prefix: Option<String>,
}

impl S3Sink {
    /// A sink for `config` signing with `secret` (`ID:SECRET`).
    pub fn new(config: &S3Destination, secret: &str) -> Result<Self, DeliveryError> {
        let (id, key) = credentials(secret).ok_or_else(|| {
            DeliveryError::new("s3: the secret is not `ACCESS_KEY_ID:SECRET_ACCESS_KEY`".to_owned())
        })?;
        let url = reqwest::Url::parse(&endpoint(config))
            .map_err(|error| DeliveryError::new(format!("s3: endpoint: {error}")))?;
        let style = if config.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(url, style, config.bucket.clone(), config.region.clone())
            .map_err(|error| DeliveryError::new(format!("s3: bucket: {error}")))?;
        Ok(S3Sink {
            bucket,
            credentials: Credentials::new(id, key),
            prefix: config.prefix.clone(),
        })
    }

    /// Puts the batch's object, then its manifest.
    pub async fn send(&self, http: &reqwest::Client, batch: &Batch<'_>) -> Result<(), DeliveryError> {
        let Some(first) = batch.records.first() else {
            return Ok(());
        };
        let stem = key_stem(self.prefix.as_deref(), &batch.envelope, first.created_at);
        let object = gzipped_ndjson(&batch.events)?;
        let manifest = manifest(batch, &stem);
        self.put(http, &format!("{stem}.ndjson.gz"), "application/x-ndjson", object)
            .await?;
        let manifest = serde_json::to_vec(&manifest).unwrap_or_default();
        self.put(
            http,
            &format!("{stem}.manifest.json"),
            "application/json",
            manifest,
        )
        .await
    }

    async fn put(
        &self,
        http: &reqwest::Client,
        key: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(), DeliveryError> {
        let url = self
            .bucket
            .put_object(Some(&self.credentials), key)
            .sign(SIGNED_FOR);
        let response = http
            .put(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .map_err(DeliveryError::from_reqwest)?;
        check_status(response)
            .await
            .map_err(|error| DeliveryError::new(format!("s3: PUT {key}: {error}")))
    }
}

/// The events, one JSON document a line, gzipped.
fn gzipped_ndjson(events: &[Value]) -> Result<Vec<u8>, DeliveryError> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    for event in events {
        serde_json::to_writer(&mut encoder, event)
            .map_err(|error| DeliveryError::new(format!("s3: {error}")))?;
        encoder
            .write_all(b"\n")
            .map_err(|error| DeliveryError::new(format!("s3: {error}")))?;
    }
    encoder
        .finish()
        .map_err(|error| DeliveryError::new(format!("s3: {error}")))
}

/// What a reader checks an object against: the envelope, the object's key and the first
/// record's `prevHash` (equal to the previous manifest's `lastHash` when nothing is missing).
fn manifest(batch: &Batch<'_>, stem: &str) -> Value {
    let first = batch.records.first();
    json!({
        "object": format!("{stem}.ndjson.gz"),
        "count": batch.envelope.count,
        "firstSeq": batch.envelope.first_seq,
        "lastSeq": batch.envelope.last_seq,
        "firstPrevHash": first.map(|record| record.prev_hash.clone()),
        "lastHash": batch.envelope.last_hash,
        "previousBatchHash": batch.envelope.previous_batch_hash,
        "envelope": batch.envelope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn envelope(first_seq: i64, last_seq: i64) -> BatchEnvelope {
        BatchEnvelope {
            stream_id: Uuid::nil(),
            org_id: Uuid::nil(),
            count: 2,
            first_seq,
            last_seq,
            previous_batch_hash: None,
            last_hash: "h".to_owned(),
            checkpoint: None,
            dead_lettered: Vec::new(),
            dead_letter_retry: false,
        }
    }

    #[test]
    fn keys_sort_by_hour_then_seq_and_ignore_a_trailing_slash() {
        let time = DateTime::parse_from_rfc3339("2026-12-07T09:59:59Z")
            .unwrap()
            .to_utc();
        let key = key_stem(Some("audit/"), &envelope(9, 10), time);
        assert_eq!(
            key,
            "audit/00000000-0000-0000-0000-000000000000/2026/12/07/09/00000000000000000009-00000000000000000010"
        );
        assert!(key < key_stem(Some("audit"), &envelope(11, 12), time));
        assert!(!key_stem(None, &envelope(1, 2), time).starts_with('/'));
    }

    #[test]
    fn credentials_need_both_halves() {
        assert_eq!(credentials("AKID:se:cret"), Some(("AKID", "se:cret")));
        assert_eq!(credentials("AKID"), None);
        assert_eq!(credentials(":secret"), None);
        assert_eq!(credentials("AKID:"), None);
    }
}
