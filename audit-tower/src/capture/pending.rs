//! An audited request's life in the layer: [`prepare`] decides, before the inner service,
//! whether and as what a request is audited and takes what only the request knows;
//! [`Pending::on_response`] takes what the response tells (or drops the request from the
//! audit); [`Pending::finish`] records the event once the response body has ended or was
//! dropped.
//!
//! A [`Pending`] is finished at most once, and nothing on the way can fail the host request:
//! a panic in a host hook (actor extractor, sink) costs only the event, and is counted.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use http::request::Parts;
use http::{Method, StatusCode, header};
use serde_json::{Map, Value};

use super::bounded_text::header_text;
use super::extensions::{AuditAfter, AuditBefore, AuditMetadata, AuditSkip};
use super::hooks::{AuditState, BEFORE_LOADER, BoxFuture, ResourceRef};
use super::request_context::{RequestContext, request_context};
use super::tee::{Tee, is_identity_encoded, is_json};
use crate::actor::{Actor, MissingActor};
use crate::contain::contained;
use crate::rules::{IdPlan, Route, Target};
use crate::shared::ServiceState;

/// An audited request between its arrival and the end of its response body.
pub(crate) struct Pending {
    pub(super) state: Arc<ServiceState>,
    pub(super) target: Target,
    pub(super) actor: Option<Actor>,
    pub(super) context: RequestContext,
    pub(super) occurred_at: DateTime<Utc>,
    pub(super) method: Method,
    /// A list read's query parameters, for `metadata.query`.
    pub(super) query: Option<Map<String, Value>>,
    pub(crate) before: Option<AuditState>,
    pub(crate) request_body: Option<Arc<Mutex<Tee>>>,
    pub(super) response: Option<ResponseFacts>,
    /// The copy of the response body, when one is needed.
    pub(crate) body: Option<Tee>,
    /// Whether the response body was read to its end.
    pub(crate) complete: bool,
}

/// What the response told, kept until its body ends.
pub(super) struct ResponseFacts {
    pub(super) status: StatusCode,
    pub(super) before: Option<Value>,
    pub(super) after: Option<Value>,
    pub(super) metadata: Option<Map<String, Value>>,
    pub(super) location: Option<String>,
}

/// An audited request about to be passed to the inner service.
pub(crate) struct Prepared {
    pub(crate) pending: Box<Pending>,
    pub(crate) load: Option<BoxFuture<'static, Option<AuditState>>>,
}

/// Decides whether and as what a request is audited, and captures what only the request knows.
pub(crate) fn prepare(state: &Arc<ServiceState>, parts: &Parts) -> Option<Prepared> {
    #[cfg(feature = "axum")]
    let (matched, path) = (
        parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .map(axum::extract::MatchedPath::as_str),
        parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(parts.uri.path(), |uri| uri.0.path()),
    );
    #[cfg(not(feature = "axum"))]
    let (matched, path) = (None, parts.uri.path());

    let shared = &state.shared;
    let target = shared.rules.resolve(&parts.method, matched, path, &state.route)?;
    // A panicking extractor costs this request its event, counted; the request goes on.
    let Some(actor) = contained("actor extractor", || shared.actor.extract(parts)) else {
        shared.stats.failed.add();
        return None;
    };
    let minute = Utc::now().timestamp().div_euclid(60);
    let actor_id = actor.as_ref().map_or("", |actor| actor.id.as_str());
    if !shared.rules.admit(&target.route, actor_id, minute) {
        shared.stats.sampled_out.add();
        return None;
    }
    let context = request_context(parts, &shared.trusted);
    let route = target.route.get(&shared.rules, &state.route);
    let action = route.action(&parts.method);
    let query = route
        .is_list()
        .then(|| query_metadata(parts.uri.query().unwrap_or("")));
    let load = match &target.id {
        IdPlan::Known(id) if action != "create" && !is_read(&parts.method) => {
            shared.loaders.get(route.resource_type()).and_then(|loader| {
                let resource = ResourceRef {
                    resource_type: route.resource_type().to_owned(),
                    resource_id: id.clone(),
                    project_id: target.project_id.clone(),
                    action: action.to_owned(),
                };
                contained(BEFORE_LOADER, || loader.load(resource))
            })
        }
        _ => None,
    };
    let request_body =
        matches!(target.id, IdPlan::RequestBody).then(|| Arc::new(Mutex::new(Tee::new(shared.body_limit))));
    Some(Prepared {
        pending: Box::new(Pending {
            state: state.clone(),
            target,
            actor,
            context,
            occurred_at: Utc::now(),
            method: parts.method.clone(),
            query,
            before: None,
            request_body,
            response: None,
            body: None,
            complete: false,
        }),
        load,
    })
}

/// Whether `method` only reads (GET, HEAD): its event records no states of its own.
pub(super) fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
}

/// The query string's parameters as an object (a repeated name keeps its last value).
fn query_metadata(query: &str) -> Map<String, Value> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (name, Value::String(value)))
        .collect()
}

impl Pending {
    fn route(&self) -> &Route {
        self.target.route.get(&self.state.shared.rules, &self.state.route)
    }

    /// Takes what the response tells; `None` when nothing is to be recorded.
    pub(crate) fn on_response(
        mut self: Box<Self>,
        parts: &mut http::response::Parts,
        body_size: Option<u64>,
    ) -> Option<Box<Self>> {
        let status = parts.status;
        if parts.extensions.remove::<AuditSkip>().is_some()
            || (!status.is_success() && !self.state.shared.record_failures)
        {
            return None;
        }
        if self.actor.is_none() {
            self.actor = parts.extensions.get::<Actor>().cloned();
        }
        let shared = &self.state.shared;
        if self.actor.is_none() && shared.missing_actor == MissingActor::Skip {
            shared.stats.skipped.add();
            return None;
        }
        let after = parts.extensions.remove::<AuditAfter>().map(|a| a.0);
        let is_delete = self.route().action(&self.method) == "delete";
        let read = is_read(&self.method);
        let needs_body = status.is_success()
            && (self.target.id == IdPlan::ResponseBody
                || (after.is_none() && !is_delete && !read)
                || (is_delete && self.before.is_none()));
        let limit = self.state.shared.body_limit;
        if needs_body
            && body_size.is_none_or(|size| size <= limit as u64)
            && is_json(&parts.headers)
            && is_identity_encoded(&parts.headers)
        {
            self.body = Some(Tee::with_capacity(limit, body_size));
        }
        self.response = Some(ResponseFacts {
            status,
            before: parts.extensions.remove::<AuditBefore>().map(|b| b.0),
            after,
            metadata: parts.extensions.remove::<AuditMetadata>().map(|m| m.0),
            location: header_text(&parts.headers, header::LOCATION),
        });
        Some(self)
    }

    /// Builds the event and hands it to the sink. Runs once the response body has ended or
    /// was dropped; a panic on the way (in the sink, say) loses the event, never the response.
    pub(crate) fn finish(self: Box<Self>) {
        let state = Arc::clone(&self.state);
        // Contains the sink and, as a last guard, the building of the event around it.
        if contained("sink", move || self.record()).is_none() {
            state.shared.stats.failed.add();
        }
    }
}
