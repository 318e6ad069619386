//! A backend service recording audit events through the SDK.
//!
//! A dataset is created, updated and deleted, by a person (a `USER` actor) and by a machine
//! credential of this service (an `API_KEY` actor), with its state before and after each
//! change. The first event is recorded synchronously; the rest go through the background
//! [`Dispatcher`], as a request handler would send them. The dataset trail is then read back.
//!
//! ```text
//! AUDIT_URL=http://127.0.0.1:8080 AUDIT_API_KEY=ak_... cargo run -p sdk-service
//! ```
//!
//! The key needs the `auditLogs:write` and `auditLogs:read` scopes.

use std::time::Duration;

use audit_client::{AuditClient, Dispatcher, DispatcherConfig, ListRequest};
use audit_core::{AuditEvent, Role};
use futures::TryStreamExt;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("warn").init();
    let url = std::env::var("AUDIT_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned());
    let key =
        std::env::var("AUDIT_API_KEY").map_err(|_| "set AUDIT_API_KEY to a key of your organization")?;
    let client = AuditClient::builder().base_url(url).api_key(key).build()?;

    let dataset_id = format!("ds_{}", std::process::id());
    let request_id = format!("req-{}", std::process::id());

    // A person creates the dataset in the web app: recorded synchronously, so the handler
    // knows the change is on the trail before answering.
    let mut created = AuditEvent::by_user("u_alice", "dataset", &dataset_id, "create");
    created.user_org_role = Some(Role::Admin);
    created.project_id = Some("p_demo".into());
    created.user_project_role = Some(Role::Owner);
    created.after = Some(json!({ "name": "eval-questions", "description": null, "items": 0 }));
    created.ip_address = Some("203.0.113.7".into());
    created.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64)".into());
    created.request_id = Some(request_id.clone());
    let record = client.record(created).await?;
    println!(
        "recorded #{} {} {} (hash {}…)",
        record.seq,
        record.action,
        record.resource_id,
        &record.hash[..12]
    );

    // Later changes go through the background dispatcher: `record` returns at once.
    let dispatcher = Dispatcher::spawn(client.clone(), DispatcherConfig::default());

    let mut renamed = AuditEvent::by_user("u_alice", "dataset", &dataset_id, "update");
    renamed.user_org_role = Some(Role::Admin);
    renamed.project_id = Some("p_demo".into());
    renamed.before = Some(json!({ "name": "eval-questions", "description": null }));
    renamed.after = Some(json!({ "name": "eval-questions-v2", "description": "curated" }));
    dispatcher.record(renamed);

    // A nightly import job of this service adds items with its own API key.
    let mut imported = AuditEvent::by_api_key("pk_importer", "dataset", &dataset_id, "update");
    imported.project_id = Some("p_demo".into());
    imported.before = Some(json!({ "items": 0 }));
    imported.after = Some(json!({ "items": 250 }));
    imported.metadata = Some(
        json!({ "job": "nightly-import", "source": "s3://bucket/eval.jsonl" })
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    dispatcher.record(imported);

    // The same key deletes the dataset when the project is archived.
    let mut deleted = AuditEvent::by_api_key("pk_importer", "dataset", &dataset_id, "delete");
    deleted.project_id = Some("p_demo".into());
    deleted.before = Some(json!({ "name": "eval-questions-v2", "items": 250 }));
    dispatcher.record(deleted);

    dispatcher.shutdown(Duration::from_secs(10)).await?;
    let stats = dispatcher.stats();
    println!(
        "dispatcher: {} sent, {} retried, {} rejected",
        stats.sent, stats.retried, stats.rejected
    );

    // Read this dataset's trail back, newest first.
    println!("\ntrail of {dataset_id}:");
    let request = ListRequest::new()
        .resource_type("dataset")
        .resource_id(&dataset_id)
        .page_size(100);
    let mut records = client.list_all(request);
    while let Some(record) = records.try_next().await? {
        let actor = record
            .user_id
            .as_deref()
            .or(record.api_key_id.as_deref())
            .unwrap_or("-");
        println!(
            "#{:<4} {}  {:<8} {:<12} {:<7} before={} after={}",
            record.seq,
            record.created_at.format("%Y-%m-%d %H:%M:%S%.3f"),
            record.actor_type.as_str(),
            actor,
            record.action,
            record
                .before
                .map(|value| value.to_string())
                .unwrap_or_else(|| "-".into()),
            record
                .after
                .map(|value| value.to_string())
                .unwrap_or_else(|| "-".into()),
        );
    }

    let report = client.verify(Default::default()).await?;
    println!(
        "\nchain valid: {} ({} records checked, head #{})",
        report.valid, report.checked, report.head_seq
    );
    Ok(())
}
