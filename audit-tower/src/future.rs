//! The response future of [`Audit`](crate::Audit).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tower::Service;

use crate::body::AuditBody;
use crate::capture::{AuditState, BEFORE_LOADER, BoxFuture, Pending};
use crate::contain::contained;

pin_project! {
    /// The response future of [`Audit`](crate::Audit): loads the state before the request
    /// when a loader is registered, then polls the inner service and wraps its response body.
    /// Its error is the inner service's, untouched.
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S, B>,
        pending: Option<Box<Pending>>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, B>
    where
        S: Service<Request<B>>,
    {
        Loading {
            load: BoxFuture<'static, Option<AuditState>>,
            // Started only if the load does not finish at once.
            timer: Option<Pin<Box<Sleep>>>,
            timeout: Duration,
            service: Option<S>,
            request: Option<Request<B>>,
        },
        Calling {
            #[pin]
            future: S::Future,
        },
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    pub(crate) fn calling(future: S::Future, pending: Option<Box<Pending>>) -> Self {
        ResponseFuture {
            state: State::Calling { future },
            pending,
        }
    }

    pub(crate) fn loading(
        load: BoxFuture<'static, Option<AuditState>>,
        timeout: Duration,
        service: S,
        request: Request<B>,
        pending: Box<Pending>,
    ) -> Self {
        ResponseFuture {
            state: State::Loading {
                load,
                timer: None,
                timeout,
                service: Some(service),
                request: Some(request),
            },
            pending: Some(pending),
        }
    }
}

impl<S, B, ResBody> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    ResBody: Body,
{
    type Output = Result<Response<AuditBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Loading {
                    load,
                    timer,
                    timeout,
                    service,
                    request,
                } => {
                    let before = match contained(BEFORE_LOADER, || load.as_mut().poll(cx)) {
                        None => None,
                        Some(Poll::Ready(before)) => before,
                        Some(Poll::Pending) => {
                            let timeout = *timeout;
                            let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                            ready!(timer.as_mut().poll(cx));
                            tracing::warn!(
                                ?timeout,
                                "audit before-state loader timed out; recording without it"
                            );
                            None
                        }
                    };
                    if let Some(pending) = this.pending.as_mut() {
                        pending.before = before;
                    }
                    let (Some(mut service), Some(request)) = (service.take(), request.take()) else {
                        unreachable!("the loading state is left once");
                    };
                    let future = service.call(request);
                    this.state.set(State::Calling { future });
                }
                StateProj::Calling { future } => {
                    let response = ready!(future.poll(cx))?;
                    let (mut parts, body) = response.into_parts();
                    let pending = match this.pending.take() {
                        Some(pending) => {
                            let size = body.size_hint().exact();
                            pending.on_response(&mut parts, size)
                        }
                        None => None,
                    };
                    let body = match pending {
                        Some(pending) => AuditBody::new(body, Some(pending)),
                        None => AuditBody::passthrough(body),
                    };
                    return Poll::Ready(Ok(Response::from_parts(parts, body)));
                }
            }
        }
    }
}
