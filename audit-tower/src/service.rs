//! The middleware service.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use tower::Service;

use crate::body::{AuditBody, tee_request_body};
use crate::capture::prepare;
use crate::future::ResponseFuture;
use crate::shared::ServiceState;

/// Records the create, update and delete requests that pass through `S` as audit events.
/// Built by [`AuditLayer`](crate::AuditLayer).
///
/// Auditing never fails or delays a request beyond its before-state loader: the error type
/// is the inner service's, events are queued without waiting, and the response body reaches
/// the client unchanged.
pub struct Audit<S> {
    pub(crate) inner: S,
    pub(crate) state: Arc<ServiceState>,
}

impl<S: Clone> Clone for Audit<S> {
    fn clone(&self) -> Self {
        Audit {
            inner: self.inner.clone(),
            state: self.state.clone(),
        }
    }
}

impl<S: std::fmt::Debug> std::fmt::Debug for Audit<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S> Audit<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Audit<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ReqBody: 'static,
    ResBody: Body,
{
    type Response = Response<AuditBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let shared = &self.state.shared;
        if !shared.rules.may_audit(request.method()) {
            return ResponseFuture::calling(self.inner.call(request), None);
        }
        let (parts, mut body) = request.into_parts();
        let Some(prepared) = prepare(&self.state, &parts) else {
            return ResponseFuture::calling(self.inner.call(Request::from_parts(parts, body)), None);
        };
        if let Some(tee) = &prepared.pending.request_body {
            tee_request_body(&mut body, tee.clone());
        }
        let request = Request::from_parts(parts, body);
        match prepared.load {
            None => ResponseFuture::calling(self.inner.call(request), Some(prepared.pending)),
            Some(load) => {
                let timeout = shared.before_timeout;
                // The service that was polled ready goes with the future; a clone stays here.
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::loading(load, timeout, ready, request, prepared.pending)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    use audit_core::AuditEvent;
    use bytes::Bytes;
    use http::{Method, Request, Response};
    use http_body_util::{BodyExt, Full};
    use tower::{Layer, ServiceExt};

    use crate::{Actor, AuditLayer, Rule};

    fn layer(events: &Arc<Mutex<Vec<AuditEvent>>>) -> AuditLayer {
        let events = events.clone();
        AuditLayer::builder(move |event: AuditEvent| {
            events.lock().unwrap().push(event);
            true
        })
        .with_rule(Rule::new(Method::PUT, "/items/{itemId}"))
        .with_before_loader("item", |_| async { Some(serde_json::json!({ "n": 1 })) })
        .build()
    }

    fn put() -> Request<Full<Bytes>> {
        let mut request = Request::builder()
            .method(Method::PUT)
            .uri("/items/i_1")
            .body(Full::new(Bytes::new()))
            .unwrap();
        request.extensions_mut().insert(Actor::user("u_1"));
        request
    }

    fn json_ok() -> impl tower::Service<
        Request<Full<Bytes>>,
        Response = Response<Full<Bytes>>,
        Error = Infallible,
        Future = impl Send,
    > + Clone {
        tower::service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(
                Response::builder()
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from_static(br#"{"n":2}"#)))
                    .unwrap(),
            )
        })
    }

    #[tokio::test]
    async fn a_slow_loader_is_waited_for_and_a_stuck_one_given_up_after_the_timeout() {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = {
            let events = events.clone();
            move |event: AuditEvent| {
                events.lock().unwrap().push(event);
                true
            }
        };
        let layer = AuditLayer::builder(sink)
            .with_rule(Rule::new(Method::PUT, "/items/{itemId}"))
            .with_rule(Rule::new(Method::PUT, "/stuck/{stuckId}"))
            .with_before_loader("item", |_| async {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                Some(serde_json::json!({ "n": 1 }))
            })
            .with_before_loader("stuck", |_| std::future::pending::<Option<serde_json::Value>>())
            .with_before_timeout(std::time::Duration::from_millis(50))
            .build();
        for uri in ["/items/i_1", "/stuck/s_1"] {
            let mut request = put();
            *request.uri_mut() = uri.parse().unwrap();
            let response = layer.layer(json_ok()).oneshot(request).await.unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], br#"{"n":2}"#, "{uri} is answered");
        }
        let events = events.lock().unwrap();
        let befores: Vec<_> = events
            .iter()
            .map(|e| (e.resource_id.as_str(), e.before.clone()))
            .collect();
        assert_eq!(
            befores,
            [("i_1", Some(serde_json::json!({ "n": 1 }))), ("s_1", None)]
        );
    }

    /// Sends a PUT through `layer` to a JSON answer and returns the body the client got.
    async fn answered(layer: &AuditLayer) -> Bytes {
        let response = layer.layer(json_ok()).oneshot(put()).await.unwrap();
        response.into_body().collect().await.unwrap().to_bytes()
    }

    #[tokio::test]
    async fn a_panicking_hook_costs_at_most_its_event_never_the_response() {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = |events: &Arc<Mutex<Vec<AuditEvent>>>| {
            let events = events.clone();
            move |event: AuditEvent| {
                events.lock().unwrap().push(event);
                true
            }
        };
        let rule = || Rule::new(Method::PUT, "/items/{itemId}");

        // A loader that panics when called, and one whose future panics when polled: the event
        // is recorded without `before`.
        let called = AuditLayer::builder(sink(&events))
            .with_rule(rule())
            .with_before_loader("item", |_| -> std::future::Ready<Option<serde_json::Value>> {
                panic!("loader called")
            })
            .build();
        let polled = AuditLayer::builder(sink(&events))
            .with_rule(rule())
            .with_before_loader("item", |_| async {
                panic!("loader polled");
                #[allow(unreachable_code)]
                None::<serde_json::Value>
            })
            .build();
        for layer in [&called, &polled] {
            assert_eq!(&answered(layer).await[..], br#"{"n":2}"#);
            assert_eq!(layer.stats().recorded, 1);
            assert_eq!(layer.stats().failed, 0);
        }
        let befores: Vec<_> = events.lock().unwrap().iter().map(|e| e.before.clone()).collect();
        assert_eq!(befores, [None, None]);
        let afters = events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.after.is_some())
            .count();
        assert_eq!(afters, 2, "the rest of each event is there");

        // An actor extractor or a sink that panics: the event is lost and counted, the
        // response is whole, and the layer answers the next request as well.
        let extractor = AuditLayer::builder(sink(&events))
            .with_rule(rule())
            .with_actor_extractor(|_: &http::request::Parts| -> Option<crate::Actor> { panic!("extractor") })
            .build();
        let failing_sink = AuditLayer::builder(|_: AuditEvent| -> bool { panic!("sink") })
            .with_rule(rule())
            .build();
        for layer in [&extractor, &failing_sink] {
            assert_eq!(&answered(layer).await[..], br#"{"n":2}"#);
            assert_eq!(&answered(layer).await[..], br#"{"n":2}"#);
            assert_eq!((layer.stats().recorded, layer.stats().failed), (0, 2));
        }
        assert_eq!(events.lock().unwrap().len(), 2, "nothing more was recorded");
    }

    #[tokio::test]
    async fn the_inner_error_passes_through_and_nothing_is_recorded() {
        let events = Arc::new(Mutex::new(Vec::new()));
        let failing = tower::service_fn(|_: Request<Full<Bytes>>| async {
            Err::<Response<Full<Bytes>>, &'static str>("boom")
        });
        let result = layer(&events).layer(failing).oneshot(put()).await;
        assert_eq!(result.err(), Some("boom"));
        assert!(events.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_event_is_handed_over_when_the_body_ends() {
        let events = Arc::new(Mutex::new(Vec::new()));
        let response = layer(&events).layer(json_ok()).oneshot(put()).await.unwrap();
        assert!(events.lock().unwrap().is_empty(), "not before the body is done");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], br#"{"n":2}"#);
        let events = events.lock().unwrap();
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(
            (
                event.resource_type.as_str(),
                event.resource_id.as_str(),
                event.action.as_str()
            ),
            ("item", "i_1", "update")
        );
        assert_eq!(event.before, Some(serde_json::json!({ "n": 1 })));
        assert_eq!(event.after, Some(serde_json::json!({ "n": 2 })));
        assert_eq!(event.user_id.as_deref(), Some("u_1"));
    }
}
