//! Log stream management through the SDK against the real server (in-process, SQLite).

mod common;

use audit_client::StatusCode;
use audit_core::{
    LogStreamUpdate, NewLogStream, Scope, StreamDestination, StreamFilter, StreamFormat, StreamState,
    WebhookDestination,
};

use common::World;

fn new_stream() -> NewLogStream {
    NewLogStream {
        name: "SIEM".to_owned(),
        // Nothing listens on the discard port: deliveries fail quietly, nothing leaves the host.
        destination: StreamDestination::Webhook(WebhookDestination {
            url: "http://127.0.0.1:9/audit".to_owned(),
            max_body_bytes: None,
        }),
        secret: Some("whsec_sdk_test_secret_42".to_owned()),
        filter: StreamFilter::default(),
        format: StreamFormat::Ocsf,
        privacy: Default::default(),
        from_beginning: false,
        start_seq: None,
    }
}

#[tokio::test]
async fn streams_are_created_listed_changed_paused_resumed_and_deleted() {
    let world = World::start().await;
    let created = world.client.create_stream(&new_stream()).await.unwrap();
    assert_eq!(created.org_id, world.org.id);
    assert_eq!(created.format, StreamFormat::Ocsf);
    assert!(created.has_secret);
    assert_eq!(created.secret_hint.as_deref(), Some("…t_42"));
    assert_eq!(created.state, StreamState::Active);

    let listed = world.client.list_streams().await.unwrap();
    assert_eq!(listed.iter().map(|s| s.id).collect::<Vec<_>>(), [created.id]);
    assert_eq!(world.client.get_stream(created.id).await.unwrap().name, "SIEM");

    let update = LogStreamUpdate {
        name: Some("SIEM (prod)".to_owned()),
        filter: Some(StreamFilter {
            project_id: Some("p_1".to_owned()),
            resource_types: vec!["prompt".to_owned()],
            actions: Vec::new(),
        }),
        ..Default::default()
    };
    let changed = world.client.update_stream(created.id, &update).await.unwrap();
    assert_eq!(changed.name, "SIEM (prod)");
    assert_eq!(changed.filter.project_id.as_deref(), Some("p_1"));

    let paused = world.client.pause_stream(created.id).await.unwrap();
    assert_eq!(paused.state, StreamState::Paused);
    let resumed = world.client.resume_stream(created.id).await.unwrap();
    assert_eq!(resumed.state, StreamState::Active);

    world.client.delete_stream(created.id).await.unwrap();
    let gone = world.client.get_stream(created.id).await.unwrap_err();
    assert_eq!(gone.status(), Some(StatusCode::NOT_FOUND));
}

#[tokio::test]
async fn stream_errors_are_typed() {
    let world = World::start().await;
    let mut bad = new_stream();
    bad.destination = StreamDestination::Webhook(WebhookDestination {
        url: "ftp://example.com".to_owned(),
        max_body_bytes: None,
    });
    let error = world.client.create_stream(&bad).await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
    let fields: Vec<&str> = error.field_errors().iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["destination.url"]);

    let reader = world.client_with(&[Scope::AuditLogsRead]).await;
    let error = reader.list_streams().await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::FORBIDDEN));
}
