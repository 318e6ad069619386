//! Log stream management through the SDK against the real server (in-process, SQLite).

mod common;

use audit_client::StatusCode;
use audit_core::{
    AuditEvent, LogStreamUpdate, NewLogStream, Scope, StreamDestination, StreamFilter, StreamFormat,
    StreamState, WebhookDestination,
};

use common::World;

fn new_stream() -> NewLogStream {
    NewLogStream {
        name: "SIEM".to_owned(),
        // Nothing listens on the discard port: deliveries fail quietly, nothing leaves the host.
        destination: StreamDestination::Webhook(WebhookDestination {
            url: "http://127.0.0.1:9/audit".to_owned(),
            cloud_events: false,
            max_body_bytes: None,
        }),
        secret: Some("whsec_sdk_test_secret_42".to_owned()),
        filter: StreamFilter::default(),
        format: StreamFormat::Ocsf,
        privacy: Default::default(),
        max_attempts: None,
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
        cloud_events: false,
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

/// A webhook receiver on loopback that refuses every batch for good (400).
async fn refusing_receiver() -> String {
    let app = axum::Router::new().fallback(|| async { (axum::http::StatusCode::BAD_REQUEST, "no") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn dead_letters_are_listed_retried_and_discarded() {
    let world = World::start().await;
    let mut refused = new_stream();
    refused.destination = StreamDestination::Webhook(WebhookDestination {
        url: refusing_receiver().await,
        cloud_events: false,
        max_body_bytes: None,
    });
    refused.format = StreamFormat::Native;
    refused.max_attempts = Some(1);
    let stream = world.client.create_stream(&refused).await.unwrap();
    assert_eq!(stream.max_attempts, 1);
    let record = world
        .client
        .record(AuditEvent::by_user("u_1", "prompt", "pr_1", "create"))
        .await
        .unwrap();

    // The stream's own create event and the record are both refused, and both set aside.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let page = loop {
        let page = world
            .client
            .list_stream_dead_letters(stream.id, Some(1), None)
            .await
            .unwrap();
        if page.next_cursor.is_some() || std::time::Instant::now() > deadline {
            break page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(page.data.len(), 1, "one per page");
    let cursor = page.next_cursor.as_deref();
    let second = world
        .client
        .list_stream_dead_letters(stream.id, Some(1), cursor)
        .await
        .unwrap();
    assert_eq!(second.next_cursor, None);
    let letter = &second.data[0];
    assert_eq!((letter.seq, letter.record_id), (record.seq, record.id));
    assert!(letter.last_error.starts_with("HTTP 400"), "{}", letter.last_error);
    assert!(page.data[0].seq < letter.seq);

    let error = world
        .client
        .retry_stream_dead_letter(stream.id, letter.seq)
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::BAD_GATEWAY));
    world
        .client
        .discard_stream_dead_letter(stream.id, letter.seq)
        .await
        .unwrap();
    let page = world
        .client
        .list_stream_dead_letters(stream.id, None, None)
        .await
        .unwrap();
    // (The retry and the discard are events the stream delivers too: they may be set aside.)
    assert!(page.data.iter().all(|listed| listed.seq != letter.seq));
    let gone = world
        .client
        .discard_stream_dead_letter(stream.id, letter.seq)
        .await
        .unwrap_err();
    assert_eq!(gone.status(), Some(StatusCode::NOT_FOUND));
}
