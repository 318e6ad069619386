//! A tower layer that records a host app's create, update and delete requests as audit events.
//!
//! Put [`AuditLayer`] on an axum `Router` (or any `tower::Service<http::Request<B>>`) and every
//! successful POST, PUT, PATCH and DELETE becomes an [`AuditEvent`](audit_core::AuditEvent),
//! serialized once ([`EncodedEvent`], with the states kept as the JSON text they came as) and
//! handed without waiting to an [`audit_client::Dispatcher`] that ships it in the background:
//!
//! - **what**: the resource type, id and project come from the route template
//!   (`/api/projects/{projectId}/prompts/{promptId}` is a `prompt` in project `{projectId}`;
//!   for a create, the id is the response body's `id`), the action from the method (POST
//!   `create`, PUT/PATCH `update`, DELETE `delete`); [`Rule`]s override this, add custom
//!   actions, or skip routes;
//! - **who**: an [`Actor`] from the host's authentication ([`ExtractActor`]);
//! - **before and after**: a [`LoadBefore`] hook per resource type, the response's JSON body
//!   (copied up to a limit while it streams through), or exact values the handler attaches
//!   ([`AuditBefore`], [`AuditAfter`], [`AuditMetadata`]);
//! - **where**: client IP (forwarding headers only from trusted proxies), user agent,
//!   request id and W3C trace id;
//! - secrets (`password`, `token`, `apiKey`, ... and any key the host adds) are masked by the
//!   [`Redactor`] before anything leaves the process.
//!
//! Auditing can never fail a host request: the service's error type is the inner one, the
//! body reaches the client byte for byte, a panic in one of the host's hooks (actor
//! extractor, loader, sink) is contained and counted ([`AuditStats::failed`]), and when the
//! audit service is down events wait in the dispatcher's bounded queue.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use audit_client::{AuditClient, Dispatcher, DispatcherConfig};
//! use audit_tower::{Actor, AuditLayer, Rule};
//! use axum::routing::{patch, post};
//! use axum::{Json, Router};
//! use http::Method;
//! use serde_json::{Value, json};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = AuditClient::new("http://127.0.0.1:8080", std::env::var("AUDIT_API_KEY")?)?;
//! let dispatcher = Dispatcher::spawn(client, DispatcherConfig::default());
//!
//! let audit = AuditLayer::builder(dispatcher.clone())
//!     .with_rule(
//!         Rule::new(Method::POST, "/api/projects/{projectId}/prompts/{promptId}/labels")
//!             .resource_type("prompt")
//!             .action("setLabel"),
//!     )
//!     .with_before_loader("prompt", |prompt: audit_tower::ResourceRef| async move {
//!         Some(json!({ "id": prompt.resource_id, "prompt": "as stored before" }))
//!     })
//!     .build();
//!
//! let app: Router = Router::new()
//!     .route("/api/projects/{projectId}/prompts", post(|| async { Json(json!({ "id": "pr_1" })) }))
//!     .route(
//!         "/api/projects/{projectId}/prompts/{promptId}",
//!         patch(|Json(body): Json<Value>| async move { Json(body) }),
//!     )
//!     .layer(audit)
//!     // Authentication outside the audit layer, so the actor is known inside it.
//!     .layer(axum::middleware::map_request(|mut request: axum::extract::Request| async move {
//!         request.extensions_mut().insert(Actor::user("u_1"));
//!         request
//!     }));
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
//! dispatcher.shutdown(Duration::from_secs(5)).await?;
//! # Ok(()) }
//! ```

mod actor;
mod body;
pub mod capture;
mod contain;
mod declare;
mod drop_log;
mod future;
mod layer;
mod prometheus;
mod redact;
pub mod rules;
mod sampling;
mod service;
mod shared;
mod sink;
mod stats;

pub use actor::{Actor, DefaultActorExtractor, ExtractActor, MissingActor};
pub use audit_core::{EncodedEvent, RawJson};
pub use body::AuditBody;
pub use capture::{
    AuditAfter, AuditBefore, AuditMetadata, AuditSkip, AuditState, BoxFuture, LoadBefore, ResourceRef,
};
pub use drop_log::DROP_LOG_INTERVAL_SECS;
pub use future::ResponseFuture;
pub use layer::{AuditLayer, AuditLayerBuilder, DEFAULT_BODY_LIMIT};
pub use redact::{REDACTED, Redactor};
pub use rules::{IdSource, Rule};
pub use sampling::{MAX_TRACKED_ACTORS, ReadSampling};
pub use service::Audit;
pub use sink::AuditSink;
pub use stats::AuditStats;
