//! A real audit server in-process (SQLite), an organization, a key and a dispatcher.

#![allow(dead_code)]

use std::time::Duration;

use audit_client::{AuditClient, Dispatcher, DispatcherConfig, ListRequest, RetryPolicy};
use audit_core::{AuditRecord, Scope};
use audit_server::testing::{Backend, TestServer};
use futures::TryStreamExt;
use serde_json::Value;

pub struct World {
    pub server: TestServer,
    pub client: AuditClient,
    pub dispatcher: Dispatcher,
    /// The key's secret, for calls made without the SDK.
    pub secret: String,
    /// The organization.
    pub org_id: uuid::Uuid,
}

impl World {
    pub async fn start() -> Self {
        World::on(TestServer::start_sqlite().await).await
    }

    /// A world on `backend`; `None` (with the server's skip line) when PostgreSQL is not set up.
    pub async fn start_on(backend: Backend) -> Option<Self> {
        Some(World::on(TestServer::start(backend).await?).await)
    }

    async fn on(server: TestServer) -> Self {
        let org = server.create_org("Acme").await;
        let key = server.create_key(org.id, &Scope::ALL).await;
        let backoff =
            RetryPolicy::default().with_backoff(Duration::from_millis(20), Duration::from_millis(250));
        let client = AuditClient::builder()
            .base_url(server.base_url())
            .api_key(key.secret.as_str())
            .request_timeout(Duration::from_secs(10))
            .retry_policy(backoff.clone())
            .build()
            .expect("client");
        let config = DispatcherConfig::default()
            .with_batch_interval(Duration::from_millis(20))
            .with_backoff(backoff);
        let dispatcher = Dispatcher::spawn(client.clone(), config);
        World {
            secret: key.secret.as_str().to_owned(),
            org_id: org.id,
            server,
            client,
            dispatcher,
        }
    }

    /// Every stored record, oldest first, once everything queued is delivered.
    pub async fn records(&self) -> Vec<AuditRecord> {
        tokio::time::timeout(Duration::from_secs(60), self.dispatcher.flush())
            .await
            .expect("flush in time")
            .expect("flush");
        let mut records: Vec<AuditRecord> = self
            .client
            .list_all(ListRequest::new().page_size(1000))
            .try_collect()
            .await
            .expect("list");
        records.reverse();
        // The server records its own key management; keep what the layer sent.
        records.retain(|record| record.resource_type != "apiKey");
        let stats = self.dispatcher.stats();
        assert_eq!((stats.rejected, stats.dropped), (0, 0), "{stats:?}");
        records
    }
}

/// A record without what the server adds and without empty fields, for exact comparisons.
pub fn view(record: &AuditRecord) -> Value {
    let mut value = serde_json::to_value(record).expect("record as JSON");
    let map = value.as_object_mut().expect("an object");
    for key in [
        "id",
        "orgId",
        "seq",
        "createdAt",
        "occurredAt",
        "recordedBy",
        "prevHash",
        "hash",
    ] {
        map.remove(key);
    }
    map.retain(|_, v| !v.is_null());
    value
}
