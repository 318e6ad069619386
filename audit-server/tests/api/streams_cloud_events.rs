//! Webhooks with `cloudEvents: true`: each batch is CloudEvents 1.0 in structured batch mode,
//! parsed here by the CloudEvents project's own Rust SDK (`cloudevents-sdk`), still signed over
//! the body sent, with the batch envelope in extension attributes on every event.

use cloudevents::Event;
use cloudevents::event::{AttributesReader, Data, ExtensionValue};
use serde_json::{Value, json};

use crate::helpers::{Tenant, all_records, post, record_many, verify};
use crate::receiver::{Receiver, eventually};
use crate::streams_delivery::{SECRET, signature_is_valid};
use audit_server::testing::TestServer;

/// A string extension attribute of `event`.
fn text(event: &Event, name: &str) -> String {
    match event.extension(name) {
        Some(ExtensionValue::String(value)) => value.clone(),
        other => panic!("extension {name}: {other:?}"),
    }
}

async fn webhook_sends_signed_cloud_events_batches(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let receiver = Receiver::start().await;
    let body = json!({
        "name": "cloudevents",
        "destination": {"type": "webhook", "url": format!("{}/ce", receiver.url), "cloudEvents": true},
        "secret": SECRET,
        "privacy": {"rules": [{"field": "userId", "action": "mask"}]},
    });
    let stream = post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .ok(201)
        .clone();
    assert_eq!(stream["destination"]["cloudEvents"], true);
    let start = stream["deliveredSeq"].as_i64().unwrap();
    record_many(&server, acme.secret(), 1200).await;
    let head = verify(&server, acme.secret()).await["headSeq"].as_i64().unwrap();
    let stored: Vec<Value> = all_records(&server, acme.secret(), "")
        .await
        .into_iter()
        .rev()
        .filter(|record| record["seq"].as_i64().unwrap() > start)
        .collect();
    assert_eq!(stored.len() as i64, head - start);

    let batches = || -> Vec<Vec<Event>> {
        receiver
            .captured()
            .iter()
            .map(|request| serde_json::from_slice(&request.body).expect("a CloudEvents batch"))
            .collect()
    };
    eventually(60, "every record as a CloudEvent", || async {
        batches().iter().map(Vec::len).sum::<usize>() >= stored.len()
    })
    .await;

    let mut previous_last_hash: Option<String> = None;
    let mut events = Vec::new();
    for (request, batch) in receiver.captured().iter().zip(batches()) {
        assert_eq!(
            request.headers["content-type"],
            "application/cloudevents-batch+json"
        );
        let header = request.headers["x-audit-signature"].to_str().unwrap();
        assert!(
            signature_is_valid(header, &request.body),
            "signed over the body sent"
        );
        assert!(!signature_is_valid(header, b"[]"), "a changed body fails");
        // The envelope on every event of the batch, chaining each batch to the one before.
        for event in &batch {
            assert_eq!(text(event, "auditstreamid"), stream["id"].as_str().unwrap());
            assert_eq!(
                event.extension("auditbatchcount"),
                Some(&ExtensionValue::Integer(batch.len() as i64))
            );
            assert_eq!(text(event, "auditbatchfirstseq"), text(&batch[0], "auditseq"));
            assert_eq!(
                text(event, "auditbatchlastseq"),
                text(batch.last().unwrap(), "auditseq")
            );
            assert_eq!(
                text(event, "auditbatchlasthash"),
                text(batch.last().unwrap(), "audithash")
            );
            match &previous_last_hash {
                Some(hash) => assert_eq!(&text(event, "auditbatchprevhash"), hash),
                None => assert!(event.extension("auditbatchprevhash").is_none()),
            }
        }
        previous_last_hash = Some(text(batch.last().unwrap(), "audithash"));
        events.extend(batch);
    }

    assert_eq!(
        events.len(),
        stored.len(),
        "each record once (no redelivery here)"
    );
    let source = format!("/organizations/{}", acme.org.id);
    for (event, record) in events.iter().zip(&stored) {
        assert_eq!(event.id(), record["id"].as_str().unwrap());
        assert_eq!(event.specversion().as_str(), "1.0");
        assert_eq!(
            event.ty(),
            format!(
                "{}.{}",
                record["resourceType"].as_str().unwrap(),
                record["action"].as_str().unwrap()
            )
        );
        assert_eq!(event.subject(), record["resourceId"].as_str());
        assert_eq!(event.source(), &source);
        assert_eq!(event.datacontenttype(), Some("application/json"));
        let occurred: chrono::DateTime<chrono::Utc> = record["occurredAt"].as_str().unwrap().parse().unwrap();
        assert_eq!(event.time(), Some(&occurred));
        assert_eq!(text(event, "auditseq"), record["seq"].to_string());
        assert_eq!(text(event, "audithash"), record["hash"].as_str().unwrap());
        let Some(Data::Json(data)) = event.data() else {
            panic!("JSON data: {:?}", event.data());
        };
        assert_eq!(data["id"], record["id"], "data is the native event");
        assert_eq!(data["hash"], record["hash"]);
        if record["userId"].is_string() {
            assert_eq!(data["userId"], "***", "after the stream's privacy policy");
        }
    }
}

crate::on_both_backends!(webhook_sends_signed_cloud_events_batches);
