//! How a finished request becomes one [`AuditEvent`]: the resource id (from the path, a body
//! or `Location`), the states before and after in their order of precedence (the handler's
//! extensions, then a loader, then the response body), the layer's metadata with the
//! handler's merged over it, and the actor and request context.
//!
//! Everything that leaves the process here is masked by the layer's redactor, and every id is
//! bounded in length; the event is serialized once, into an [`EncodedEvent`].

use audit_core::{ActorType, AuditEvent, EncodedEvent, JsonMember, RawJson};
use http::{Method, StatusCode};
use serde_json::{Map, Value};

use super::bounded_text::{MAX_ID_CHARS, truncate};
use super::hooks::AuditState;
use super::pending::{Pending, is_read};
use super::recorded_state::{Unmasked, masked};
use super::tee::Tee;
use crate::actor::Actor;
use crate::redact::Redactor;
use crate::rules::{IdPlan, Target};

impl Pending {
    /// Builds the event from what was captured and hands it to the sink, counting whether the
    /// sink took it. Nothing is recorded when the response never came.
    pub(super) fn record(self: Box<Self>) {
        let Pending {
            state,
            target,
            actor,
            context,
            occurred_at,
            method,
            query,
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
        } else if is_read(&method) {
            (given_before, given_after)
        } else {
            (given_before.or(loaded), given_after.or(body))
        };
        let redactor = &shared.redactor;
        let [before, after] = [before, after]
            .map(|state| state.and_then(|state| masked(state, redactor, shared.max_state_bytes)));
        let extra = match query {
            None => response.metadata,
            Some(query) => {
                let mut extra = response.metadata.unwrap_or_default();
                extra.insert("query".to_owned(), Value::Object(query));
                Some(extra)
            }
        };
        let metadata = metadata(&method, route.template(), response.status, extra, redactor);

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
        event.on_behalf_of = actor.on_behalf_of.map(|id| truncate(id, MAX_ID_CHARS));
        event.impersonated_by = actor.impersonated_by.map(|id| truncate(id, MAX_ID_CHARS));
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
            shared.drops.dropped(chrono::Utc::now().timestamp());
        }
    }
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

/// The id at `field` of `value`: a key, or a JSON pointer when it starts with `/`; a
/// non-empty string or a number.
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

    #[test]
    fn ids_are_keys_or_pointers() {
        let value = serde_json::json!({ "id": "a", "data": { "id": 7 } });
        assert_eq!(id_field(&value, "id").as_deref(), Some("a"));
        assert_eq!(id_field(&value, "/data/id").as_deref(), Some("7"));
        assert_eq!(id_field(&value, "missing"), None);
    }
}
