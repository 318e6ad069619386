//! The state a layer shares with its services: the configuration of one layer ([`Shared`],
//! behind one `Arc` for the layer, its clones and every service they build) and, per
//! service, the route its requests match ([`ServiceState`]).
//!
//! Built once by the layer's builder and never changed after, but for the counters.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::actor::{ExtractActor, MissingActor};
use crate::capture::{LoadBefore, TrustedProxies};
use crate::drop_log::DropLog;
use crate::redact::Redactor;
use crate::rules::{RouteSlot, Rules};
use crate::sink::AuditSink;
use crate::stats::Counters;

/// The configuration every [`Audit`](crate::Audit) service of one layer shares.
pub(crate) struct Shared {
    pub(crate) sink: Box<dyn AuditSink>,
    pub(crate) rules: Rules,
    pub(crate) actor: Box<dyn ExtractActor>,
    pub(crate) missing_actor: MissingActor,
    pub(crate) loaders: HashMap<String, Box<dyn LoadBefore>>,
    pub(crate) before_timeout: Duration,
    pub(crate) body_limit: usize,
    pub(crate) max_state_bytes: usize,
    pub(crate) record_failures: bool,
    pub(crate) redactor: Redactor,
    pub(crate) trusted: TrustedProxies,
    pub(crate) stats: Counters,
    pub(crate) drops: DropLog,
}

/// What one [`Audit`](crate::Audit) service and its clones share: the layer's configuration
/// and the route its requests match.
pub(crate) struct ServiceState {
    pub(crate) shared: Arc<Shared>,
    pub(crate) route: RouteSlot,
}
