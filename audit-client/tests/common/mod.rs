//! Shared set-up: a real server in-process on a fresh SQLite database, an organization and keys.

#![allow(dead_code)]

use std::time::Duration;

use audit_client::{AuditClient, RetryPolicy};
use audit_core::{AuditEvent, CreatedApiKey, Organization, Scope};
use audit_server::testing::{Backend, TestServer};

/// One test's world: its own server and database, one organization, clients for its key and
/// for the operator.
pub struct World {
    pub server: TestServer,
    pub org: Organization,
    pub key: CreatedApiKey,
    /// Holds write, read and manage scopes.
    pub client: AuditClient,
    /// Holds the admin token.
    pub admin: AuditClient,
}

impl World {
    /// A world on SQLite.
    pub async fn start() -> Self {
        World::on(TestServer::start_sqlite().await).await
    }

    /// A world on `backend`, or `None` (with a skip line) when PostgreSQL is not configured.
    pub async fn start_on(backend: Backend) -> Option<Self> {
        Some(World::on(TestServer::start(backend).await?).await)
    }

    async fn on(server: TestServer) -> Self {
        let org = server.create_org("Acme").await;
        let key = server.create_key(org.id, &Scope::ALL).await;
        let client = client_for(&server, &key.secret);
        let admin = client_for(&server, server.admin_token());
        World {
            server,
            org,
            key,
            client,
            admin,
        }
    }

    /// A client with a key of this organization holding only `scopes`.
    pub async fn client_with(&self, scopes: &[Scope]) -> AuditClient {
        let key = self.server.create_key(self.org.id, scopes).await;
        client_for(&self.server, &key.secret)
    }
}

pub fn client_for(server: &TestServer, secret: &str) -> AuditClient {
    AuditClient::builder()
        .base_url(server.base_url())
        .api_key(secret)
        .request_timeout(Duration::from_secs(30))
        .retry_policy(
            RetryPolicy::default().with_backoff(Duration::from_millis(20), Duration::from_millis(200)),
        )
        .build()
        .expect("client")
}

/// A valid `dataset` event number `n` by a user or, for odd `n`, by an API key.
pub fn dataset_event(n: usize) -> AuditEvent {
    let id = format!("ds_{n}");
    let mut event = if n.is_multiple_of(2) {
        AuditEvent::by_user(format!("u_{}", n % 7), "dataset", id, "update")
    } else {
        AuditEvent::by_api_key("pk_importer", "dataset", id, "update")
    };
    event.project_id = Some("p_1".into());
    event.before = Some(serde_json::json!({ "items": n }));
    event.after = Some(serde_json::json!({ "items": n + 1 }));
    event
}

/// [`dataset_event`] with an `after` nested deeper than the server's JSON reader goes (128
/// levels): a batch holding it is unreadable as a whole.
pub fn unreadable_event(n: usize) -> AuditEvent {
    let mut deep = serde_json::json!("bottom");
    for _ in 0..200 {
        deep = serde_json::json!([deep]);
    }
    let mut event = dataset_event(n);
    event.after = Some(deep);
    event
}
