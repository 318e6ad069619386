//! Realistic, reproducible audit events: 20 projects, 1,000 users, 40 host-app API keys, nine
//! resource types with Langfuse's actions, and `before`/`after` states like a prompt or dataset
//! update (about 850 bytes per stored row).

use std::collections::BTreeMap;

use audit_core::{ActorType, AuditEvent, AuditRecord, Role, timestamp};
use audit_server::store::append::NewRecord;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// Projects events belong to.
pub const PROJECTS: u64 = 20;
/// Distinct users acting.
pub const USERS: u64 = 1000;
/// Distinct host-app API keys acting.
pub const HOST_API_KEYS: u64 = 40;
/// Distinct resources of each type.
pub const RESOURCES_PER_TYPE: u64 = 5000;

/// The resource type whose events make about a fifth of the trail: the known subset exported.
pub const EXPORT_RESOURCE_TYPE: &str = "prompt";

/// A small, fast, seedable generator (SplitMix64): the same seed gives the same events.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A random UUID (version 4 bits set).
    pub fn uuid(&mut self) -> Uuid {
        let bits = (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64());
        uuid::Builder::from_random_bytes(bits.to_be_bytes()).into_uuid()
    }
}

/// Resource types with their share of the trail (in percent) and their actions.
const RESOURCES: [(&str, u64, &[&str]); 9] = [
    (
        "prompt",
        20,
        &[
            "update",
            "update",
            "update",
            "create",
            "setLabel",
            "updateTags",
            "delete",
        ],
    ),
    ("datasetItem", 20, &["create", "create", "update", "delete"]),
    ("score", 15, &["create", "create", "update", "delete"]),
    ("dataset", 10, &["create", "update", "update", "delete"]),
    ("trace", 10, &["bookmark", "publish", "updateTags", "delete"]),
    (
        "annotationQueueItem",
        10,
        &["create", "update", "complete", "delete"],
    ),
    ("evalTemplate", 5, &["create", "update", "delete"]),
    ("model", 5, &["create", "update", "delete"]),
    ("project", 5, &["update", "update", "create", "transfer"]),
];

const WORDS: [&str; 48] = [
    "answer",
    "the",
    "customer",
    "question",
    "using",
    "only",
    "context",
    "below",
    "be",
    "concise",
    "and",
    "cite",
    "sources",
    "when",
    "possible",
    "if",
    "unsure",
    "say",
    "so",
    "summarize",
    "ticket",
    "history",
    "classify",
    "intent",
    "priority",
    "language",
    "return",
    "json",
    "with",
    "fields",
    "label",
    "score",
    "reason",
    "never",
    "invent",
    "facts",
    "translate",
    "reply",
    "into",
    "user",
    "tone",
    "friendly",
    "formal",
    "extract",
    "entities",
    "dates",
    "amounts",
    "products",
];

const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "langfuse-python/2.51.3",
    "langfuse-js/3.29.1 node/20.11.0",
];

const MODELS: [&str; 5] = [
    "gpt-4o",
    "gpt-4o-mini",
    "claude-3-5-sonnet",
    "llama-3.1-70b",
    "mistral-large",
];

/// Makes events and counts them by resource type.
#[derive(Debug)]
pub struct Generator {
    rng: Rng,
    made: u64,
    by_resource_type: BTreeMap<&'static str, u64>,
}

impl Generator {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Generator {
            rng: Rng::new(seed),
            made: 0,
            by_resource_type: BTreeMap::new(),
        }
    }

    /// How many events of `resource_type` it has made.
    pub fn count_of(&self, resource_type: &str) -> u64 {
        self.by_resource_type.get(resource_type).copied().unwrap_or(0)
    }

    /// How many events it has made.
    pub fn made(&self) -> u64 {
        self.made
    }

    /// The next event, with its idempotency key set (as a retrying client would).
    pub fn event(&mut self) -> AuditEvent {
        self.made += 1;
        let rng = &mut self.rng;
        let mut roll = rng.below(100);
        let mut chosen = RESOURCES[0];
        for resource in RESOURCES {
            if roll < resource.1 {
                chosen = resource;
                break;
            }
            roll -= resource.1;
        }
        let (resource_type, _, actions) = chosen;
        *self.by_resource_type.entry(resource_type).or_default() += 1;
        let action = *rng.pick(actions);
        let resource_id = format!("{}_{:05}", short(resource_type), rng.below(RESOURCES_PER_TYPE));

        let roll = rng.below(100);
        let mut event = if roll < 80 {
            let mut event = AuditEvent::by_user(
                format!("user_{:04}", rng.below(USERS)),
                resource_type,
                resource_id,
                action,
            );
            event.user_org_role = Some(*rng.pick(&[Role::Owner, Role::Admin, Role::Member, Role::Member]));
            event.user_project_role =
                Some(*rng.pick(&[Role::Admin, Role::Member, Role::Member, Role::Viewer]));
            event.ip_address = Some(format!(
                "{}.{}.{}.{}",
                rng.below(223) + 1,
                rng.below(256),
                rng.below(256),
                rng.below(254) + 1
            ));
            event.user_agent = Some((*rng.pick(&USER_AGENTS[..2])).to_owned());
            event
        } else if roll < 95 {
            let mut event = AuditEvent::by_api_key(
                format!("pk-lf-{:08x}", rng.below(HOST_API_KEYS) * 0x0101_0101),
                resource_type,
                resource_id,
                action,
            );
            event.user_agent = Some((*rng.pick(&USER_AGENTS[2..])).to_owned());
            event
        } else {
            AuditEvent::new(ActorType::System, resource_type, resource_id, action)
        };
        event.project_id = Some(format!("proj_{:02}", rng.below(PROJECTS)));
        event.request_id = Some(format!("req_{:016x}", rng.next_u64()));
        event.trace_id = Some(format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64()));
        event.occurred_at = Some(timestamp::now());
        let (before, after) = states(rng, resource_type, action);
        event.before = before;
        event.after = after;
        let mut metadata = Map::new();
        metadata.insert("source".into(), json!(*rng.pick(&["web", "api", "sdk"])));
        metadata.insert("region".into(), json!(*rng.pick(&["eu-west-1", "us-east-1"])));
        event.metadata = Some(metadata);
        event.id = Some(rng.uuid());
        event
    }

    /// `count` events.
    pub fn events(&mut self, count: usize) -> Vec<AuditEvent> {
        (0..count).map(|_| self.event()).collect()
    }
}

fn short(resource_type: &str) -> &'static str {
    match resource_type {
        "prompt" => "pr",
        "datasetItem" => "di",
        "score" => "sc",
        "dataset" => "ds",
        "trace" => "tr",
        "annotationQueueItem" => "aq",
        "evalTemplate" => "et",
        "model" => "md",
        _ => "pj",
    }
}

fn sentence(rng: &mut Rng, words: u64) -> String {
    let mut text = String::new();
    for index in 0..words {
        if index > 0 {
            text.push(' ');
        }
        let word: &&str = rng.pick(&WORDS);
        text.push_str(word);
    }
    text
}

fn state(rng: &mut Rng, resource_type: &str, version: u64) -> Value {
    match resource_type {
        "prompt" => json!({
            "name": format!("{}-{}", rng.pick(&WORDS), rng.pick(&WORDS)),
            "version": version,
            "type": "chat",
            "prompt": [{"role": "system", "content": sentence(rng, 14)}, {"role": "user", "content": "{{input}}"}],
            "labels": if rng.below(2) == 0 { json!(["production", "latest"]) } else { json!(["staging"]) },
            "config": {"model": rng.pick(&MODELS), "temperature": (rng.below(10) as f64) / 10.0},
        }),
        "datasetItem" | "score" | "annotationQueueItem" => json!({
            "status": rng.pick(&["ACTIVE", "ARCHIVED", "PENDING", "COMPLETED"]),
            "value": rng.below(100),
            "input": {"question": sentence(rng, 10)},
            "expectedOutput": {"answer": sentence(rng, 8)},
            "comment": sentence(rng, 5),
        }),
        _ => json!({
            "name": format!("{}-{}", rng.pick(&WORDS), rng.pick(&WORDS)),
            "description": sentence(rng, 16),
            "model": rng.pick(&MODELS),
            "version": version,
            "settings": {"retention": rng.below(90), "public": rng.below(2) == 0},
        }),
    }
}

fn states(rng: &mut Rng, resource_type: &str, action: &str) -> (Option<Value>, Option<Value>) {
    let version = rng.below(40) + 1;
    match action {
        "create" => (None, Some(state(rng, resource_type, 1))),
        "delete" => (Some(state(rng, resource_type, version)), None),
        _ => (
            Some(state(rng, resource_type, version)),
            Some(state(rng, resource_type, version + 1)),
        ),
    }
}

/// A row of `audit_logs` exactly as the server would store the event, with `seq` and the
/// chain hash computed here (for the raw-limit measurement).
#[derive(Debug, Clone)]
pub struct RawRow {
    /// The organization.
    pub org_id: Uuid,
    /// Position in the trail.
    pub seq: i64,
    /// The record id.
    pub id: Uuid,
    /// When stored.
    pub created_at: DateTime<Utc>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// USER, API_KEY or SYSTEM.
    pub actor_type: &'static str,
    /// The user.
    pub user_id: Option<String>,
    /// The host-app key.
    pub api_key_id: Option<String>,
    /// The organization role.
    pub user_org_role: Option<&'static str>,
    /// The project.
    pub project_id: Option<String>,
    /// The project role.
    pub user_project_role: Option<&'static str>,
    /// The resource type.
    pub resource_type: String,
    /// The resource id.
    pub resource_id: String,
    /// The action.
    pub action: String,
    /// `before` as JSON text.
    pub before: Option<String>,
    /// `after` as JSON text.
    pub after: Option<String>,
    /// Client IP.
    pub ip_address: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Trace id.
    pub trace_id: Option<String>,
    /// `metadata` as JSON text.
    pub metadata: Option<String>,
    /// The audit-service key.
    pub recorded_by: Option<Uuid>,
    /// The previous hash.
    pub prev_hash: String,
    /// The chain hash.
    pub hash: String,
    /// The submitted event's fingerprint.
    pub content_hash: String,
}

/// The columns of `audit_logs`, in [`RawRow`] order.
pub const COLUMNS: [&str; 25] = [
    "org_id",
    "seq",
    "id",
    "created_at",
    "occurred_at",
    "actor_type",
    "user_id",
    "api_key_id",
    "user_org_role",
    "project_id",
    "user_project_role",
    "resource_type",
    "resource_id",
    "action",
    "before",
    "after",
    "ip_address",
    "user_agent",
    "request_id",
    "trace_id",
    "metadata",
    "recorded_by",
    "prev_hash",
    "hash",
    "content_hash",
];

/// Turns events into chained rows of `org_id`, as the server's append does (fingerprint,
/// record, seal), starting after the genesis hash.
#[derive(Debug)]
pub struct Chainer {
    org_id: Uuid,
    recorded_by: Uuid,
    seq: i64,
    prev_hash: String,
}

impl Chainer {
    /// A chain for `org_id`, recorded by `recorded_by`.
    pub fn new(org_id: Uuid, recorded_by: Uuid) -> Self {
        Chainer {
            org_id,
            recorded_by,
            seq: 0,
            prev_hash: audit_core::GENESIS_HASH.to_owned(),
        }
    }

    /// A chain for `org_id` that continues after its record `seq`, whose hash is `hash`.
    pub fn after(org_id: Uuid, recorded_by: Uuid, seq: i64, hash: &str) -> Self {
        Chainer {
            org_id,
            recorded_by,
            seq,
            prev_hash: hash.to_owned(),
        }
    }

    /// The next row, stored now.
    pub fn row(&mut self, event: AuditEvent) -> RawRow {
        self.row_at(event, timestamp::now())
    }

    /// The next row, stored at `created_at` (never before the previous row's).
    pub fn row_at(&mut self, event: AuditEvent, created_at: DateTime<Utc>) -> RawRow {
        let NewRecord {
            event, fingerprint, ..
        } = NewRecord::from_submitted(event);
        self.seq += 1;
        let mut record =
            AuditRecord::from_event(event, self.org_id, self.seq, created_at, Some(self.recorded_by));
        record.seal(&self.prev_hash);
        self.prev_hash = record.hash.clone();
        let json = |value: &Option<Value>| value.as_ref().map(Value::to_string);
        RawRow {
            org_id: record.org_id,
            seq: record.seq,
            id: record.id,
            created_at: record.created_at,
            occurred_at: record.occurred_at,
            actor_type: record.actor_type.as_str(),
            user_id: record.user_id,
            api_key_id: record.api_key_id,
            user_org_role: record.user_org_role.map(Role::as_str),
            project_id: record.project_id,
            user_project_role: record.user_project_role.map(Role::as_str),
            resource_type: record.resource_type,
            resource_id: record.resource_id,
            action: record.action,
            before: json(&record.before),
            after: json(&record.after),
            ip_address: record.ip_address,
            user_agent: record.user_agent,
            request_id: record.request_id,
            trace_id: record.trace_id,
            metadata: record.metadata.map(|members| Value::Object(members).to_string()),
            recorded_by: record.recorded_by,
            prev_hash: record.prev_hash,
            hash: record.hash,
            content_hash: fingerprint,
        }
    }
}

impl RawRow {
    /// The row as one line of PostgreSQL `COPY ... (FORMAT csv)`: NULL is an empty unquoted
    /// field, every text is quoted.
    pub fn push_csv(&self, out: &mut Vec<u8>) {
        fn text(out: &mut Vec<u8>, value: &str) {
            out.push(b'"');
            for byte in value.bytes() {
                if byte == b'"' {
                    out.push(b'"');
                }
                out.push(byte);
            }
            out.push(b'"');
        }
        fn opt(out: &mut Vec<u8>, value: Option<&str>) {
            if let Some(value) = value {
                text(out, value);
            }
        }
        let time = |time: &DateTime<Utc>| timestamp::format(time);
        text(out, &self.org_id.to_string());
        out.push(b',');
        out.extend_from_slice(self.seq.to_string().as_bytes());
        out.push(b',');
        text(out, &self.id.to_string());
        out.push(b',');
        text(out, &time(&self.created_at));
        out.push(b',');
        text(out, &time(&self.occurred_at));
        out.push(b',');
        text(out, self.actor_type);
        let optionals: [Option<&str>; 15] = [
            self.user_id.as_deref(),
            self.api_key_id.as_deref(),
            self.user_org_role,
            self.project_id.as_deref(),
            self.user_project_role,
            Some(&self.resource_type),
            Some(&self.resource_id),
            Some(&self.action),
            self.before.as_deref(),
            self.after.as_deref(),
            self.ip_address.as_deref(),
            self.user_agent.as_deref(),
            self.request_id.as_deref(),
            self.trace_id.as_deref(),
            self.metadata.as_deref(),
        ];
        for value in optionals {
            out.push(b',');
            opt(out, value);
        }
        out.push(b',');
        opt(out, self.recorded_by.map(|id| id.to_string()).as_deref());
        for value in [&self.prev_hash, &self.hash, &self.content_hash] {
            out.push(b',');
            text(out, value);
        }
        out.push(b'\n');
    }

    /// The stored size of the row's values in bytes (text lengths, 16 per UUID, 8 per number
    /// and time): what "about 850 bytes per row" counts.
    pub fn payload_bytes(&self) -> usize {
        let texts = [
            self.user_id.as_deref(),
            self.api_key_id.as_deref(),
            self.user_org_role,
            self.project_id.as_deref(),
            self.user_project_role,
            Some(self.resource_type.as_str()),
            Some(self.resource_id.as_str()),
            Some(self.action.as_str()),
            self.before.as_deref(),
            self.after.as_deref(),
            self.ip_address.as_deref(),
            self.user_agent.as_deref(),
            self.request_id.as_deref(),
            self.trace_id.as_deref(),
            self.metadata.as_deref(),
            Some(self.actor_type),
            Some(self.prev_hash.as_str()),
            Some(self.hash.as_str()),
            Some(self.content_hash.as_str()),
        ];
        let text: usize = texts.iter().map(|value| value.map_or(0, str::len)).sum();
        text + 3 * 16 + 3 * 8
    }
}
