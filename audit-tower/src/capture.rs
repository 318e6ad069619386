//! What the layer captures around a request: the route and actor, the client's context, the
//! state before (a loader hook or a response extension) and after (the response body or a
//! response extension), and how it all becomes one [`AuditEvent`].
//!
//! A handler may hand the layer exact values through response extensions:
//!
//! ```
//! use audit_tower::{AuditAfter, AuditBefore, AuditMetadata};
//! use axum::{Extension, Json};
//! use serde_json::{Map, Value, json};
//!
//! async fn rename() -> (Extension<AuditBefore>, Extension<AuditAfter>, Extension<AuditMetadata>, Json<Value>) {
//!     let mut metadata = Map::new();
//!     metadata.insert("reason".into(), json!("typo"));
//!     (
//!         Extension(AuditBefore(json!({ "name": "teh" }))),
//!         Extension(AuditAfter(json!({ "name": "the" }))),
//!         Extension(AuditMetadata(metadata)),
//!         Json(json!({ "ok": true })),
//!     )
//! }
//! ```

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use audit_core::{ActorType, AuditEvent, EncodedEvent, JsonMember, RawJson};
use chrono::{DateTime, Utc};
use http::request::Parts;
use http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Map, Value};

use crate::actor::{Actor, MissingActor};
use crate::contain::contained;
use crate::layer::ServiceState;
use crate::redact::Redactor;
use crate::rules::{IdPlan, Route, Target};

/// The name under which a panicking [`LoadBefore`] hook is logged.
pub(crate) const BEFORE_LOADER: &str = "before-state loader";

/// A boxed, sendable future, as [`LoadBefore`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The state of the resource before the request, set by the handler as a response extension.
/// It takes precedence over a [`LoadBefore`] hook.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditBefore(pub serde_json::Value);

/// The exact state after the request, set by the handler as a response extension. It takes
/// precedence over the response body.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditAfter(pub serde_json::Value);

/// Extra metadata for the event, set by the handler as a response extension; merged over the
/// layer's own (`method`, `route`, `status`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditMetadata(pub serde_json::Map<String, serde_json::Value>);

/// Set by the handler as a response extension: record nothing for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditSkip;

/// The resource a request acts on, as a [`LoadBefore`] hook receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceRef {
    /// The resource type, e.g. `prompt`.
    pub resource_type: String,
    /// The resource id, e.g. from `{promptId}`.
    pub resource_id: String,
    /// The project, when the route names one.
    pub project_id: Option<String>,
    /// The action about to happen, e.g. `update`.
    pub action: String,
}

impl ResourceRef {
    /// A reference to `resource_type` `resource_id` (no project, action `update`).
    pub fn new(resource_type: impl Into<String>, resource_id: impl Into<String>) -> Self {
        ResourceRef {
            resource_type: resource_type.into(),
            resource_id: resource_id.into(),
            project_id: None,
            action: "update".to_owned(),
        }
    }
}

/// A resource's state as a hook hands it over: a tree, or JSON text. Text is the cheaper
/// of the two when the host has the resource as a struct: [`RawJson::from_serialize`] writes
/// it out once, where `serde_json::to_value` builds a tree that is then written out again.
#[derive(Debug, Clone, PartialEq)]
pub enum AuditState {
    /// A JSON tree.
    Value(Value),
    /// JSON text.
    Json(RawJson),
}

impl From<Value> for AuditState {
    fn from(value: Value) -> Self {
        AuditState::Value(value)
    }
}

impl From<RawJson> for AuditState {
    fn from(json: RawJson) -> Self {
        AuditState::Json(json)
    }
}

/// Loads a resource's current state, called before the inner service for every audited
/// action but `create` whose resource id is known from the path. Implemented for closures
/// `Fn(ResourceRef) -> impl Future<Output = Option<S>>` where `S` is a [`Value`] or a
/// [`RawJson`].
pub trait LoadBefore: Send + Sync + 'static {
    /// The resource's state now, or `None` when it does not exist.
    fn load(&self, resource: ResourceRef) -> BoxFuture<'static, Option<AuditState>>;
}

impl<F, Fut, S> LoadBefore for F
where
    F: Fn(ResourceRef) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<S>> + Send + 'static,
    S: Into<AuditState>,
{
    fn load(&self, resource: ResourceRef) -> BoxFuture<'static, Option<AuditState>> {
        let loading = self(resource);
        Box::pin(async move { loading.await.map(Into::into) })
    }
}

/// Proxies whose `Forwarded` / `X-Forwarded-For` headers are believed.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustedProxies(pub(crate) Vec<(IpAddr, u8)>);

impl TrustedProxies {
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        self.0
            .iter()
            .any(|&(net, prefix)| in_network(ip, canonical_ip(net), prefix))
    }
}

fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_network(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let prefix = u32::from(prefix.min(32));
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let prefix = u32::from(prefix.min(128));
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// Where the request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RequestContext {
    pub(crate) ip_address: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) trace_id: Option<String>,
}

// Header names looked up on every audited request, parsed once (a `&str` name is parsed
// at every lookup).
const X_REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");
const TRACEPARENT: header::HeaderName = header::HeaderName::from_static("traceparent");

const MAX_ID_CHARS: usize = 256;
const MAX_USER_AGENT_CHARS: usize = 1024;

fn truncate(mut value: String, chars: usize) -> String {
    // A string of at most `chars` bytes has at most `chars` characters.
    if value.len() <= chars {
        return value;
    }
    if let Some((at, _)) = value.char_indices().nth(chars) {
        value.truncate(at);
    }
    value
}

fn header_text(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    let value = headers.get(name)?;
    let text = String::from_utf8_lossy(value.as_bytes()).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

pub(crate) fn request_context(parts: &Parts, trusted: &TrustedProxies) -> RequestContext {
    let request_id = parts
        .extensions
        .get::<tower_http::request_id::RequestId>()
        .and_then(|id| id.header_value().to_str().ok().map(str::to_owned))
        .or_else(|| header_text(&parts.headers, &X_REQUEST_ID));
    RequestContext {
        ip_address: client_ip(parts, trusted).map(|ip| ip.to_string()),
        user_agent: header_text(&parts.headers, header::USER_AGENT)
            .map(|ua| truncate(ua, MAX_USER_AGENT_CHARS)),
        request_id: request_id.map(|id| truncate(id, MAX_ID_CHARS)),
        trace_id: header_text(&parts.headers, &TRACEPARENT).and_then(|tp| trace_id(&tp)),
    }
}

fn peer_ip(parts: &Parts) -> Option<IpAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        return Some(info.0.ip());
    }
    #[cfg(feature = "axum")]
    if let Some(mock) = parts
        .extensions
        .get::<axum::extract::connect_info::MockConnectInfo<std::net::SocketAddr>>()
    {
        return Some(mock.0.ip());
    }
    parts
        .extensions
        .get::<std::net::SocketAddr>()
        .map(std::net::SocketAddr::ip)
}

/// The connection's address, or, when that is a trusted proxy, the nearest untrusted address
/// its forwarding headers name.
fn client_ip(parts: &Parts, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = canonical_ip(peer_ip(parts)?);
    if !trusted.contains(peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = if parts.headers.contains_key(header::FORWARDED) {
        parts
            .headers
            .get_all(header::FORWARDED)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (key, value) = pair.trim().split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| parse_node(value))?
                })
            })
            .collect()
    } else {
        parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(parse_node)
            .collect()
    };
    let first = forwarded.first().copied();
    forwarded
        .into_iter()
        .rev()
        .map(canonical_ip)
        .find(|ip| !trusted.contains(*ip))
        .or(first)
        .or(Some(peer))
}

/// An address of a `Forwarded` `for=` or of `X-Forwarded-For`: `1.2.3.4`, `"1.2.3.4:80"`,
/// `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(value: &str) -> Option<IpAddr> {
    let value = value.trim().trim_matches('"');
    if let Ok(ip) = value.parse() {
        return Some(ip);
    }
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    value.rsplit_once(':')?.0.parse().ok()
}

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`).
fn trace_id(traceparent: &str) -> Option<String> {
    let mut fields = traceparent.split('-');
    let version = fields.next()?;
    let id = fields.next()?;
    let valid = version.len() == 2
        && id.len() == 32
        && id.bytes().all(|b| b.is_ascii_hexdigit())
        && id.bytes().any(|b| b != b'0');
    valid.then(|| id.to_ascii_lowercase())
}

/// A copy of a body, up to a limit.
#[derive(Debug)]
pub(crate) struct Tee {
    buf: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl Tee {
    pub(crate) fn new(limit: usize) -> Self {
        Tee::with_capacity(limit, None)
    }

    /// A tee for a body of `size` bytes when known (one allocation of the right size).
    pub(crate) fn with_capacity(limit: usize, size: Option<u64>) -> Self {
        let capacity = size.map_or(0, |size| usize::try_from(size).unwrap_or(usize::MAX).min(limit));
        Tee {
            buf: Vec::with_capacity(capacity),
            limit,
            overflowed: false,
        }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) {
        if self.overflowed {
            return;
        }
        if self.buf.len() + chunk.len() > self.limit {
            self.overflow();
        } else {
            self.buf.extend_from_slice(chunk);
        }
    }

    pub(crate) fn overflow(&mut self) {
        self.overflowed = true;
        self.buf = Vec::new();
    }

    /// The copy, when it is whole and text (whether it is JSON is checked later).
    fn text(self) -> Option<String> {
        if self.overflowed || self.buf.is_empty() {
            return None;
        }
        String::from_utf8(self.buf).ok()
    }
}

/// An audited request between its arrival and the end of its response body.
pub(crate) struct Pending {
    state: Arc<ServiceState>,
    target: Target,
    actor: Option<Actor>,
    context: RequestContext,
    occurred_at: DateTime<Utc>,
    method: Method,
    pub(crate) before: Option<AuditState>,
    pub(crate) request_body: Option<Arc<Mutex<Tee>>>,
    response: Option<ResponseFacts>,
    /// The copy of the response body, when one is needed.
    pub(crate) body: Option<Tee>,
    /// Whether the response body was read to its end.
    pub(crate) complete: bool,
}

struct ResponseFacts {
    status: StatusCode,
    before: Option<Value>,
    after: Option<Value>,
    metadata: Option<Map<String, Value>>,
    location: Option<String>,
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
    let context = request_context(parts, &shared.trusted);
    let route = target.route.get(&shared.rules, &state.route);
    let action = route.action(&parts.method);
    let load = match &target.id {
        IdPlan::Known(id) if action != "create" => {
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
            before: None,
            request_body,
            response: None,
            body: None,
            complete: false,
        }),
        load,
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|essence| {
            let essence = essence.trim().to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        })
        .unwrap_or(false)
}

/// Whether the body is sent as it is (no `Content-Encoding`, or `identity`): a compressed
/// body is not copied, as it could not be read as JSON.
fn is_identity_encoded(headers: &HeaderMap) -> bool {
    headers.get_all(header::CONTENT_ENCODING).iter().all(|v| {
        v.to_str()
            .is_ok_and(|v| v.trim().eq_ignore_ascii_case("identity"))
    })
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
        let needs_body = status.is_success()
            && (self.target.id == IdPlan::ResponseBody
                || (after.is_none() && !is_delete)
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

    fn record(self: Box<Self>) {
        let Pending {
            state,
            target,
            actor,
            context,
            occurred_at,
            method,
            before: loaded,
            request_body,
            response,
            body,
            complete,
        } = *self;
        let Some(response) = response else { return };
        let shared = &state.shared;
        let Target {
            route,
            id,
            project_id,
        } = target;
        let route = route.get(&shared.rules, &state.route);
        let succeeded = response.status.is_success();
        let body = body.filter(|_| complete).and_then(Tee::text);
        let request_json = request_body
            .and_then(|tee| std::mem::replace(&mut *tee.lock().ok()?, Tee::new(0)).text())
            .and_then(|text| serde_json::from_str::<Value>(&text).ok());

        let resource_id = match id {
            IdPlan::Known(id) => Some(id),
            IdPlan::ResponseBody => match &response.after {
                Some(after) => id_field(after, route.id_field()),
                None => body
                    .as_deref()
                    .and_then(|text| serde_json::from_str::<Value>(text).ok())
                    .and_then(|value| id_field(&value, route.id_field())),
            },
            IdPlan::RequestBody => request_json
                .as_ref()
                .and_then(|value| id_field(value, route.id_field())),
        }
        .or_else(|| {
            let location = response.location.as_deref()?;
            let last = location.split(['?', '#']).next()?.rsplit('/').next()?;
            (!last.is_empty()).then(|| last.to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());

        let action = route.action(&method);
        let is_delete = action == "delete";
        let given = |value: Option<Value>| value.map(|value| Unmasked::Given(AuditState::Value(value)));
        let (given_before, given_after) = (given(response.before), given(response.after));
        let loaded = loaded.map(Unmasked::Given);
        let body = body.map(Unmasked::Body);
        let (before, after) = if !succeeded {
            (given_before.or(loaded), given_after)
        } else if is_delete {
            (given_before.or(loaded).or(body), given_after)
        } else {
            (given_before.or(loaded), given_after.or(body))
        };
        let redactor = &shared.redactor;
        let [before, after] = [before, after]
            .map(|state| state.and_then(|state| masked(state, redactor, shared.max_state_bytes)));
        let metadata = metadata(
            &method,
            route.template(),
            response.status,
            response.metadata,
            redactor,
        );

        let actor = actor.unwrap_or_else(Actor::system);
        let mut event = AuditEvent::new(
            actor.actor_type,
            route.resource_type(),
            truncate(resource_id, MAX_ID_CHARS),
            action,
        );
        match actor.actor_type {
            ActorType::User => event.user_id = Some(truncate(actor.id, MAX_ID_CHARS)),
            ActorType::ApiKey => event.api_key_id = Some(truncate(actor.id, MAX_ID_CHARS)),
            ActorType::System => {}
        }
        event.user_org_role = actor.org_role;
        event.user_project_role = actor.project_role;
        event.project_id = project_id.map(|p| truncate(p, MAX_ID_CHARS));
        event.occurred_at = Some(occurred_at);
        event.ip_address = context.ip_address;
        event.user_agent = context.user_agent;
        event.request_id = context.request_id;
        event.trace_id = context.trace_id;
        let event = EncodedEvent::with_raw(
            event,
            &[
                (JsonMember::Before, before.as_ref()),
                (JsonMember::After, after.as_ref()),
                (JsonMember::Metadata, Some(&metadata)),
            ],
        );
        if shared.sink.record(event) {
            shared.stats.recorded.add();
        } else {
            shared.stats.dropped.add();
        }
    }
}

/// A state before masking: given by a hook or the handler, or the copy of the response body
/// (text not yet known to be JSON).
enum Unmasked {
    Given(AuditState),
    Body(String),
}

/// A state as it is recorded: JSON text, with the values of sensitive keys masked; `None` when
/// it is not JSON or longer than `limit` bytes.
///
/// Text is walked once, to check it and to find out whether it holds a sensitive key at all;
/// only then is it parsed into a tree, masked and written out again. Most states hold none.
fn masked(state: Unmasked, redactor: &Redactor, limit: usize) -> Option<RawJson> {
    let text = match state {
        Unmasked::Given(AuditState::Value(value)) => return written(value, redactor, limit),
        Unmasked::Given(AuditState::Json(json)) => json.into_string(),
        Unmasked::Body(text) => text,
    };
    let (json, sensitive) = RawJson::parse_flagging_keys(text, |key| redactor.is_sensitive(key)).ok()?;
    if !sensitive && json.len() <= limit {
        return Some(json);
    }
    written(json.to_value(), redactor, limit)
}

/// `value` masked and written out compact, when that fits in `limit` bytes (the bound is on
/// the serialized value, as the service measures it, not on the whitespace of a text) and is
/// nested no deeper than an event can carry.
fn written(mut value: Value, redactor: &Redactor, limit: usize) -> Option<RawJson> {
    redactor.redact(&mut value);
    let json = RawJson::parse(value.to_string()).ok()?;
    (json.len() <= limit).then_some(json)
}

/// The layer's own metadata (`method`, `route`, `status`, and `outcome` of a failure) with
/// the handler's merged over it, masked.
fn metadata(
    method: &Method,
    route: &str,
    status: StatusCode,
    extra: Option<Map<String, Value>>,
    redactor: &Redactor,
) -> RawJson {
    #[derive(serde::Serialize)]
    struct Own<'a> {
        method: &'a str,
        route: &'a str,
        status: u16,
        #[serde(skip_serializing_if = "Option::is_none")]
        outcome: Option<&'static str>,
    }
    let own = Own {
        method: method.as_str(),
        route,
        status: status.as_u16(),
        outcome: (!status.is_success()).then_some("failure"),
    };
    // Written out directly: the common case builds no map.
    let own_only = || RawJson::from_serialize(&own).unwrap_or_else(|_| RawJson::from_value(&Value::Null));
    match extra {
        None => own_only(),
        Some(mut extra) => {
            // The layer's own entries need no masking; the handler's may.
            redactor.redact_map(&mut extra);
            let mut merged = match serde_json::to_value(&own) {
                Ok(Value::Object(map)) => map,
                _ => Map::new(),
            };
            merged.extend(extra);
            // Checked: entries nested deeper than an event can carry are not recorded.
            RawJson::parse(Value::Object(merged).to_string()).unwrap_or_else(|_| own_only())
        }
    }
}

fn id_field(value: &Value, field: &str) -> Option<String> {
    let found = if field.starts_with('/') {
        value.pointer(field)
    } else {
        value.get(field)
    }?;
    match found {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::REDACTED;

    fn parts(build: http::request::Builder) -> Parts {
        build.body(()).unwrap().into_parts().0
    }

    #[test]
    fn trace_ids_come_from_valid_traceparents() {
        assert_eq!(
            trace_id("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(
            trace_id("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(trace_id("garbage"), None);
    }

    #[test]
    fn forwarding_headers_count_only_behind_trusted_proxies() {
        let peer = |ip: &str| std::net::SocketAddr::new(ip.parse().unwrap(), 4000);
        let trusted = TrustedProxies(vec![("10.0.0.0".parse().unwrap(), 8)]);
        let mut direct = parts(http::Request::builder().header("x-forwarded-for", "1.2.3.4"));
        direct.extensions.insert(peer("203.0.113.9"));
        assert_eq!(
            request_context(&direct, &trusted).ip_address.as_deref(),
            Some("203.0.113.9")
        );

        let mut proxied =
            parts(http::Request::builder().header("x-forwarded-for", "6.6.6.6, 198.51.100.2, 10.1.1.1"));
        proxied.extensions.insert(peer("10.0.0.5"));
        assert_eq!(
            request_context(&proxied, &trusted).ip_address.as_deref(),
            Some("198.51.100.2")
        );

        let mut forwarded =
            parts(http::Request::builder().header("forwarded", "for=\"[2001:db8::1]:4711\";proto=https"));
        forwarded.extensions.insert(peer("10.0.0.5"));
        assert_eq!(
            request_context(&forwarded, &trusted).ip_address.as_deref(),
            Some("2001:db8::1")
        );
    }

    #[test]
    fn the_tee_gives_up_beyond_its_limit() {
        let chunks = || {
            let mut tee = Tee::new(8);
            tee.push(b"{\"a\":");
            tee.push(b"1}");
            tee
        };
        assert_eq!(chunks().text().as_deref(), Some("{\"a\":1}"));
        let mut tee = chunks();
        tee.push(b"too much");
        assert_eq!(tee.text(), None);
    }

    #[test]
    fn only_bodies_sent_as_they_are_are_copied() {
        let headers = |encoding: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(encoding) = encoding {
                headers.insert(header::CONTENT_ENCODING, encoding.parse().unwrap());
            }
            headers
        };
        assert!(is_identity_encoded(&headers(None)));
        assert!(is_identity_encoded(&headers(Some("Identity"))));
        assert!(!is_identity_encoded(&headers(Some("gzip"))));
        assert!(!is_identity_encoded(&headers(Some("br"))));
    }

    #[test]
    fn states_are_masked_and_bounded_as_serialized() {
        let redactor = Redactor::default();
        let body = |text: &str| Unmasked::Body(text.to_owned());
        let pretty = "{\n  \"name\": \"a\",\n  \"apiKey\": \"k\"\n}";
        let state = masked(body(pretty), &redactor, 1000).unwrap();
        assert_eq!(
            state.to_value(),
            serde_json::json!({ "name": "a", "apiKey": REDACTED })
        );

        // Nothing to mask: kept as it came, whitespace and all.
        let spaced = r#"{ "name" : "abc" }"#;
        assert_eq!(masked(body(spaced), &redactor, 1000).unwrap().as_str(), spaced);
        // The bound is on the compact form.
        let compact = r#"{"name":"abc"}"#;
        assert_eq!(
            masked(body(spaced), &redactor, compact.len()).unwrap().as_str(),
            compact
        );
        assert!(masked(body(spaced), &redactor, compact.len() - 1).is_none());

        assert!(masked(body("<html>"), &redactor, 1000).is_none());
        let given = Unmasked::Given(AuditState::Value(serde_json::json!({ "token": 1, "n": 2 })));
        let state = masked(given, &redactor, 1000).unwrap();
        assert_eq!(state.to_value(), serde_json::json!({ "token": REDACTED, "n": 2 }));
    }

    #[test]
    fn ids_are_keys_or_pointers() {
        let value = serde_json::json!({ "id": "a", "data": { "id": 7 } });
        assert_eq!(id_field(&value, "id").as_deref(), Some("a"));
        assert_eq!(id_field(&value, "/data/id").as_deref(), Some("7"));
        assert_eq!(id_field(&value, "missing"), None);
    }
}
