//! A small Langfuse-like app (prompts with labels, datasets) kept in memory, whose create,
//! update and delete requests are recorded by [`audit_tower::AuditLayer`].
//!
//! Authentication is a stand-in: the caller is named by request headers, which a real app
//! would take from a session or an API key.
//!
//! | header | meaning |
//! | --- | --- |
//! | `x-user-id` | the acting user (required, unless `x-api-key-id` is given) |
//! | `x-api-key-id` | the acting API key of the app, for machine callers |
//! | `x-org-role` | the caller's organization role: `OWNER`, `ADMIN`, `MEMBER`, `VIEWER`, `NONE` |
//! | `x-project-role` | the caller's role in the project, same values |
//!
//! ```no_run
//! # async fn run(dispatcher: audit_client::Dispatcher) {
//! let app = host_app::app(host_app::Store::default(), dispatcher);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await.unwrap();
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
//!     .await
//!     .unwrap();
//! # }
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use audit_core::Role;
use audit_tower::{Actor, AuditLayer, AuditSink, RawJson, ResourceRef, Rule};
use axum::extract::{Path, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

mod by_hand;

pub use by_hand::app_audited_by_hand;

/// A prompt of a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prompt {
    /// `pr_` and a UUID.
    pub id: String,
    /// The project it belongs to.
    pub project_id: String,
    /// Its name.
    pub name: String,
    /// The prompt text.
    pub prompt: String,
    /// Labels such as `production`.
    pub labels: Vec<String>,
    /// 1, then +1 on every change.
    pub version: u32,
}

impl Prompt {
    /// Applies a `PATCH`: the fields given, and one version more.
    pub(crate) fn apply(&mut self, change: PromptChange) {
        if let Some(name) = change.name {
            self.name = name;
        }
        if let Some(text) = change.prompt {
            self.prompt = text;
        }
        self.version += 1;
    }
}

/// A dataset of a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dataset {
    /// `ds_` and a UUID.
    pub id: String,
    /// The project it belongs to.
    pub project_id: String,
    /// Its name.
    pub name: String,
    /// A description.
    pub description: Option<String>,
    /// Free-form settings (the audit trail masks secrets in here).
    pub metadata: Value,
}

#[derive(Default)]
pub(crate) struct Data {
    pub(crate) prompts: BTreeMap<(String, String), Prompt>,
    datasets: BTreeMap<(String, String), Dataset>,
}

/// The app's in-memory store; clones share it.
#[derive(Clone, Default)]
pub struct Store(Arc<RwLock<Data>>);

impl Store {
    /// The current state of a resource, as JSON, as the audit layer's before-state loader
    /// reads it.
    pub fn snapshot(&self, resource_type: &str, project_id: &str, id: &str) -> Option<RawJson> {
        let data = self.0.read().ok()?;
        let key = (project_id.to_owned(), id.to_owned());
        match resource_type {
            "prompt" => data
                .prompts
                .get(&key)
                .and_then(|p| RawJson::from_serialize(p).ok()),
            "dataset" => data
                .datasets
                .get(&key)
                .and_then(|d| RawJson::from_serialize(d).ok()),
            _ => None,
        }
    }

    pub(crate) fn write(&self) -> std::sync::RwLockWriteGuard<'_, Data> {
        self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Data> {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The app's errors, as `application/problem+json`-like bodies.
#[derive(Debug)]
pub enum AppError {
    /// No such resource.
    NotFound,
    /// The caller is not identified.
    Unauthorized,
    /// The body is not acceptable.
    Invalid(&'static str),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, detail) = match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "no such resource"),
            AppError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "send x-user-id or x-api-key-id (stand-in authentication)",
            ),
            AppError::Invalid(detail) => (StatusCode::UNPROCESSABLE_ENTITY, detail),
        };
        (
            status,
            Json(json!({ "status": status.as_u16(), "detail": detail })),
        )
            .into_response()
    }
}

/// The routes of a prompt's labels: recorded as `prompt` `setLabel`.
pub const LABELS_ROUTE: &str = "/api/projects/{projectId}/prompts/{promptId}/labels";

/// The app with the audit layer, sending events to `sink` (a [`audit_client::Dispatcher`]).
pub fn app(store: Store, sink: impl AuditSink) -> Router {
    let audit = audit_layer(store.clone(), sink);
    build(store, prompt_routes(), Some(audit))
}

/// The app with an audit layer configured by the caller.
pub fn app_with_layer(store: Store, audit: AuditLayer) -> Router {
    build(store, prompt_routes(), Some(audit))
}

/// The same app without auditing (for comparisons).
pub fn app_without_audit(store: Store) -> Router {
    build(store, prompt_routes(), None)
}

/// The audit layer as the app configures it: `setLabel` for labels, before states from the
/// store.
pub fn audit_layer(store: Store, sink: impl AuditSink) -> AuditLayer {
    let loader = |store: Store| {
        move |resource: ResourceRef| {
            let store = store.clone();
            async move {
                let project = resource.project_id.as_deref()?;
                store.snapshot(&resource.resource_type, project, &resource.resource_id)
            }
        }
    };
    AuditLayer::builder(sink)
        .with_rule(
            Rule::new(Method::POST, LABELS_ROUTE)
                .resource_type("prompt")
                .action("setLabel"),
        )
        .with_before_loader("prompt", loader(store.clone()))
        .with_before_loader("dataset", loader(store))
        .build()
}

/// The methods of `/api/projects/{projectId}/prompts/{promptId}`.
fn prompt_routes() -> MethodRouter<Store> {
    get(get_prompt).patch(update_prompt).delete(delete_prompt)
}

fn build(store: Store, prompt_routes: MethodRouter<Store>, audit: Option<AuditLayer>) -> Router {
    let api = Router::new()
        .route(
            "/api/projects/{projectId}/prompts",
            post(create_prompt).get(list_prompts),
        )
        .route("/api/projects/{projectId}/prompts/{promptId}", prompt_routes)
        .route(LABELS_ROUTE, post(set_label))
        .route(
            "/api/projects/{projectId}/datasets",
            post(create_dataset).get(list_datasets),
        )
        .route(
            "/api/projects/{projectId}/datasets/{datasetId}",
            get(get_dataset).patch(update_dataset).delete(delete_dataset),
        )
        .with_state(store);
    let api = match audit {
        Some(audit) => api.layer(audit),
        None => api,
    };
    // Authentication runs before the audit layer, so the actor is known there.
    api.layer(middleware::from_fn(authenticate))
        .route("/health", get(|| async { "ok" }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The stand-in authentication: `x-user-id` or `x-api-key-id`, `x-org-role`, `x-project-role`.
async fn authenticate(mut request: Request, next: Next) -> Result<Response, AppError> {
    let headers = request.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let role = |name: &str| text(name).and_then(|r| Role::parse(&r.to_ascii_uppercase()));
    let actor = match (text("x-user-id"), text("x-api-key-id")) {
        (Some(user), _) => Actor::user(user),
        (None, Some(key)) => Actor::api_key(key),
        (None, None) => return Err(AppError::Unauthorized),
    };
    let actor = Actor {
        org_role: role("x-org-role"),
        project_role: role("x-project-role"),
        ..actor
    };
    request.extensions_mut().insert(actor);
    Ok(next.run(request).await)
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

#[derive(Deserialize)]
struct NewPrompt {
    name: String,
    prompt: String,
}

#[derive(Deserialize)]
pub(crate) struct PromptChange {
    name: Option<String>,
    prompt: Option<String>,
}

#[derive(Deserialize)]
struct NewLabel {
    label: String,
}

async fn create_prompt(
    State(store): State<Store>,
    Path(project_id): Path<String>,
    Json(new): Json<NewPrompt>,
) -> Result<(StatusCode, Json<Prompt>), AppError> {
    if new.name.trim().is_empty() {
        return Err(AppError::Invalid("name must not be empty"));
    }
    let prompt = Prompt {
        id: new_id("pr"),
        project_id: project_id.clone(),
        name: new.name,
        prompt: new.prompt,
        labels: Vec::new(),
        version: 1,
    };
    store
        .write()
        .prompts
        .insert((project_id, prompt.id.clone()), prompt.clone());
    Ok((StatusCode::CREATED, Json(prompt)))
}

async fn list_prompts(State(store): State<Store>, Path(project_id): Path<String>) -> Json<Value> {
    let data = store.read();
    let prompts: Vec<&Prompt> = data
        .prompts
        .values()
        .filter(|p| p.project_id == project_id)
        .collect();
    Json(json!({ "data": prompts }))
}

pub(crate) async fn get_prompt(
    State(store): State<Store>,
    Path((project_id, id)): Path<(String, String)>,
) -> Result<Json<Prompt>, AppError> {
    let data = store.read();
    data.prompts
        .get(&(project_id, id))
        .cloned()
        .map(Json)
        .ok_or(AppError::NotFound)
}

async fn update_prompt(
    State(store): State<Store>,
    Path(key): Path<(String, String)>,
    Json(change): Json<PromptChange>,
) -> Result<Json<Prompt>, AppError> {
    let mut data = store.write();
    let prompt = data.prompts.get_mut(&key).ok_or(AppError::NotFound)?;
    prompt.apply(change);
    Ok(Json(prompt.clone()))
}

async fn set_label(
    State(store): State<Store>,
    Path(key): Path<(String, String)>,
    Json(new): Json<NewLabel>,
) -> Result<Json<Prompt>, AppError> {
    let mut data = store.write();
    let prompt = data.prompts.get_mut(&key).ok_or(AppError::NotFound)?;
    if !prompt.labels.contains(&new.label) {
        prompt.labels.push(new.label);
    }
    Ok(Json(prompt.clone()))
}

pub(crate) async fn delete_prompt(
    State(store): State<Store>,
    Path(key): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    store
        .write()
        .prompts
        .remove(&key)
        .map(|_| StatusCode::NO_CONTENT)
        .ok_or(AppError::NotFound)
}

#[derive(Deserialize)]
struct NewDataset {
    name: String,
    description: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
}

#[derive(Deserialize)]
struct DatasetChange {
    name: Option<String>,
    description: Option<String>,
    metadata: Option<Value>,
}

async fn create_dataset(
    State(store): State<Store>,
    Path(project_id): Path<String>,
    Json(new): Json<NewDataset>,
) -> Result<(StatusCode, Json<Dataset>), AppError> {
    if new.name.trim().is_empty() {
        return Err(AppError::Invalid("name must not be empty"));
    }
    let dataset = Dataset {
        id: new_id("ds"),
        project_id: project_id.clone(),
        name: new.name,
        description: new.description,
        metadata: new.metadata.unwrap_or_else(|| json!({})),
    };
    store
        .write()
        .datasets
        .insert((project_id, dataset.id.clone()), dataset.clone());
    Ok((StatusCode::CREATED, Json(dataset)))
}

async fn list_datasets(State(store): State<Store>, Path(project_id): Path<String>) -> Json<Value> {
    let data = store.read();
    let datasets: Vec<&Dataset> = data
        .datasets
        .values()
        .filter(|d| d.project_id == project_id)
        .collect();
    Json(json!({ "data": datasets }))
}

async fn get_dataset(
    State(store): State<Store>,
    Path(key): Path<(String, String)>,
) -> Result<Json<Dataset>, AppError> {
    store
        .read()
        .datasets
        .get(&key)
        .cloned()
        .map(Json)
        .ok_or(AppError::NotFound)
}

async fn update_dataset(
    State(store): State<Store>,
    Path(key): Path<(String, String)>,
    Json(change): Json<DatasetChange>,
) -> Result<Json<Dataset>, AppError> {
    let mut data = store.write();
    let dataset = data.datasets.get_mut(&key).ok_or(AppError::NotFound)?;
    if let Some(name) = change.name {
        dataset.name = name;
    }
    if let Some(description) = change.description {
        dataset.description = Some(description);
    }
    if let Some(metadata) = change.metadata {
        dataset.metadata = metadata;
    }
    Ok(Json(dataset.clone()))
}

async fn delete_dataset(
    State(store): State<Store>,
    Path(key): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    store
        .write()
        .datasets
        .remove(&key)
        .map(|_| StatusCode::NO_CONTENT)
        .ok_or(AppError::NotFound)
}
