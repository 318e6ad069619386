//! The middleware service.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use tower::Service;

use crate::body::{AuditBody, tee_request_body};
use crate::capture::prepare;
use crate::future::ResponseFuture;
use crate::layer::Shared;

/// Records the create, update and delete requests that pass through `S` as audit events.
/// Built by [`AuditLayer`](crate::AuditLayer).
///
/// Auditing never fails or delays a request beyond its before-state loader: the error type
/// is the inner service's, events are queued without waiting, and the response body reaches
/// the client unchanged.
pub struct Audit<S> {
    pub(crate) inner: S,
    pub(crate) shared: Arc<Shared>,
}

impl<S: Clone> Clone for Audit<S> {
    fn clone(&self) -> Self {
        Audit {
            inner: self.inner.clone(),
            shared: self.shared.clone(),
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
        if !self.shared.rules.may_audit(request.method()) {
            return ResponseFuture::calling(self.inner.call(request), None);
        }
        let (parts, mut body) = request.into_parts();
        let prepared = prepare(&self.shared, &parts);
        let Some(prepared) = prepared else {
            return ResponseFuture::calling(self.inner.call(Request::from_parts(parts, body)), None);
        };
        if let Some(tee) = &prepared.pending.request_body {
            tee_request_body(&mut body, tee.clone());
        }
        let request = Request::from_parts(parts, body);
        match prepared.load {
            None => ResponseFuture::calling(self.inner.call(request), Some(prepared.pending)),
            Some(load) => {
                // The service that was polled ready goes with the future; a clone stays here.
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::loading(load, ready, request, prepared.pending)
            }
        }
    }
}
