//! The shared vocabulary of the audit log service.
//!
//! Everything here is plain data and pure functions, used alike by the server, the SDK, the
//! tower layer and the offline verifier: the event a host app records ([`AuditEvent`]), the
//! stored record ([`AuditRecord`]), actors and roles with Langfuse's `auditLogs:read` rule,
//! the resource/action [`Catalog`], query filters and the opaque keyset [`Cursor`], and the
//! tamper-evidence chain over RFC 8785 canonical JSON.
//!
//! ```
//! use audit_core::{AuditEvent, Catalog, EventLimits, Role, can_read_audit_logs};
//!
//! let mut event = AuditEvent::by_user("u_123", "prompt", "pr_9", "update");
//! event.project_id = Some("p_1".into());
//! event.before = Some(serde_json::json!({ "prompt": "Hi" }));
//! event.after = Some(serde_json::json!({ "prompt": "Hello" }));
//! event.ensure_id();
//!
//! assert!(event.validate(&EventLimits::default()).is_ok());
//! assert!(Catalog::langfuse().allows(&event.resource_type, &event.action));
//! assert!(can_read_audit_logs(Role::Member, Some(Role::Admin)));
//! ```
//!
//! With the `utoipa` feature every wire type derives `utoipa::ToSchema`.

mod actor;
mod api_key;
mod batch;
pub mod canonical;
mod catalog;
pub mod chain;
pub mod checkpoint;
mod checkpoint_api;
pub mod cosignature;
mod cursor;
mod encoded;
mod event;
mod json_scan;
mod json_tree;
pub mod merkle;
pub mod note;
mod organization;
mod page;
pub mod policy;
mod problem;
mod proof_api;
mod query;
mod record;
pub mod record_proof;
mod record_view;
mod retention;
mod role;
mod scope;
mod stream;
mod stream_dead_letter;
mod stream_destinations;
mod stream_privacy;
pub mod timestamp;
pub mod tlog_proof;
mod validation;
mod verify;
mod viewer;
pub mod witness_protocol;

pub use actor::ActorType;
pub use api_key::{ApiKey, ApiKeyList, CreatedApiKey, NewApiKey};
pub use batch::{BatchItemResult, BatchItemStatus, BatchRequest, BatchResponse, MAX_BATCH_EVENTS};
pub use catalog::{Catalog, CatalogEntry, CatalogParseError, CatalogResponse, CatalogViolation, check_name};
pub use chain::{BreakKind, ChainBreak, ChainVerifier, GENESIS_HASH};
pub use checkpoint_api::{CheckpointCosignature, CheckpointPublicKey, SignedCheckpointResponse};
pub use cursor::{Cursor, InvalidCursor};
pub use encoded::{EncodedEvent, JsonMember, RawJson};
pub use event::AuditEvent;
pub use json_tree::JsonTree;
pub use organization::{NewOrganization, Organization, OrganizationList};
pub use page::AuditLogPage;
pub use problem::{FieldError, MAX_DISPLAY_NAME_CHARS, Problem, check_display_name};
pub use proof_api::{ConsistencyProof, InclusionProof, decode_hash, encode_hash};
pub use query::{
    AuditLogFilter, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageParams, ParsedQuery, QueryError, parse_query,
};
pub use record::AuditRecord;
pub use record_view::RecordView;
pub use retention::{MAX_RETENTION_SECONDS, PurgeReport, RetentionPolicy};
pub use role::{Role, can_read_audit_logs, effective_role};
pub use scope::Scope;
pub use stream::{
    DatadogDestination, FileDestination, LogStream, LogStreamList, LogStreamUpdate, NewLogStream,
    SplunkHecDestination, StreamDestination, StreamFilter, StreamFormat, StreamHealth, StreamHealthStatus,
    StreamState, WebhookDestination,
};
pub use stream_dead_letter::{
    DEFAULT_STREAM_MAX_ATTEMPTS, MAX_STREAM_MAX_ATTEMPTS, StreamDeadLetter, StreamDeadLetterPage,
};
pub use stream_destinations::{OtlpDestination, S3Destination, SyslogDestination, SyslogPayload, SyslogTls};
pub use stream_privacy::{PRIVACY_FIELDS, PRIVACY_PATH_ROOTS, PrivacyAction, PrivacyPolicy, PrivacyRule};
pub use validation::{EventLimits, EventViolation};
pub use verify::{VerifyParams, VerifyReport};
pub use viewer::{ExportFormat, NewViewerToken, ViewerToken};
