//! Records as OCSF events (schema 1.9, `record_integrity` profile), for streams whose format is
//! `ocsf`. The README's "OCSF mapping" table lists every attribute.
//!
//! Invariants: a record maps to exactly one event, deterministically (the same record always
//! gives the same event); no attribute is ever `null` (absent values are left out, as OCSF
//! validators expect); and what has no OCSF attribute is kept under `unmapped` with the native
//! field names, so nothing of the record is lost.

pub mod classes;
pub mod integrity;

use audit_core::{ActorType, AuditRecord, Role};
use serde_json::{Map, Value, json};

use classes::{ACCOUNT_CHANGE, API_ACTIVITY, Class, ENTITY_MANAGEMENT, USER_ACCESS};

/// The OCSF schema version the events follow.
pub const OCSF_VERSION: &str = "1.9.0-dev";
/// The product named in `metadata.product`.
pub const PRODUCT_NAME: &str = "audit-log";

/// Inserts `value` under `key` unless it is absent.
fn put(object: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        object.insert(key.to_owned(), value);
    }
}

/// OCSF's user `type_id`: who acted, and how much the organization lets them do.
fn user_type(record: &AuditRecord) -> (u32, &'static str) {
    match record.actor_type {
        ActorType::System => (3, "System"),
        ActorType::ApiKey if record.user_id.is_none() => (4, "Service"),
        _ if matches!(record.user_org_role, Some(Role::Owner | Role::Admin)) => (2, "Admin"),
        _ => (1, "User"),
    }
}

/// `actor`: the user (or the API key acting alone, or the system) and the key used.
fn actor(record: &AuditRecord) -> Value {
    let (type_id, type_name) = user_type(record);
    let uid = record
        .user_id
        .clone()
        .or_else(|| record.api_key_id.clone())
        .unwrap_or_else(|| "system".to_owned());
    let mut user = Map::new();
    user.insert("uid".to_owned(), json!(uid));
    user.insert("type_id".to_owned(), json!(type_id));
    user.insert("type".to_owned(), json!(type_name));
    put(
        &mut user,
        "credential_uid",
        record.api_key_id.clone().map(Value::from),
    );
    json!({"user": user, "app_name": PRODUCT_NAME})
}

/// The resource's state before and after, as OCSF `data`.
fn state(record: &AuditRecord) -> Option<Value> {
    let mut data = Map::new();
    put(&mut data, "before", record.before.clone());
    put(&mut data, "after", record.after.clone());
    (!data.is_empty()).then_some(Value::Object(data))
}

/// The resource as an OCSF `resource_details` or `managed_entity`.
fn resource(record: &AuditRecord) -> Map<String, Value> {
    let mut resource = Map::new();
    resource.insert("uid".to_owned(), json!(record.resource_id));
    resource.insert("type".to_owned(), json!(record.resource_type));
    put(&mut resource, "data", state(record));
    resource
}

/// The user whose access or account changed: the state's `userId` when it names one, else the
/// resource's id.
fn subject_user(record: &AuditRecord) -> Value {
    let named = [&record.after, &record.before]
        .into_iter()
        .flatten()
        .find_map(|state| state.get("userId").and_then(Value::as_str).map(str::to_owned));
    json!({"uid": named.unwrap_or_else(|| record.resource_id.clone())})
}

/// `metadata`: product, schema version, record id, organization, times, sequence, trace.
fn metadata(record: &AuditRecord) -> Value {
    let mut metadata = Map::new();
    metadata.insert(
        "product".to_owned(),
        json!({"name": PRODUCT_NAME, "vendor_name": PRODUCT_NAME, "version": env!("CARGO_PKG_VERSION")}),
    );
    metadata.insert("version".to_owned(), json!(OCSF_VERSION));
    metadata.insert("profiles".to_owned(), json!(["record_integrity"]));
    metadata.insert("uid".to_owned(), json!(record.id.to_string()));
    metadata.insert("tenant_uid".to_owned(), json!(record.org_id.to_string()));
    metadata.insert(
        "original_time".to_owned(),
        json!(audit_core::timestamp::format(&record.occurred_at)),
    );
    metadata.insert(
        "logged_time".to_owned(),
        json!(record.created_at.timestamp_millis()),
    );
    metadata.insert("sequence".to_owned(), json!(record.seq));
    metadata.insert("log_name".to_owned(), json!(record.org_id.to_string()));
    put(
        &mut metadata,
        "correlation_uid",
        record.trace_id.clone().map(Value::from),
    );
    Value::Object(metadata)
}

/// What has no OCSF attribute, under its native name.
fn unmapped(record: &AuditRecord, class: Class) -> Value {
    let mut unmapped = Map::new();
    unmapped.insert("seq".to_owned(), json!(record.seq));
    unmapped.insert("resourceType".to_owned(), json!(record.resource_type));
    unmapped.insert("action".to_owned(), json!(record.action));
    unmapped.insert("actorType".to_owned(), json!(record.actor_type));
    put(
        &mut unmapped,
        "projectId",
        record.project_id.clone().map(Value::from),
    );
    put(
        &mut unmapped,
        "userOrgRole",
        record.user_org_role.map(|role| json!(role)),
    );
    put(
        &mut unmapped,
        "userProjectRole",
        record.user_project_role.map(|role| json!(role)),
    );
    put(
        &mut unmapped,
        "requestId",
        record.request_id.clone().map(Value::from),
    );
    put(&mut unmapped, "traceId", record.trace_id.clone().map(Value::from));
    put(
        &mut unmapped,
        "onBehalfOf",
        record.on_behalf_of.clone().map(Value::from),
    );
    put(
        &mut unmapped,
        "impersonatedBy",
        record.impersonated_by.clone().map(Value::from),
    );
    put(
        &mut unmapped,
        "recordedBy",
        record.recorded_by.map(|id| json!(id.to_string())),
    );
    put(
        &mut unmapped,
        "metadata",
        record.metadata.clone().map(Value::Object),
    );
    if class == ACCOUNT_CHANGE {
        // Account Change has no resource to carry the state on.
        put(&mut unmapped, "before", record.before.clone());
        put(&mut unmapped, "after", record.after.clone());
    }
    Value::Object(unmapped)
}

/// The OCSF event of `record`, in the log named `origin` (`<log name>/<orgId>`).
pub fn event(record: &AuditRecord, origin: &str) -> Value {
    let class = classes::class_of(&record.resource_type);
    let (activity_id, activity_name) = classes::activity_of(class, &record.action);
    let mut event = Map::new();
    event.insert("class_uid".to_owned(), json!(class.uid));
    event.insert("class_name".to_owned(), json!(class.name));
    event.insert("category_uid".to_owned(), json!(class.category_uid));
    event.insert("category_name".to_owned(), json!(class.category_name));
    event.insert("activity_id".to_owned(), json!(activity_id));
    event.insert("activity_name".to_owned(), json!(activity_name));
    event.insert("type_uid".to_owned(), json!(class.uid * 100 + activity_id));
    event.insert(
        "type_name".to_owned(),
        json!(format!("{}: {activity_name}", class.name)),
    );
    event.insert("severity_id".to_owned(), json!(1));
    event.insert("severity".to_owned(), json!("Informational"));
    event.insert("time".to_owned(), json!(record.occurred_at.timestamp_millis()));
    event.insert(
        "message".to_owned(),
        json!(format!("{}.{}", record.resource_type, record.action)),
    );
    event.insert("actor".to_owned(), actor(record));
    event.insert("metadata".to_owned(), metadata(record));
    if let Some(address) = &record.ip_address {
        // A hashed or masked address (a stream's privacy policy) is no IP: named, not `ip`.
        let endpoint = if address.parse::<std::net::IpAddr>().is_ok() {
            json!({"ip": address, "name": address})
        } else {
            json!({"name": address})
        };
        event.insert("src_endpoint".to_owned(), endpoint);
    }
    if let Some(user_agent) = &record.user_agent {
        event.insert("http_request".to_owned(), json!({"user_agent": user_agent}));
    }
    match class {
        API_ACTIVITY => {
            let mut api = Map::new();
            api.insert("operation".to_owned(), json!(record.action));
            put(
                &mut api,
                "request",
                record.request_id.as_ref().map(|id| json!({"uid": id})),
            );
            event.insert("api".to_owned(), Value::Object(api));
            event
                .entry("src_endpoint".to_owned())
                .or_insert_with(|| json!({"name": "unknown"}));
            event.insert("resources".to_owned(), json!([resource(record)]));
        }
        ENTITY_MANAGEMENT => {
            let mut entity = resource(record);
            entity.insert("type_id".to_owned(), json!(classes::OTHER));
            event.insert("entity".to_owned(), Value::Object(entity));
        }
        USER_ACCESS => {
            event.insert("user".to_owned(), subject_user(record));
            event.insert("resources".to_owned(), json!([resource(record)]));
        }
        _ => {
            event.insert("user".to_owned(), subject_user(record));
        }
    }
    event.insert(
        "attestation_list".to_owned(),
        integrity::attestation_list(record, origin),
    );
    event.insert("unmapped".to_owned(), unmapped(record, class));
    Value::Object(event)
}
