//! Building an [`AuditClient`].

use std::sync::Arc;
use std::time::Duration;

use crate::client::{AuditClient, ClientInner};
use crate::{ApiKeySecret, Error, Result, RetryPolicy};

/// The default timeout for establishing a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default timeout for one request, from sending it to reading the whole response.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Configures an [`AuditClient`]; start with [`AuditClient::builder`].
///
/// ```
/// use std::time::Duration;
/// use audit_client::{AuditClient, RetryPolicy};
///
/// let client = AuditClient::builder()
///     .base_url("http://127.0.0.1:8080")
///     .api_key("ak_0123456789abcdef")
///     .request_timeout(Duration::from_secs(10))
///     .retry_policy(RetryPolicy::default().with_max_retries(5))
///     .build()?;
/// # Ok::<(), audit_client::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: Option<String>,
    api_key: Option<ApiKeySecret>,
    connect_timeout: Duration,
    request_timeout: Duration,
    retry: RetryPolicy,
    http: Option<reqwest::Client>,
    user_agent: String,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            base_url: None,
            api_key: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            retry: RetryPolicy::default(),
            http: None,
            user_agent: concat!("audit-client-rust/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl ClientBuilder {
    /// A builder with the defaults: 5 s connect timeout, 30 s request timeout,
    /// [`RetryPolicy::default`], no base URL and no key.
    pub fn new() -> Self {
        ClientBuilder::default()
    }

    /// The service's address, e.g. `https://audit.example.com` (required). A path prefix is
    /// kept: `https://example.com/audit` calls `https://example.com/audit/api/v1/...`.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// The bearer secret: an API key, or the operator's admin token for the organization
    /// endpoints.
    pub fn api_key(mut self, api_key: impl Into<ApiKeySecret>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// How long to wait for a connection (ignored with [`ClientBuilder::http_client`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one attempt may take, response body included. Exports are streamed and are
    /// limited only until their headers arrive.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How transient failures are retried.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Uses this `reqwest::Client` (proxies, TLS roots, connection pools shared with the host
    /// app). Its own connect timeout and user agent then apply.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The `User-Agent` header (default `audit-client-rust/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Builds the client. Fails with [`Error::InvalidArgument`] without a base URL or with one
    /// that is not `http(s)://`, and with [`Error::Transport`] when the HTTP client cannot be
    /// built.
    pub fn build(self) -> Result<AuditClient> {
        let base_url = self
            .base_url
            .ok_or_else(|| Error::InvalidArgument("a base URL is required".into()))?;
        let parsed = reqwest::Url::parse(&base_url)
            .map_err(|error| Error::InvalidArgument(format!("base URL `{base_url}`: {error}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
            return Err(Error::InvalidArgument(format!(
                "base URL `{base_url}` must be http(s):// without a query"
            )));
        }
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .user_agent(self.user_agent)
                .build()
                .map_err(Error::Transport)?,
        };
        let base_url = parsed.as_str().trim_end_matches('/').to_owned();
        Ok(AuditClient {
            inner: Arc::new(ClientInner {
                written_seq: std::sync::atomic::AtomicI64::new(0),
                http,
                base_url,
                api_key: self.api_key,
                request_timeout: self.request_timeout,
                retry: self.retry,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_is_required_and_checked() {
        assert!(matches!(
            ClientBuilder::new().build(),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            ClientBuilder::new().base_url("ftp://x").build(),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            ClientBuilder::new().base_url("not a url").build(),
            Err(Error::InvalidArgument(_))
        ));
        let client = ClientBuilder::new()
            .base_url("http://localhost:8080/prefix/")
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "http://localhost:8080/prefix");
    }

    #[test]
    fn the_client_debug_output_hides_the_key() {
        let client = ClientBuilder::new()
            .base_url("http://localhost:8080")
            .api_key("ak_very_secret_value_42")
            .build()
            .unwrap();
        let printed = format!("{client:?}");
        assert!(!printed.contains("very_secret"), "{printed}");
    }
}
