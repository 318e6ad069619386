//! OpenTelemetry logs: every batch is one OTLP/HTTP export request (`POST {url}/v1/logs`,
//! `application/x-protobuf`) built from the `opentelemetry-proto` messages, with one log record
//! per audit record.
//!
//! Mapping: `eventName` = `resource.action`; `timeUnixNano` = `occurredAt`;
//! `observedTimeUnixNano` = `createdAt`; `traceId` = the record's trace id when it is 32 hex
//! digits (W3C), otherwise the attribute only; `body` = the event as JSON text; `attributes` =
//! the event's fields in its own shape (objects as key-value lists, arrays as arrays, nulls left
//! out). The resource carries `service.name`, `service.version` and `audit.org_id`; the scope's
//! attributes carry the batch envelope (`audit.stream_id`, `audit.batch.first_seq`, ...).

use audit_core::{AuditRecord, OtlpDestination};
use chrono::{DateTime, Utc};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde_json::Value;

use super::batch::{Batch, BatchEnvelope};
use super::destination::{DeliveryError, check_status};

/// The default `service.name`.
pub const DEFAULT_SERVICE_NAME: &str = "audit-log";

/// Where `config`'s logs go.
pub fn endpoint(config: &OtlpDestination) -> String {
    format!("{}/v1/logs", config.url.trim_end_matches('/'))
}

fn text(value: impl Into<String>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(value.into())),
    }
}

fn pair(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(value),
        ..Default::default()
    }
}

/// A JSON value as an OTLP value; `None` for null.
fn any_value(value: &Value) -> Option<AnyValue> {
    let value = match value {
        Value::Null => return None,
        Value::Bool(flag) => any_value::Value::BoolValue(*flag),
        Value::Number(number) => match number.as_i64() {
            Some(integer) => any_value::Value::IntValue(integer),
            None => any_value::Value::DoubleValue(number.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(string) => any_value::Value::StringValue(string.clone()),
        Value::Array(items) => any_value::Value::ArrayValue(ArrayValue {
            values: items.iter().filter_map(any_value).collect(),
        }),
        Value::Object(fields) => any_value::Value::KvlistValue(KeyValueList {
            values: attributes(fields),
        }),
    };
    Some(AnyValue { value: Some(value) })
}

/// An object's fields as attributes, nulls left out.
fn attributes(fields: &serde_json::Map<String, Value>) -> Vec<KeyValue> {
    fields
        .iter()
        .filter_map(|(key, value)| any_value(value).map(|value| pair(key, value)))
        .collect()
}

fn unix_nanos(time: DateTime<Utc>) -> u64 {
    time.timestamp_nanos_opt()
        .and_then(|nanos| u64::try_from(nanos).ok())
        .unwrap_or(0)
}

/// The 16 bytes of a W3C trace id (32 hex digits, not all zero).
pub fn trace_id_bytes(trace_id: Option<&str>) -> Vec<u8> {
    trace_id
        .filter(|id| id.len() == 32)
        .and_then(|id| hex::decode(id).ok())
        .filter(|bytes| bytes.iter().any(|byte| *byte != 0))
        .unwrap_or_default()
}

fn log_record(record: &AuditRecord, event: &Value) -> LogRecord {
    let fields = event.as_object().cloned().unwrap_or_default();
    LogRecord {
        time_unix_nano: unix_nanos(record.occurred_at),
        observed_time_unix_nano: unix_nanos(record.created_at),
        severity_number: SeverityNumber::Info as i32,
        severity_text: "INFO".to_owned(),
        event_name: format!("{}.{}", record.resource_type, record.action),
        body: Some(text(event.to_string())),
        attributes: attributes(&fields),
        trace_id: trace_id_bytes(record.trace_id.as_deref()),
        ..Default::default()
    }
}

fn envelope_attributes(envelope: &BatchEnvelope) -> Vec<KeyValue> {
    let int = |value: i64| AnyValue {
        value: Some(any_value::Value::IntValue(value)),
    };
    let mut attributes = vec![
        pair("audit.stream_id", text(envelope.stream_id.to_string())),
        pair("audit.batch.count", int(envelope.count as i64)),
        pair("audit.batch.first_seq", int(envelope.first_seq)),
        pair("audit.batch.last_seq", int(envelope.last_seq)),
        pair("audit.batch.last_hash", text(envelope.last_hash.clone())),
    ];
    if let Some(hash) = &envelope.previous_batch_hash {
        attributes.push(pair("audit.batch.previous_batch_hash", text(hash.clone())));
    }
    if let Some(checkpoint) = &envelope.checkpoint {
        attributes.push(pair("audit.batch.checkpoint", text(checkpoint.clone())));
    }
    if let Some(seqs) = envelope.dead_lettered_text() {
        attributes.push(pair("audit.batch.dead_lettered", text(seqs)));
    }
    if envelope.dead_letter_retry {
        let retry = AnyValue {
            value: Some(any_value::Value::BoolValue(true)),
        };
        attributes.push(pair("audit.batch.dead_letter_retry", retry));
    }
    attributes
}

/// The export request of one batch.
pub fn request(config: &OtlpDestination, batch: &Batch<'_>) -> ExportLogsServiceRequest {
    let service = config.service_name.as_deref().unwrap_or(DEFAULT_SERVICE_NAME);
    let resource = Resource {
        attributes: vec![
            pair("service.name", text(service)),
            pair("service.version", text(env!("CARGO_PKG_VERSION"))),
            pair("audit.org_id", text(batch.envelope.org_id.to_string())),
        ],
        ..Default::default()
    };
    let scope = InstrumentationScope {
        name: "audit-log".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        attributes: envelope_attributes(&batch.envelope),
        ..Default::default()
    };
    let log_records = batch
        .records
        .iter()
        .zip(&batch.events)
        .map(|(record, event)| log_record(record, event))
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource),
            scope_logs: vec![ScopeLogs {
                scope: Some(scope),
                log_records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Sends one batch; the secret is the `Authorization` header.
pub async fn send(
    http: &reqwest::Client,
    config: &OtlpDestination,
    authorization: &str,
    batch: &Batch<'_>,
) -> Result<(), DeliveryError> {
    let body = request(config, batch).encode_to_vec();
    let response = http
        .post(endpoint(config))
        .header(reqwest::header::CONTENT_TYPE, "application/x-protobuf")
        .header(reqwest::header::AUTHORIZATION, authorization)
        .body(body)
        .send()
        .await
        .map_err(DeliveryError::from_reqwest)?;
    check_status(response).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_w3c_trace_ids_become_bytes() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert_eq!(trace_id_bytes(Some(id)), hex::decode(id).unwrap());
        assert!(trace_id_bytes(Some("not-a-trace")).is_empty());
        assert!(trace_id_bytes(Some(&"0".repeat(32))).is_empty());
        assert!(trace_id_bytes(None).is_empty());
    }

    #[test]
    fn json_keeps_its_shape_and_drops_nulls() {
        let fields = json!({"a": 1, "b": null, "c": {"d": [true, 1.5]}});
        let attributes = attributes(fields.as_object().unwrap());
        assert_eq!(attributes.len(), 2);
        let Some(any_value::Value::KvlistValue(list)) = &attributes[1].value.as_ref().unwrap().value else {
            panic!("an object becomes a key-value list");
        };
        assert_eq!(list.values[0].key, "d");
    }
}
