//! Signed checkpoints: one appears after N records, its note verifies under the key the public
//! key endpoint serves, and each organization sees only its own.
//!
//! The tests are registered by the `on_both_backends!` call in this file (see `helpers.rs`):
//! each named `async fn` runs as `sqlite::<name>` and `postgres::<name>`.

use std::time::{Duration, Instant};

use audit_core::Scope;
use audit_core::checkpoint::{CheckpointSigner, CheckpointVerifier};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

/// Records until the organization's head is at `head` (creating its key recorded seq 1).
async fn fill_to(server: &TestServer, tenant: &Tenant, head: i64) {
    let now = verify(server, tenant.secret()).await["headSeq"].as_i64().unwrap();
    for n in now..head {
        record(
            server,
            tenant.secret(),
            &event("prompt", &format!("pr_{n}"), "update"),
        )
        .await;
    }
}

/// Polls the latest checkpoint until its `seq` is at least `seq` (generous bound: 60 s).
pub(crate) async fn checkpoint_at_least(server: &TestServer, token: &str, seq: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = get(server, "/api/v1/checkpoints/latest", token).await;
        if answer.status == 200 && answer.body["seq"].as_i64().unwrap() >= seq {
            return answer.body;
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint at seq {seq} within 60 s: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(crate) async fn public_key(server: &TestServer) -> Value {
    let response = server
        .http()
        .get(server.url("/api/v1/checkpoints/public-key"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn every_five_records(server: &mut TestServer) {
    server
        .reconfigure(|config| {
            config.checkpoint_every_records = 5;
            config.checkpoint_interval_secs = 3600;
        })
        .await;
}

async fn a_checkpoint_follows_n_records_and_verifies_under_the_public_key(mut server: TestServer) {
    every_five_records(&mut server).await;
    let tenant = Tenant::new(&server, "Acme").await;
    assert_eq!(
        get(&server, "/api/v1/checkpoints/latest", tenant.secret())
            .await
            .status,
        404,
        "no checkpoint before N records"
    );
    fill_to(&server, &tenant, 5).await;
    let checkpoint = checkpoint_at_least(&server, tenant.secret(), 5).await;
    assert_eq!(checkpoint["seq"], 5, "{checkpoint}");
    assert_eq!(checkpoint["orgId"], tenant.org.id.to_string());

    let key = public_key(&server).await;
    assert_eq!(key["algorithm"], "Ed25519");
    let verifier = CheckpointVerifier::from_vkey(key["vkey"].as_str().unwrap()).unwrap();
    assert_eq!(verifier.public_key_base64(), key["publicKey"]);
    let stated = verifier.verify(checkpoint["note"].as_str().unwrap()).unwrap();
    assert_eq!(stated.org_id, tenant.org.id);
    assert_eq!(stated.seq, 5);
    let records = all_records(&server, tenant.secret(), "").await;
    let fifth = records.iter().find(|record| record["seq"] == 5).unwrap();
    assert_eq!(stated.head_hash, fifth["hash"].as_str().unwrap());
    assert_eq!(checkpoint["headHash"], fifth["hash"]);
    assert_eq!(verify(&server, tenant.secret()).await["headHash"], fifth["hash"]);

    // A changed note no longer verifies.
    let forged = checkpoint["note"].as_str().unwrap().replacen("\n5\n", "\n6\n", 1);
    assert!(verifier.verify(&forged).is_err());

    // The next one, and the newest at or below a seq.
    fill_to(&server, &tenant, 10).await;
    assert_eq!(checkpoint_at_least(&server, tenant.secret(), 10).await["seq"], 10);
    let older = get(&server, "/api/v1/checkpoints/latest?seq=9", tenant.secret()).await;
    assert_eq!(older.ok(200)["seq"], 5);
    let none = get(&server, "/api/v1/checkpoints/latest?seq=4", tenant.secret()).await;
    none.problem(404, None);
}

async fn the_checkpoint_endpoint_keeps_tenants_apart(mut server: TestServer) {
    every_five_records(&mut server).await;
    let acme = Tenant::new(&server, "Acme").await;
    let globex = Tenant::new(&server, "Globex").await;
    fill_to(&server, &acme, 5).await;
    fill_to(&server, &globex, 10).await;
    let acme_checkpoint = checkpoint_at_least(&server, acme.secret(), 5).await;
    let globex_checkpoint = checkpoint_at_least(&server, globex.secret(), 10).await;
    assert_eq!(acme_checkpoint["orgId"], acme.org.id.to_string());
    assert_eq!(globex_checkpoint["orgId"], globex.org.id.to_string());
    assert_ne!(acme_checkpoint["headHash"], globex_checkpoint["headHash"]);

    // An organization-level viewer token reads its own organization's checkpoint.
    let minted = post(
        &server,
        "/api/v1/viewer-tokens",
        acme.secret(),
        &json!({"userId": "u_1", "orgRole": "ADMIN", "projectId": null, "projectRole": null}),
    )
    .await;
    let token = minted.ok(201)["token"].as_str().unwrap().to_owned();
    let seen = get(&server, "/api/v1/checkpoints/latest", &token).await;
    assert_eq!(seen.ok(200)["orgId"], acme.org.id.to_string());

    let project_key = server
        .create_project_key(acme.org.id, &[Scope::AuditLogsRead], Some("p_1"))
        .await;
    get(&server, "/api/v1/checkpoints/latest", &project_key.secret)
        .await
        .problem(403, None);
    let write_only = server.create_key(acme.org.id, &[Scope::AuditLogsWrite]).await;
    get(&server, "/api/v1/checkpoints/latest", &write_only.secret)
        .await
        .problem(403, None);
    get(&server, "/api/v1/checkpoints/latest", server.admin_token())
        .await
        .problem(403, None);
    get(&server, "/api/v1/checkpoints/latest", "ak_unknown")
        .await
        .problem(401, None);

    for (query, status) in [("seq=0", 422), ("seq=abc", 400), ("other=1", 400)] {
        let path = format!("/api/v1/checkpoints/latest?{query}");
        let field = query.split('=').next().unwrap();
        get(&server, &path, acme.secret())
            .await
            .problem(status, Some(field));
    }
}

async fn the_key_persists_across_restarts_or_comes_from_a_file(mut server: TestServer) {
    let generated = public_key(&server).await;
    server.stop().await;
    server.restart().await;
    assert_eq!(public_key(&server).await, generated, "the generated key is kept");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signing.key");
    std::fs::write(&path, "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n").unwrap();
    server
        .reconfigure(|config| config.signing_key_file = Some(path.clone()))
        .await;
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8 + 1);
    let expected = CheckpointSigner::from_seed("audit-log", &seed)
        .unwrap()
        .verifier();
    let configured = public_key(&server).await;
    assert_eq!(configured["vkey"], expected.vkey());
    assert_ne!(configured["vkey"], generated["vkey"]);
}

async fn a_checkpoint_follows_the_interval_when_few_records_arrive(mut server: TestServer) {
    server
        .reconfigure(|config| {
            config.checkpoint_every_records = 1000;
            config.checkpoint_interval_secs = 1;
        })
        .await;
    let tenant = Tenant::new(&server, "Acme").await;
    fill_to(&server, &tenant, 3).await;
    let checkpoint = checkpoint_at_least(&server, tenant.secret(), 3).await;
    assert_eq!(checkpoint["seq"], 3, "{checkpoint}");
}

on_both_backends!(
    a_checkpoint_follows_n_records_and_verifies_under_the_public_key,
    a_checkpoint_follows_the_interval_when_few_records_arrive,
    the_checkpoint_endpoint_keeps_tenants_apart,
    the_key_persists_across_restarts_or_comes_from_a_file,
);
