//! The S3 destination against a real S3-compatible server (moto) on loopback: 10,000 records
//! become gzipped NDJSON objects with manifests whose `seq` ranges and hashes chain without a
//! hole or an overlap, through a server restart mid-delivery; bad settings are refused by
//! field.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`).

use std::io::Read;

use audit_server::testing::TestServer;
use serde_json::{Value, json};

use crate::helpers::{Tenant, get, post, record_many, verify};
use crate::receiver::eventually;
use crate::s3_server::{ACCESS_KEY, REGION, S3Server, SECRET_KEY};

fn s3_stream_body(endpoint: &str, bucket: &str) -> Value {
    json!({
        "name": "archive",
        "destination": {
            "type": "s3", "endpoint": endpoint, "region": REGION, "bucket": bucket,
            "prefix": "audit", "pathStyle": true
        },
        "secret": format!("{ACCESS_KEY}:{SECRET_KEY}"),
        "fromBeginning": true
    })
}

async fn delivered_seq(server: &TestServer, token: &str, id: &str) -> i64 {
    get(server, &format!("/api/v1/streams/{id}"), token).await.ok(200)["deliveredSeq"]
        .as_i64()
        .unwrap()
}

fn gunzip_lines(bytes: &[u8]) -> Vec<Value> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .expect("a gzip object");
    text.lines()
        .map(|line| serde_json::from_str(line).expect("one JSON event a line"))
        .collect()
}

async fn s3_objects_hold_every_record_once_across_a_restart(mut server: TestServer) {
    // Small batches: many objects, and a restart that lands mid-delivery.
    server.reconfigure(|config| config.streams_batch_size = 100).await;
    let s3 = S3Server::start().await;
    let bucket = format!("audit-{}", uuid::Uuid::new_v4().simple());
    s3.create_bucket(&bucket).await;
    let acme = Tenant::new(&server, "Acme").await;
    record_many(&server, acme.secret(), 10_000).await;
    let stream = post(
        &server,
        "/api/v1/streams",
        acme.secret(),
        &s3_stream_body(&s3.url, &bucket),
    )
    .await
    .ok(201)
    .clone();
    let id = stream["id"].as_str().unwrap().to_owned();
    // Creating the stream is itself on the trail, after the 10,000.
    let verified = verify(&server, acme.secret()).await;
    let head = verified["headSeq"].as_i64().unwrap();
    eventually(60, "a first batch delivered", || async {
        delivered_seq(&server, acme.secret(), &id).await > 0
    })
    .await;
    server.stop().await;
    let before_restart = s3.keys(&bucket).await.len();
    let batches = usize::try_from(head).unwrap().div_ceil(100);
    assert!(
        before_restart < 2 * batches,
        "stopped mid-delivery ({before_restart} objects of {})",
        2 * batches
    );
    server.restart().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    loop {
        let now = get(&server, &format!("/api/v1/streams/{id}"), acme.secret())
            .await
            .ok(200)
            .clone();
        if now["deliveredSeq"] == head {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not every record delivered: {now}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let keys = s3.keys(&bucket).await;
    let manifests: Vec<&String> = keys
        .iter()
        .filter(|key| key.ends_with(".manifest.json"))
        .collect();
    let objects: Vec<&String> = keys.iter().filter(|key| key.ends_with(".ndjson.gz")).collect();
    assert_eq!(manifests.len(), objects.len(), "one manifest per object");
    assert_eq!(
        keys.len(),
        manifests.len() * 2,
        "nothing but objects and manifests"
    );

    let org = acme.org.id.to_string();
    let mut next_seq = 1;
    // The chain starts from the all-zero hash.
    let mut previous_last_hash = "0".repeat(64);
    let mut records = 0;
    for manifest_key in manifests {
        let manifest: Value = serde_json::from_slice(&s3.get(&bucket, manifest_key).await).unwrap();
        let (first, last) = (
            manifest["firstSeq"].as_i64().unwrap(),
            manifest["lastSeq"].as_i64().unwrap(),
        );
        assert_eq!(
            first, next_seq,
            "{manifest_key}: no hole and no overlap before it"
        );
        assert_eq!(
            manifest["firstPrevHash"],
            previous_last_hash.as_str(),
            "{manifest_key} chains"
        );
        let object_key = manifest["object"].as_str().unwrap();
        assert_eq!(object_key, manifest_key.replace(".manifest.json", ".ndjson.gz"));
        let events = gunzip_lines(&s3.get(&bucket, object_key).await);
        assert_eq!(manifest["count"], events.len());
        let seqs: Vec<i64> = events
            .iter()
            .map(|event| event["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(
            seqs,
            (first..=last).collect::<Vec<_>>(),
            "{object_key}: every seq in order"
        );
        assert_eq!(manifest["lastHash"], events.last().unwrap()["hash"]);
        assert_eq!(manifest["envelope"]["streamId"], id.as_str());

        // `<prefix>/<orgId>/YYYY/MM/DD/HH/<firstSeq>-<lastSeq>`, the hour of the first record.
        let created: chrono::DateTime<chrono::Utc> =
            events[0]["createdAt"].as_str().unwrap().parse().unwrap();
        let expected_key = format!(
            "audit/{org}/{}/{first:020}-{last:020}.ndjson.gz",
            created.format("%Y/%m/%d/%H")
        );
        assert_eq!(object_key, expected_key);

        previous_last_hash = manifest["lastHash"].as_str().unwrap().to_owned();
        next_seq = last + 1;
        records += events.len();
    }
    assert_eq!(next_seq, head + 1, "the objects reach the head");
    assert_eq!(records, usize::try_from(head).unwrap());
    assert!(records >= 10_000);
    assert_eq!(
        verified["headHash"],
        previous_last_hash.as_str(),
        "the last object ends at the head"
    );
}

async fn s3_settings_are_checked_by_field(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let good = s3_stream_body("http://127.0.0.1:9", "audit-bucket");
    let cases = [
        ("/destination/bucket", json!("Bad_Bucket"), "destination.bucket"),
        ("/destination/bucket", json!("ab"), "destination.bucket"),
        ("/destination/region", json!("US EAST"), "destination.region"),
        ("/destination/prefix", json!("../up"), "destination.prefix"),
        ("/destination/prefix", json!("/abs"), "destination.prefix"),
        (
            "/destination/endpoint",
            json!("ftp://x.example"),
            "destination.endpoint",
        ),
        ("/secret", json!("no-colon"), "secret"),
    ];
    for (pointer, value, field) in cases {
        let mut body = good.clone();
        *body.pointer_mut(pointer).unwrap() = value;
        post(&server, "/api/v1/streams", acme.secret(), &body)
            .await
            .problem(422, Some(field));
    }
    let mut body = good.clone();
    body.as_object_mut().unwrap().remove("secret");
    post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .problem(422, Some("secret"));
    let created = post(&server, "/api/v1/streams", acme.secret(), &good)
        .await
        .ok(201)
        .clone();
    assert_eq!(created["destination"]["type"], "s3");
    assert_eq!(created["destination"]["pathStyle"], true);
    assert!(created.get("secret").is_none());
}

crate::on_both_backends!(
    s3_objects_hold_every_record_once_across_a_restart,
    s3_settings_are_checked_by_field,
);
