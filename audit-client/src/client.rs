//! The typed client of every endpoint of the wire contract.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use audit_core::{
    ApiKey, ApiKeyList, AuditEvent, AuditLogFilter, AuditLogPage, AuditRecord, BatchResponse, CatalogEntry,
    CatalogResponse, CheckpointPublicKey, ConsistencyProof, CreatedApiKey, EncodedEvent, ExportFormat,
    InclusionProof, LogStream, LogStreamList, LogStreamUpdate, MAX_BATCH_EVENTS, NewApiKey, NewLogStream,
    NewOrganization, Organization, OrganizationList, PageParams, SignedCheckpointResponse,
    StreamDeadLetterPage, VerifyParams, VerifyReport,
};
use bytes::Bytes;
use futures::TryStreamExt;
use futures::stream::BoxStream;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::retry::{Jitter, parse_retry_after};
use crate::{ApiKeySecret, ClientBuilder, Error, Result, RetryPolicy};

/// A client of the audit log service. Cheap to clone: clones share one connection pool.
///
/// Every call carries the configured bearer secret; calls that may safely be repeated are
/// retried on transient failures according to the [`RetryPolicy`]. Recording is idempotent
/// because the client gives each event a UUIDv7 `id` before the first attempt.
#[derive(Clone)]
pub struct AuditClient {
    pub(crate) inner: Arc<ClientInner>,
}

pub(crate) struct ClientInner {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
    pub(crate) api_key: Option<ApiKeySecret>,
    pub(crate) request_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    /// The highest `seq` this client's writes produced (`X-Audit-Seq`), sent with every read
    /// as `X-Audit-Min-Seq` so that a read replica behind it is not read.
    pub(crate) written_seq: AtomicI64,
}

impl fmt::Debug for AuditClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditClient")
            .field("base_url", &self.inner.base_url)
            .field("api_key", &self.inner.api_key)
            .field("request_timeout", &self.inner.request_timeout)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// The body of an export, chunk by chunk, as the service streams it.
pub type ExportBody = BoxStream<'static, Result<Bytes>>;

/// The former name of [`ExportBody`] ("stream" now means log streams only).
#[deprecated(since = "0.1.0", note = "renamed to ExportBody")]
pub type ExportStream = ExportBody;

/// The response header naming the `seq` a write produced.
const SEQ_HEADER: &str = "x-audit-seq";
/// The request header naming the `seq` a read must see.
const MIN_SEQ_HEADER: &str = "x-audit-min-seq";

/// Which failures a call may retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Repeating the call is harmless: every retryable failure is retried.
    Idempotent,
    /// Repeating could act twice: only failures where the service certainly did nothing
    /// (could not connect, 429) are retried.
    ConnectOnly,
    /// The caller retries itself (the dispatcher).
    Never,
}

/// One request, replayable across attempts.
pub(crate) struct Call {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Bytes>,
    retry: Retry,
    accept: &'static str,
    headers: Vec<(&'static str, String)>,
}

impl Call {
    fn new(method: Method, path: impl Into<String>, retry: Retry) -> Self {
        Call {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            retry,
            accept: "application/json",
            headers: Vec::new(),
        }
    }

    pub(crate) fn get(path: impl Into<String>) -> Self {
        Call::new(Method::GET, path, Retry::Idempotent)
    }

    pub(crate) fn query(mut self, pairs: Vec<(&'static str, String)>) -> Self {
        self.query.extend(pairs);
        self
    }

    /// Sets the `Accept` header.
    pub(crate) fn accept(mut self, accept: &'static str) -> Self {
        self.accept = accept;
        self
    }

    /// Adds a request header.
    pub(crate) fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    fn json(mut self, body: &impl Serialize) -> Result<Self> {
        let bytes = serde_json::to_vec(body).map_err(|error| {
            Error::InvalidArgument(format!("the request body cannot be serialized: {error}"))
        })?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }
}

impl AuditClient {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client of `base_url` with `api_key` and the defaults.
    pub fn new(base_url: impl Into<String>, api_key: impl Into<ApiKeySecret>) -> Result<Self> {
        ClientBuilder::new().base_url(base_url).api_key(api_key).build()
    }

    /// The service's address, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    // ----- audit events -------------------------------------------------------------------

    /// Records one event (`POST /api/v1/audit-logs`) and returns the stored record.
    ///
    /// The event gets a UUIDv7 `id` before the first attempt unless it has one, so a retry
    /// after a lost response is answered with the stored record instead of storing it twice.
    /// The same `id` with different content is a 409 [`Error::Api`].
    pub async fn record(&self, mut event: AuditEvent) -> Result<AuditRecord> {
        event.ensure_id();
        let call = Call::new(Method::POST, "/api/v1/audit-logs", Retry::Idempotent).json(&event)?;
        self.json(call).await
    }

    /// Records 1 to 1,000 events in one transaction (`POST /api/v1/audit-logs/batch`) and
    /// returns each event's outcome (`created`, `duplicate` or `rejected` with its problem),
    /// in request order.
    ///
    /// Events get their UUIDv7 `id` before the first attempt, so retries are idempotent.
    pub async fn record_batch(&self, events: Vec<AuditEvent>) -> Result<BatchResponse> {
        if events.is_empty() || events.len() > MAX_BATCH_EVENTS {
            return Err(Error::InvalidArgument(format!(
                "a batch holds 1 to {MAX_BATCH_EVENTS} events, not {}",
                events.len()
            )));
        }
        let events: Vec<EncodedEvent> = events.into_iter().map(EncodedEvent::new).collect();
        self.send_batch(&events, Retry::Idempotent).await
    }

    /// Sends a batch of events already serialized (with their ids): `{"events":[...]}` is
    /// written around their texts, nothing is serialized again.
    pub(crate) async fn send_batch(&self, events: &[EncodedEvent], retry: Retry) -> Result<BatchResponse> {
        let size = events.iter().map(|event| event.as_str().len() + 1).sum::<usize>();
        let mut body = Vec::with_capacity(size + 12);
        body.extend_from_slice(b"{\"events\":[");
        for (index, event) in events.iter().enumerate() {
            if index > 0 {
                body.push(b',');
            }
            body.extend_from_slice(event.as_str().as_bytes());
        }
        body.extend_from_slice(b"]}");
        let mut call = Call::new(Method::POST, "/api/v1/audit-logs/batch", retry);
        call.body = Some(Bytes::from(body));
        self.json(call).await
    }

    /// Fetches one record (`GET /api/v1/audit-logs/{id}`); 404 when it does not exist or
    /// belongs to another organization.
    pub async fn get(&self, id: Uuid) -> Result<AuditRecord> {
        self.json(Call::get(format!("/api/v1/audit-logs/{id}"))).await
    }

    /// Fetches one page of records, newest first (`GET /api/v1/audit-logs`). Pass the page's
    /// `next_cursor` in [`PageParams::cursor`] for the next page, or use
    /// [`AuditClient::list_all`] to stream every page.
    pub async fn list(&self, filter: &AuditLogFilter, page: &PageParams) -> Result<AuditLogPage> {
        let mut pairs = filter.to_query_pairs();
        pairs.extend(page.to_query_pairs());
        self.json(Call::get("/api/v1/audit-logs").query(pairs)).await
    }

    /// Streams every record matching `filter` as CSV or JSONL, in chunks
    /// (`GET /api/v1/audit-logs/export`).
    ///
    /// Retries apply until the response headers arrive; the body is then streamed without
    /// the request timeout, however long the export.
    pub async fn export(&self, filter: &AuditLogFilter, format: ExportFormat) -> Result<ExportBody> {
        let mut pairs = filter.to_query_pairs();
        pairs.push(("format", format.as_str().to_owned()));
        let mut call = Call::get("/api/v1/audit-logs/export").query(pairs);
        call.accept = match format {
            ExportFormat::Csv => "text/csv, */*",
            ExportFormat::Jsonl => "application/x-ndjson, application/jsonl, */*",
        };
        let response = self.retrying(call.retry, || self.attempt(&call, false)).await?;
        Ok(Box::pin(response.bytes_stream().map_err(Error::from_reqwest)))
    }

    /// Checks the organization's tamper-evidence chain (`GET /api/v1/audit-logs/verify`).
    pub async fn verify(&self, params: VerifyParams) -> Result<VerifyReport> {
        let mut pairs = Vec::new();
        if let Some(from) = params.from_seq {
            pairs.push(("fromSeq", from.to_string()));
        }
        if let Some(to) = params.to_seq {
            pairs.push(("toSeq", to.to_string()));
        }
        self.json(Call::get("/api/v1/audit-logs/verify").query(pairs))
            .await
    }

    /// Record `id`'s inclusion proof in the organization's Merkle tree of `tree_size` leaves
    /// (the whole tree when `None`; `GET /api/v1/audit-logs/{id}/inclusion-proof`). Check it with
    /// [`InclusionProof::verify`], then that its `root_hash` is a signed checkpoint's.
    pub async fn inclusion_proof(&self, id: Uuid, tree_size: Option<u64>) -> Result<InclusionProof> {
        let pairs: Vec<_> = tree_size
            .map(|size| ("treeSize", size.to_string()))
            .into_iter()
            .collect();
        self.json(Call::get(format!("/api/v1/audit-logs/{id}/inclusion-proof")).query(pairs))
            .await
    }

    /// The proof that the organization's tree of `old_size` leaves is the start of its tree of
    /// `new_size` (the whole tree when `None`; `GET /api/v1/audit-logs/consistency-proof`).
    /// Check it with [`ConsistencyProof::verify`] and two signed checkpoints' roots.
    pub async fn consistency_proof(&self, old_size: u64, new_size: Option<u64>) -> Result<ConsistencyProof> {
        let mut pairs = vec![("oldSize", old_size.to_string())];
        pairs.extend(new_size.map(|size| ("newSize", size.to_string())));
        self.json(Call::get("/api/v1/audit-logs/consistency-proof").query(pairs))
            .await
    }

    /// Record `id`'s `c2sp.org/tlog-proof@v1` file (`GET /api/v1/audit-logs/{id}/tlog-proof`):
    /// the record, its inclusion proof and the cosigned checkpoint covering it. Keep the text;
    /// check it offline with [`audit_core::record_proof::verify_record_proof`] or
    /// `audit-verify --proof`.
    pub async fn tlog_proof(&self, id: Uuid) -> Result<String> {
        self.text(Call::get(format!("/api/v1/audit-logs/{id}/tlog-proof")).accept("text/plain"))
            .await
    }

    // ----- checkpoints ----------------------------------------------------------------------

    /// The organization's newest signed checkpoint, or the newest at or below `seq`
    /// (`GET /api/v1/checkpoints/latest`), with the witnesses' cosignatures.
    pub async fn latest_checkpoint(&self, seq: Option<i64>) -> Result<SignedCheckpointResponse> {
        let pairs = seq.map(|seq| ("seq", seq.to_string())).into_iter().collect();
        self.json(Call::get("/api/v1/checkpoints/latest").query(pairs))
            .await
    }

    /// The key that verifies the server's checkpoints (`GET /api/v1/checkpoints/public-key`),
    /// named by `org_id`'s origin when given. Fetch it once and keep it apart from the trail.
    pub async fn checkpoint_public_key(&self, org_id: Option<Uuid>) -> Result<CheckpointPublicKey> {
        let pairs = org_id.map(|org| ("orgId", org.to_string())).into_iter().collect();
        self.json(Call::get("/api/v1/checkpoints/public-key").query(pairs))
            .await
    }

    /// The tlog-policy `org_id`'s cosigned checkpoints satisfy (`GET /api/v1/checkpoints/policy`),
    /// as text; read it with [`audit_core::policy::Policy::parse`]. It is the server's own
    /// statement of its witnesses: check their keys with their operators before trusting it.
    pub async fn checkpoint_policy(&self, org_id: Uuid) -> Result<String> {
        let call = Call::get("/api/v1/checkpoints/policy")
            .query(vec![("orgId", org_id.to_string())])
            .accept("text/plain");
        self.text(call).await
    }

    // ----- catalog ------------------------------------------------------------------------

    /// The resource types and actions the caller may record (`GET /api/v1/catalog`).
    pub async fn catalog(&self) -> Result<CatalogResponse> {
        self.json(Call::get("/api/v1/catalog")).await
    }

    /// Adds a resource type and its actions to the organization's catalog
    /// (`POST /api/v1/organizations/{orgId}/catalog`) and returns the catalog now in force.
    pub async fn add_catalog_entry(&self, org_id: Uuid, entry: CatalogEntry) -> Result<CatalogResponse> {
        let call = Call::new(
            Method::POST,
            format!("/api/v1/organizations/{org_id}/catalog"),
            Retry::Idempotent,
        )
        .json(&entry)?;
        self.json(call).await
    }

    // ----- organizations and keys -----------------------------------------------------------

    /// Creates an organization (`POST /api/v1/organizations`, admin token).
    ///
    /// Not idempotent: retried only when the service certainly did not act.
    pub async fn create_organization(&self, organization: NewOrganization) -> Result<Organization> {
        let call =
            Call::new(Method::POST, "/api/v1/organizations", Retry::ConnectOnly).json(&organization)?;
        self.json(call).await
    }

    /// Lists every organization (`GET /api/v1/organizations`, admin token), oldest first.
    pub async fn list_organizations(&self) -> Result<Vec<Organization>> {
        let list: OrganizationList = self.json(Call::get("/api/v1/organizations")).await?;
        Ok(list.data)
    }

    /// Creates an API key of the organization (`POST /api/v1/organizations/{orgId}/api-keys`,
    /// admin token or a key with `apiKeys:manage`). The returned secret is shown only now.
    ///
    /// Not idempotent: retried only when the service certainly did not act.
    pub async fn create_api_key(&self, org_id: Uuid, key: NewApiKey) -> Result<CreatedApiKey> {
        let call = Call::new(
            Method::POST,
            format!("/api/v1/organizations/{org_id}/api-keys"),
            Retry::ConnectOnly,
        )
        .json(&key)?;
        self.json(call).await
    }

    /// Lists the organization's API keys, revoked ones included, without secrets.
    pub async fn list_api_keys(&self, org_id: Uuid) -> Result<Vec<ApiKey>> {
        let list: ApiKeyList = self
            .json(Call::get(format!("/api/v1/organizations/{org_id}/api-keys")))
            .await?;
        Ok(list.data)
    }

    /// Revokes an API key (`DELETE /api/v1/organizations/{orgId}/api-keys/{keyId}`); it stops
    /// working at once.
    pub async fn revoke_api_key(&self, org_id: Uuid, key_id: Uuid) -> Result<()> {
        let path = format!("/api/v1/organizations/{org_id}/api-keys/{key_id}");
        self.buffered(Call::new(Method::DELETE, path, Retry::Idempotent))
            .await
            .map(drop)
    }

    // ----- log streams ----------------------------------------------------------------------

    /// Creates a log stream of the key's organization (`POST /api/v1/streams`, an
    /// organization-level key with `apiKeys:manage`). The secret is stored encrypted and never
    /// returned.
    ///
    /// Not idempotent: retried only when the service certainly did not act.
    pub async fn create_stream(&self, stream: &NewLogStream) -> Result<LogStream> {
        let call = Call::new(Method::POST, "/api/v1/streams", Retry::ConnectOnly).json(stream)?;
        self.json(call).await
    }

    /// Lists the organization's log streams with their cursor and health, oldest first.
    pub async fn list_streams(&self) -> Result<Vec<LogStream>> {
        let list: LogStreamList = self.json(Call::get("/api/v1/streams")).await?;
        Ok(list.data)
    }

    /// One log stream (`GET /api/v1/streams/{streamId}`).
    pub async fn get_stream(&self, stream_id: Uuid) -> Result<LogStream> {
        self.json(Call::get(format!("/api/v1/streams/{stream_id}"))).await
    }

    /// Changes a log stream's name, destination, secret or filter (`PATCH /api/v1/streams/{streamId}`).
    pub async fn update_stream(&self, stream_id: Uuid, update: &LogStreamUpdate) -> Result<LogStream> {
        let call = Call::new(
            Method::PATCH,
            format!("/api/v1/streams/{stream_id}"),
            Retry::Idempotent,
        )
        .json(update)?;
        self.json(call).await
    }

    /// Pauses a log stream; records wait behind its cursor.
    pub async fn pause_stream(&self, stream_id: Uuid) -> Result<LogStream> {
        let path = format!("/api/v1/streams/{stream_id}/pause");
        self.json(Call::new(Method::POST, path, Retry::Idempotent)).await
    }

    /// Resumes a paused log stream from its cursor.
    pub async fn resume_stream(&self, stream_id: Uuid) -> Result<LogStream> {
        let path = format!("/api/v1/streams/{stream_id}/resume");
        self.json(Call::new(Method::POST, path, Retry::Idempotent)).await
    }

    /// Deletes a log stream (`DELETE /api/v1/streams/{streamId}`).
    pub async fn delete_stream(&self, stream_id: Uuid) -> Result<()> {
        let path = format!("/api/v1/streams/{stream_id}");
        self.buffered(Call::new(Method::DELETE, path, Retry::Idempotent))
            .await
            .map(drop)
    }

    /// One page of a log stream's dead letters (`GET /api/v1/streams/{streamId}/dead-letters`):
    /// the records its destination refused for good, set aside, oldest `seq` first. Pass the
    /// page's `next_cursor` as `cursor` for the next one; `limit` is 1 to 1,000 (default 100).
    pub async fn list_stream_dead_letters(
        &self,
        stream_id: Uuid,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<StreamDeadLetterPage> {
        let mut pairs = Vec::new();
        if let Some(limit) = limit {
            pairs.push(("limit", limit.to_string()));
        }
        if let Some(cursor) = cursor {
            pairs.push(("cursor", cursor.to_owned()));
        }
        let path = format!("/api/v1/streams/{stream_id}/dead-letters");
        self.json(Call::get(path).query(pairs)).await
    }

    /// Sends a dead letter to the stream's destination again, now
    /// (`POST /api/v1/streams/{streamId}/dead-letters/{seq}/retry`). `Ok` once delivered (it
    /// leaves the list); a refusal is an error with status 502 carrying the destination's
    /// answer, and the dead letter stays listed.
    ///
    /// Not idempotent: retried only when the service certainly did not act.
    pub async fn retry_stream_dead_letter(&self, stream_id: Uuid, seq: i64) -> Result<()> {
        let path = format!("/api/v1/streams/{stream_id}/dead-letters/{seq}/retry");
        self.buffered(Call::new(Method::POST, path, Retry::ConnectOnly))
            .await
            .map(drop)
    }

    /// Removes a dead letter from the list without sending it
    /// (`DELETE /api/v1/streams/{streamId}/dead-letters/{seq}`); the record stays in the trail.
    pub async fn discard_stream_dead_letter(&self, stream_id: Uuid, seq: i64) -> Result<()> {
        let path = format!("/api/v1/streams/{stream_id}/dead-letters/{seq}");
        self.buffered(Call::new(Method::DELETE, path, Retry::Idempotent))
            .await
            .map(drop)
    }

    // ----- plumbing -------------------------------------------------------------------------

    /// One attempt at a streaming call: answers once the headers arrive (within the request
    /// timeout); the body is then read without a time limit.
    pub(crate) async fn open_stream(&self, call: &Call) -> Result<Response> {
        self.attempt(call, false).await
    }

    async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        let body = self.buffered(call).await?;
        serde_json::from_slice(&body).map_err(|source| Error::Decode {
            source,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// The success body as text (a byte that is not UTF-8 becomes U+FFFD, so a damaged
    /// proof or policy fails its own check rather than the call).
    async fn text(&self, call: Call) -> Result<String> {
        let body = self.buffered(call).await?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// Sends the call with retries and reads the whole success body.
    async fn buffered(&self, call: Call) -> Result<Bytes> {
        self.retrying(call.retry, || async {
            let response = self.attempt(&call, true).await?;
            response.bytes().await.map_err(Error::from_reqwest)
        })
        .await
    }

    async fn retrying<T, F, Fut>(&self, retry: Retry, mut operation: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let policy = &self.inner.retry;
        let mut jitter = None;
        let mut retries = 0;
        loop {
            let error = match operation().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let allowed = match retry {
                Retry::Idempotent => error.is_retryable(),
                Retry::ConnectOnly => error.is_connect() || error.status().is_some_and(|s| s.as_u16() == 429),
                Retry::Never => false,
            };
            if !allowed || retries >= policy.max_retries {
                return Err(error);
            }
            let delay = policy.delay(
                retries,
                error.retry_after(),
                jitter.get_or_insert_with(Jitter::new),
            );
            tracing::debug!(%error, retry = retries + 1, ?delay, "retrying an audit service call");
            tokio::time::sleep(delay).await;
            retries += 1;
        }
    }

    /// One attempt: sends the request and turns an error status into [`Error::Api`].
    async fn attempt(&self, call: &Call, timed: bool) -> Result<Response> {
        let inner = &self.inner;
        let url = format!("{}{}", inner.base_url, call.path);
        let mut request = inner
            .http
            .request(call.method.clone(), url)
            .header(ACCEPT, call.accept);
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        if let Some(key) = &inner.api_key {
            request = request.bearer_auth(key.expose());
        }
        let written_seq = inner.written_seq.load(Ordering::Relaxed);
        if call.method == Method::GET && written_seq > 0 {
            request = request.header(MIN_SEQ_HEADER, written_seq);
        }
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = if timed {
            request.timeout(inner.request_timeout).send().await
        } else {
            // Only the wait for the headers is limited: the streamed body may take as long as it takes.
            match tokio::time::timeout(inner.request_timeout, request.send()).await {
                Ok(response) => response,
                Err(_) => return Err(Error::Timeout),
            }
        }
        .map_err(Error::from_reqwest)?;
        let status = response.status();
        if status.is_success() {
            let seq = response
                .headers()
                .get(SEQ_HEADER)
                .and_then(|value| value.to_str().ok()?.parse().ok());
            if let Some(seq) = seq {
                inner.written_seq.fetch_max(seq, Ordering::Relaxed);
            }
            return Ok(response);
        }
        let retry_after = parse_retry_after(response.headers());
        let body = response.bytes().await.map_err(Error::from_reqwest)?;
        Err(Error::from_response(status, &body, retry_after))
    }
}
