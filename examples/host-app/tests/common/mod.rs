//! What the host app's in-process tests share: the caller they act as, and how they ask.

#![allow(dead_code)]

use std::net::SocketAddr;

use axum::body::Body;
use serde_json::Value;

/// The `traceparent` every request carries, and the trace id the records must show.
pub const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
pub const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";

/// The client's address the records must show.
pub fn peer() -> SocketAddr {
    "198.51.100.23:40000".parse().unwrap()
}

/// A request by user `u_42` (organization `MEMBER`, project `ADMIN`) from curl, with
/// `request_id` and [`TRACEPARENT`], and `body` as JSON when given.
pub fn request(method: &str, uri: &str, request_id: &str, body: Option<Value>) -> axum::http::Request<Body> {
    axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("x-user-id", "u_42")
        .header("x-org-role", "MEMBER")
        .header("x-project-role", "ADMIN")
        .header("user-agent", "curl/8.5.0")
        .header("x-request-id", request_id)
        .header("traceparent", TRACEPARENT)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap()
}
