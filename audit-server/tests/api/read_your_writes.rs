//! Read-your-writes headers: writes name the `seq` they produced in `X-Audit-Seq`, reads take
//! it back in `X-Audit-Min-Seq` (refused when malformed, naming the header). The routing to
//! replicas itself is tested against a real standby in `tests/replicas`.

use serde_json::json;

use crate::helpers::*;
use crate::on_both_backends;

fn seq_header(response: &reqwest::Response) -> Option<i64> {
    response.headers().get("x-audit-seq")?.to_str().ok()?.parse().ok()
}

async fn post_batch(server: &TestServer, tenant: &Tenant, batch: &serde_json::Value) -> reqwest::Response {
    server
        .http()
        .post(server.url("/api/v1/audit-logs/batch"))
        .bearer_auth(tenant.secret())
        .json(batch)
        .send()
        .await
        .unwrap()
}

async fn writes_name_the_seq_they_produced(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let mut sent = event("prompt", "pr_1", "create");
    sent["id"] = json!(uuid::Uuid::now_v7());
    let mut first_seq = None;
    for expected_status in [201, 200] {
        let response = server
            .http()
            .post(server.url("/api/v1/audit-logs"))
            .bearer_auth(tenant.secret())
            .json(&sent)
            .send()
            .await
            .unwrap();
        let seq = seq_header(&response);
        let body = answer(response).await;
        body.ok(expected_status);
        let stored_seq = body.body["seq"].as_i64();
        assert!(stored_seq.is_some(), "{}", body.body);
        assert_eq!(seq, stored_seq, "X-Audit-Seq of a {expected_status}");
        // The retry names the seq the first attempt produced.
        assert_eq!(*first_seq.get_or_insert(stored_seq), stored_seq);
    }

    let batch = json!({ "events": [event("prompt", "pr_2", "create"), event("prompt", "pr_3", "create"), {"bad": true}] });
    let response = post_batch(&server, &tenant, &batch).await;
    let batch_seq = seq_header(&response);
    let newest = all_records(&server, tenant.secret(), "").await;
    assert_eq!(
        batch_seq,
        newest[0]["seq"].as_i64(),
        "the batch's highest stored seq"
    );
    assert_eq!(batch_seq, first_seq.flatten().map(|seq| seq + 2));

    let only_bad = json!({ "events": [{"bad": true}] });
    let response = post_batch(&server, &tenant, &only_bad).await;
    assert_eq!(response.status(), 200);
    assert_eq!(seq_header(&response), None, "nothing stored, no seq");
}

async fn reads_take_the_seq_back_and_refuse_a_malformed_one(server: TestServer) {
    let tenant = Tenant::new(&server, "Acme").await;
    let stored = record(&server, tenant.secret(), &event("prompt", "pr_1", "create")).await;
    let id = stored["id"].as_str().unwrap();
    let get_path = format!("/api/v1/audit-logs/{id}");
    let read = |path: String, min_seq: &'static str| {
        server
            .http()
            .get(server.url(&path))
            .bearer_auth(tenant.secret())
            .header("x-audit-min-seq", min_seq)
            .send()
    };
    let answered = answer(read(get_path.clone(), "1").await.unwrap()).await;
    assert_eq!(answered.ok(200)["id"], stored["id"]);
    let page = answer(read("/api/v1/audit-logs".into(), "1").await.unwrap()).await;
    assert_eq!(page.ok(200)["data"][0]["id"], stored["id"]);

    for path in [
        get_path,
        "/api/v1/audit-logs".to_owned(),
        "/api/v1/audit-logs/export?format=jsonl".to_owned(),
        "/api/v1/audit-logs/stream".to_owned(),
    ] {
        for bad in ["abc", "-1", "1.5"] {
            let answered = answer(read(path.clone(), bad).await.unwrap()).await;
            answered.problem(400, Some("X-Audit-Min-Seq"));
        }
    }
}

on_both_backends!(
    writes_name_the_seq_they_produced,
    reads_take_the_seq_back_and_refuse_a_malformed_one,
);
