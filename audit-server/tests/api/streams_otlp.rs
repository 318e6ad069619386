//! The OpenTelemetry destination: a receiver on loopback decodes every OTLP/HTTP request with
//! the protocol's own message definitions (`opentelemetry-proto`) and finds one log record per
//! audit record, with its event name, times, attributes and W3C trace id.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`).

use std::collections::BTreeMap;

use audit_server::testing::TestServer;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;
use serde_json::{Value, json};

use crate::helpers::{Tenant, event, post, record_batch, verify};
use crate::receiver::{Receiver, eventually};

const AUTHORIZATION: &str = "Bearer otlp-collector-token";

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|pair| pair.key == key)
        .and_then(|pair| pair.value.as_ref())
        .and_then(|value: &AnyValue| value.value.as_ref())
}

fn string(value: Option<&any_value::Value>) -> Option<&str> {
    match value {
        Some(any_value::Value::StringValue(text)) => Some(text),
        _ => None,
    }
}

/// Every log record received, decoded, with its request's resource `service.name`, by `seq`.
fn decoded(receiver: &Receiver) -> BTreeMap<i64, (LogRecord, String)> {
    let mut by_seq = BTreeMap::new();
    for request in receiver.captured() {
        assert_eq!(request.path, "/v1/logs");
        assert_eq!(request.headers["content-type"], "application/x-protobuf");
        assert_eq!(request.headers["authorization"], AUTHORIZATION);
        let export = ExportLogsServiceRequest::decode(request.body.as_ref()).expect("an OTLP export request");
        for resource_logs in export.resource_logs {
            let resource = resource_logs.resource.expect("a resource");
            let service = string(attribute(&resource.attributes, "service.name"))
                .expect("service.name")
                .to_owned();
            for scope_logs in resource_logs.scope_logs {
                for log in scope_logs.log_records {
                    let Some(any_value::Value::IntValue(seq)) = attribute(&log.attributes, "seq").cloned()
                    else {
                        panic!("every log record carries its seq");
                    };
                    by_seq.entry(seq).or_insert((log, service.clone()));
                }
            }
        }
    }
    by_seq
}

async fn otlp_receiver_decodes_every_record_with_its_trace_id(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let receiver = Receiver::start().await;
    let body = json!({
        "name": "otel", "destination": {"type": "otlp", "url": receiver.url, "serviceName": "acme-audit"},
        "secret": AUTHORIZATION
    });
    let stream = post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .ok(201)
        .clone();
    let start = stream["deliveredSeq"].as_i64().unwrap();
    let mut traced = BTreeMap::new();
    for chunk in 0..3 {
        let events: Vec<Value> = (0..500)
            .map(|i| {
                let mut event = event("dataset", &format!("ds_{chunk}_{i}"), "update");
                if i % 2 == 0 {
                    event["traceId"] = json!(format!("{:032x}", chunk * 1000 + i + 1));
                }
                event
            })
            .collect();
        record_batch(&server, acme.secret(), &events).await;
    }
    let head = verify(&server, acme.secret()).await["headSeq"].as_i64().unwrap();

    eventually(60, "every record decoded", || async {
        decoded(&receiver).range(start + 1..).count() as i64 >= head - start
    })
    .await;
    let logs = decoded(&receiver);
    let seqs: Vec<i64> = logs.range(start + 1..).map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        (start + 1..=head).collect::<Vec<_>>(),
        "every record, none missing"
    );
    for (seq, (log, service)) in logs.range(start + 1..) {
        assert_eq!(service, "acme-audit");
        let resource_type = string(attribute(&log.attributes, "resourceType")).unwrap();
        let action = string(attribute(&log.attributes, "action")).unwrap();
        assert_eq!(log.event_name, format!("{resource_type}.{action}"));
        let occurred: chrono::DateTime<chrono::Utc> = string(attribute(&log.attributes, "occurredAt"))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(log.time_unix_nano, occurred.timestamp_nanos_opt().unwrap() as u64);
        let created: chrono::DateTime<chrono::Utc> = string(attribute(&log.attributes, "createdAt"))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            log.observed_time_unix_nano,
            created.timestamp_nanos_opt().unwrap() as u64
        );
        let body: Value = match log.body.as_ref().and_then(|body| body.value.as_ref()) {
            Some(any_value::Value::StringValue(text)) => serde_json::from_str(text).unwrap(),
            other => panic!("the body is the event as JSON text, not {other:?}"),
        };
        assert_eq!(body["seq"], *seq);
        match string(attribute(&log.attributes, "traceId")) {
            Some(trace_id) => {
                assert_eq!(
                    hex::encode(&log.trace_id),
                    trace_id,
                    "seq {seq}: trace id preserved"
                );
                traced.insert(*seq, trace_id.to_owned());
            }
            None => assert!(log.trace_id.is_empty(), "seq {seq}: no trace id invented"),
        }
    }
    assert_eq!(traced.len(), 750, "every traced record kept its trace id");
}

async fn otlp_settings_are_checked_by_field(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let cases = [
        (
            json!({"type": "otlp", "url": "grpc://collector:4317"}),
            "destination.url",
        ),
        (
            json!({"type": "otlp", "url": "http://127.0.0.1:4318", "serviceName": ""}),
            "destination.serviceName",
        ),
        (
            json!({"type": "otlp", "url": "http://127.0.0.1:4318", "x": 1}),
            "destination",
        ),
    ];
    for (destination, field) in cases {
        let body = json!({"name": "otel", "destination": destination, "secret": AUTHORIZATION});
        let answer = post(&server, "/api/v1/streams", acme.secret(), &body).await;
        assert!(
            answer.body.to_string().contains(field),
            "{field} named: {}",
            answer.body
        );
        assert!(
            matches!(answer.status.as_u16(), 400 | 422),
            "refused: {}",
            answer.status
        );
    }
    let body = json!({"name": "otel", "destination": {"type": "otlp", "url": "http://127.0.0.1:4318"}});
    post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .problem(422, Some("secret"));
}

crate::on_both_backends!(
    otlp_receiver_decodes_every_record_with_its_trace_id,
    otlp_settings_are_checked_by_field,
);
