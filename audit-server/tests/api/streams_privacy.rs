//! Per-stream privacy policies: the chosen fields are dropped, masked or hashed (keyed per
//! stream) in what a native and an OCSF stream send, while the trail's own records are
//! untouched (read API unchanged, chain still valid); policies are validated field by field
//! and their changes recorded like every stream change.

use audit_server::testing::TestServer;
use serde_json::{Value, json};

use crate::helpers::{Tenant, all_records, patch, post, record_batch, verify};
use crate::receiver::{Receiver, eventually};

const SECRET: &str = "whsec_receiver_test_secret_0123";

fn policy() -> Value {
    json!({"rules": [
        {"field": "ipAddress", "action": "hash"},
        {"field": "userAgent", "action": "drop"},
        {"field": "userId", "action": "mask"},
        {"field": "after.email", "action": "hash"},
        {"field": "metadata.client.token", "action": "drop"},
    ]})
}

fn private_event(n: usize) -> Value {
    json!({"type": "USER", "userId": "u_secret", "userOrgRole": "ADMIN", "resourceType": "prompt",
           "resourceId": format!("pr_{n}"), "action": "update", "ipAddress": "203.0.113.7",
           "userAgent": "Mozilla/5.0 (private)", "before": {"email": "old@example.com"},
           "after": {"email": "new@example.com", "name": "kept"},
           "metadata": {"client": {"token": "t0k3n", "region": "eu"}}})
}

async fn stream(server: &TestServer, token: &str, url: &str, format: &str) -> Value {
    let body = json!({"name": format, "destination": {"type": "webhook", "url": url}, "secret": SECRET,
                      "format": format, "privacy": policy()});
    post(server, "/api/v1/streams", token, &body)
        .await
        .ok(201)
        .clone()
}

fn is_hex_hash(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|text| text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()))
}

async fn a_policy_applies_in_every_format_and_leaves_the_trail_untouched(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let (native_receiver, ocsf_receiver) = (Receiver::start().await, Receiver::start().await);
    let native = stream(&server, acme.secret(), &native_receiver.url, "native").await;
    stream(&server, acme.secret(), &ocsf_receiver.url, "ocsf").await;
    assert_eq!(native["privacy"], policy(), "the policy is shown on the stream");
    assert!(native.get("privacyKey").is_none() && native.get("privacyKeySealed").is_none());
    record_batch(&server, acme.secret(), &[private_event(1), private_event(2)]).await;
    let prompts = |receiver: &Receiver, resource_type: &dyn Fn(&Value) -> Value| {
        let records = receiver.webhook_records();
        records
            .into_iter()
            .filter(|sent| resource_type(sent) == "prompt")
            .collect::<Vec<_>>()
    };
    let native_type = |sent: &Value| sent["resourceType"].clone();
    let ocsf_type = |sent: &Value| sent["unmapped"]["resourceType"].clone();
    eventually(30, "both streams delivered", || async {
        prompts(&native_receiver, &native_type).len() >= 2 && prompts(&ocsf_receiver, &ocsf_type).len() >= 2
    })
    .await;

    let sent = prompts(&native_receiver, &native_type);
    let (first, second) = (&sent[0], &sent[1]);
    assert!(is_hex_hash(&first["ipAddress"]) && first["ipAddress"] != "203.0.113.7");
    assert_eq!(first["ipAddress"], second["ipAddress"], "stable within a stream");
    assert!(first["userAgent"].is_null(), "dropped");
    assert_eq!(first["userId"], "***");
    assert!(is_hex_hash(&first["after"]["email"]));
    assert_ne!(first["after"]["email"], first["ipAddress"]);
    assert_eq!(first["after"]["name"], "kept", "other fields are left alone");
    assert_eq!(
        first["before"]["email"], "old@example.com",
        "only the paths named"
    );
    assert!(first["metadata"]["client"].get("token").is_none());
    assert_eq!(first["metadata"]["client"]["region"], "eu");

    let events = prompts(&ocsf_receiver, &ocsf_type);
    let event = &events[0];
    let hashed_ip = &event["src_endpoint"]["name"];
    assert!(is_hex_hash(hashed_ip) && event["src_endpoint"].get("ip").is_none());
    assert_ne!(hashed_ip, &first["ipAddress"], "each stream has its own key");
    assert!(event.get("http_request").is_none(), "the user agent is dropped");
    assert_eq!(event["actor"]["user"]["uid"], "***");
    assert!(is_hex_hash(&event["resources"][0]["data"]["after"]["email"]));
    assert!(event["unmapped"]["metadata"]["client"].get("token").is_none());
    let text = serde_json::to_string(&events).unwrap() + &serde_json::to_string(&sent).unwrap();
    for secret in ["203.0.113.7", "u_secret", "new@example.com", "t0k3n", "(private)"] {
        assert!(!text.contains(secret), "{secret} never leaves");
    }

    // The trail keeps everything, and its chain is intact.
    let stored = all_records(&server, acme.secret(), "&resourceType=prompt").await;
    assert_eq!(stored.len(), 2);
    for record in &stored {
        assert_eq!(record["ipAddress"], "203.0.113.7");
        assert_eq!(record["userId"], "u_secret");
        assert_eq!(record["after"]["email"], "new@example.com");
        assert_eq!(record["metadata"]["client"]["token"], "t0k3n");
    }
    assert_eq!(verify(&server, acme.secret()).await["valid"], true);
}

async fn policies_are_validated_and_their_changes_recorded(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let receiver = Receiver::start().await;
    for (rules, field) in [
        (
            json!([{"field": "email", "action": "hash"}]),
            "privacy.rules[0].field",
        ),
        (
            json!([{"field": "userId", "action": "mask"}, {"field": "after.", "action": "drop"}]),
            "privacy.rules[1].field",
        ),
        (
            json!([{"field": "userId", "action": "mask"}, {"field": "userId", "action": "drop"}]),
            "privacy.rules[1].field",
        ),
    ] {
        let body = json!({"name": "p", "destination": {"type": "webhook", "url": receiver.url},
                          "secret": SECRET, "privacy": {"rules": rules}});
        post(&server, "/api/v1/streams", acme.secret(), &body)
            .await
            .problem(422, Some(field));
    }
    let body = json!({"name": "p", "destination": {"type": "webhook", "url": receiver.url}, "secret": SECRET,
                      "privacy": {"rules": [{"field": "userId", "action": "scramble"}]}});
    let refused = post(&server, "/api/v1/streams", acme.secret(), &body).await;
    assert!(
        refused.status.as_u16() == 400 || refused.status.as_u16() == 422,
        "an unknown action is refused"
    );

    let created = post(
        &server,
        "/api/v1/streams",
        acme.secret(),
        &json!({"name": "p", "destination": {"type": "webhook", "url": receiver.url}, "secret": SECRET}),
    )
    .await
    .ok(201)
    .clone();
    assert_eq!(created["privacy"], json!({"rules": []}));
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/streams/{id}");
    patch(
        &server,
        &path,
        acme.secret(),
        &json!({"privacy": {"rules": [{"field": "x", "action": "drop"}]}}),
    )
    .await
    .problem(422, Some("privacy.rules[0].field"));
    let changed = patch(&server, &path, acme.secret(), &json!({"privacy": policy()})).await;
    assert_eq!(changed.ok(200)["privacy"], policy());
    let changes = all_records(&server, acme.secret(), "&resourceType=logStream").await;
    let update = changes
        .iter()
        .find(|record| record["action"] == "update")
        .expect("the change is recorded");
    assert_eq!(update["before"]["privacy"], json!({"rules": []}));
    assert_eq!(update["after"]["privacy"], policy());
}

crate::on_both_backends!(
    a_policy_applies_in_every_format_and_leaves_the_trail_untouched,
    policies_are_validated_and_their_changes_recorded,
);
