//! The same app without the layer, its prompt updates audited by a hand-written call in the
//! handler, the way apps without `audit-tower` do it (Langfuse's `auditLog(...)`): the
//! overhead benchmark's yardstick for what a complete event costs when the handler builds it
//! from what it already holds, with nothing to look up, parse or mask.

use std::net::SocketAddr;
use std::sync::Arc;

use audit_core::{ActorType, AuditEvent, EncodedEvent};
use audit_tower::{Actor, AuditSink};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Extension, Json, Router};

use crate::{AppError, Prompt, PromptChange, Store, delete_prompt, get_prompt};

/// The app with no audit layer, whose `PATCH` of a prompt records its event by hand (the
/// other routes record nothing). For comparisons only.
pub fn app_audited_by_hand(store: Store, sink: impl AuditSink) -> Router {
    let sink: Arc<dyn AuditSink> = Arc::new(sink);
    let prompt_routes =
        get(get_prompt)
            .delete(delete_prompt)
            .patch(move |state, actor, peer, headers, path, change| {
                update_prompt(sink.clone(), state, actor, peer, headers, path, change)
            });
    crate::build(store, prompt_routes, None)
}

/// `update_prompt` with the audit call a developer would write: before and after from the
/// prompt in hand, the actor and request context from the request.
async fn update_prompt(
    sink: Arc<dyn AuditSink>,
    State(store): State<Store>,
    Extension(actor): Extension<Actor>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Path((project_id, id)): Path<(String, String)>,
    Json(change): Json<PromptChange>,
) -> Result<Json<Prompt>, AppError> {
    let (before, prompt) = {
        let mut data = store.write();
        let prompt = data
            .prompts
            .get_mut(&(project_id.clone(), id.clone()))
            .ok_or(AppError::NotFound)?;
        let before = serde_json::to_value(&*prompt).ok();
        prompt.apply(change);
        (before, prompt.clone())
    };
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut event = AuditEvent::new(actor.actor_type, "prompt", id, "update");
    match actor.actor_type {
        ActorType::ApiKey => event.api_key_id = Some(actor.id),
        _ => event.user_id = Some(actor.id),
    }
    event.user_org_role = actor.org_role;
    event.user_project_role = actor.project_role;
    event.project_id = Some(project_id);
    event.occurred_at = Some(chrono::Utc::now());
    event.before = before;
    event.after = serde_json::to_value(&prompt).ok();
    event.ip_address = peer.map(|Extension(ConnectInfo(address))| address.ip().to_string());
    event.user_agent = text("user-agent");
    event.request_id = text("x-request-id");
    event.trace_id = text("traceparent").and_then(|tp| tp.split('-').nth(1).map(str::to_owned));
    // Serialized here, as `Dispatcher::record` does when it queues an event.
    sink.record(EncodedEvent::new(event));
    Ok(Json(prompt))
}
