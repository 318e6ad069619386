//! Where a request came from, as the event records it: the client IP, user agent, request id
//! and W3C trace id.
//!
//! The client IP is the connection's peer; `Forwarded` / `X-Forwarded-For` are believed only
//! when that peer is a trusted proxy, and then the nearest hop they name that is not itself
//! trusted is taken (counting back from the peer, so an address a client made up is not).

use std::net::IpAddr;

use http::header;
use http::request::Parts;

use super::bounded_text::{MAX_ID_CHARS, header_text, truncate};
use super::trusted_proxies::{TrustedProxies, canonical_ip};

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

const MAX_USER_AGENT_CHARS: usize = 1024;

/// What `parts` tell of where the request came from, believing forwarding headers only from
/// `trusted` proxies.
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
