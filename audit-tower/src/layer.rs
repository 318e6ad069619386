//! The layer and its builder: [`AuditLayer`], a cheap clonable handle on one configuration
//! that wraps services in [`Audit`], and [`AuditLayerBuilder`], which sets that configuration
//! up once (the defaults are here).
//!
//! The configuration is fixed when the layer is built; the layer's clones and every service
//! it builds share it, and its counters, through one `Arc`.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tower::Layer;

use crate::actor::{DefaultActorExtractor, ExtractActor, MissingActor};
use crate::capture::{LoadBefore, TrustedProxies};
use crate::drop_log::DropLog;
use crate::redact::Redactor;
use crate::rules::{RouteSlot, Rule, Rules};
use crate::service::Audit;
use crate::shared::{ServiceState, Shared};
use crate::sink::AuditSink;
use crate::stats::{AuditStats, Counters};

/// The default body limit: response bodies up to 64 KiB are kept as the `after` state.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// A [`Layer`] that wraps services in [`Audit`]: a cheap, clonable handle on one configuration.
///
/// Place it inside the host's authentication middleware (in axum: `.layer(audit)` before
/// `.layer(auth)`), so that the actor is known when a request reaches it.
#[derive(Clone)]
pub struct AuditLayer {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for AuditLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLayer")
            .field("rules", &self.shared.rules.rules)
            .field("body_limit", &self.shared.body_limit)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl AuditLayer {
    /// A layer with the defaults, sending events to `sink` (usually a
    /// [`Dispatcher`](audit_client::Dispatcher)).
    pub fn new(sink: impl AuditSink) -> Self {
        AuditLayer::builder(sink).build()
    }

    /// A builder for a layer sending events to `sink`.
    pub fn builder(sink: impl AuditSink) -> AuditLayerBuilder {
        AuditLayerBuilder {
            shared: Shared {
                sink: Box::new(sink),
                rules: Rules::default(),
                actor: Box::new(DefaultActorExtractor),
                missing_actor: MissingActor::default(),
                loaders: HashMap::new(),
                before_timeout: Duration::from_secs(2),
                body_limit: DEFAULT_BODY_LIMIT,
                max_state_bytes: 256 * 1024,
                record_failures: false,
                redactor: Redactor::default(),
                trusted: TrustedProxies::default(),
                stats: Counters::default(),
                drops: DropLog::default(),
            },
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> AuditStats {
        self.shared.stats.snapshot()
    }
}

impl<S> Layer<S> for AuditLayer {
    type Service = Audit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Audit {
            inner,
            state: Arc::new(ServiceState {
                shared: self.shared.clone(),
                route: RouteSlot::default(),
            }),
        }
    }
}

/// Configures an [`AuditLayer`]; from [`AuditLayer::builder`].
pub struct AuditLayerBuilder {
    shared: Shared,
}

impl fmt::Debug for AuditLayerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLayerBuilder")
            .field("rules", &self.shared.rules.rules)
            .finish_non_exhaustive()
    }
}

impl AuditLayerBuilder {
    /// Adds a rule; rules are tried in the order added, before the defaults.
    pub fn with_rule(mut self, rule: Rule) -> Self {
        self.shared.rules.push(rule);
        self
    }

    /// Never audits `method` on the path template `path`.
    pub fn with_skipped(self, method: http::Method, path: &str) -> Self {
        self.with_rule(Rule::skip(method, path))
    }

    /// How the actor is found (default: [`DefaultActorExtractor`]).
    pub fn with_actor_extractor(mut self, extractor: impl ExtractActor) -> Self {
        self.shared.actor = Box::new(extractor);
        self
    }

    /// What to do when no actor is found (default: [`MissingActor::Skip`]).
    pub fn with_missing_actor(mut self, policy: MissingActor) -> Self {
        self.shared.missing_actor = policy;
        self
    }

    /// Loads the `before` state of `resource_type` resources, before the inner service runs.
    pub fn with_before_loader(mut self, resource_type: impl Into<String>, loader: impl LoadBefore) -> Self {
        self.shared.loaders.insert(resource_type.into(), Box::new(loader));
        self
    }

    /// How long a before-state loader may take before the request goes on without it
    /// (default 2 s).
    pub fn with_before_timeout(mut self, timeout: Duration) -> Self {
        self.shared.before_timeout = timeout;
        self
    }

    /// The largest response (or request) body copied for the audit, in bytes (default
    /// [`DEFAULT_BODY_LIMIT`]). Larger bodies pass through and are recorded without `after`.
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.shared.body_limit = bytes;
        self
    }

    /// The largest `before` or `after` value sent, serialized (default 256 KiB, the service's
    /// own default limit); a larger one is left out rather than have the event refused.
    pub fn with_max_state_bytes(mut self, bytes: usize) -> Self {
        self.shared.max_state_bytes = bytes;
        self
    }

    /// Also records requests answered with a non-2xx status, with `status` and
    /// `"outcome": "failure"` in the metadata (default: only 2xx are recorded).
    pub fn with_failures_recorded(mut self, record: bool) -> Self {
        self.shared.record_failures = record;
        self
    }

    /// Masks these keys too, besides the built-in sensitive names.
    pub fn with_redacted_keys<I, K>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: AsRef<str>,
    {
        for key in keys {
            self.shared.redactor = self.shared.redactor.with_key(key);
        }
        self
    }

    /// Trusts these proxies' `Forwarded` and `X-Forwarded-For` headers.
    pub fn with_trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        for proxy in proxies {
            let prefix = if proxy.is_ipv4() { 32 } else { 128 };
            self.shared.trusted.0.push((proxy, prefix));
        }
        self
    }

    /// Trusts every proxy in the network `address/prefix_len` (e.g. `10.0.0.0/8`).
    pub fn with_trusted_network(mut self, address: IpAddr, prefix_len: u8) -> Self {
        self.shared.trusted.0.push((address, prefix_len));
        self
    }

    /// The path parameters that name the project, tried in order (default `projectId`,
    /// `project_id`).
    pub fn with_project_params<I, K>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: Into<String>,
    {
        self.shared.rules.project_params = names.into_iter().map(Into::into).collect();
        self
    }

    /// The layer.
    pub fn build(self) -> AuditLayer {
        AuditLayer {
            shared: Arc::new(self.shared),
        }
    }
}
