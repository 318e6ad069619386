//! The response body of an audited request: the inner body, frame for frame, with a copy of
//! at most the body limit kept on the side for the `after` state.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::capture::{Pending, Tee};

pin_project! {
    /// The response body of [`Audit`](crate::Audit): the inner body unchanged (every frame as
    /// it comes, so streams still stream, with the same size hint), observed on the way to
    /// record the event once it ends or is dropped.
    pub struct AuditBody<B> {
        #[pin]
        inner: B,
        pending: Option<Box<Pending>>,
    }

    impl<B> PinnedDrop for AuditBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(pending) = this.project().pending.take() {
                pending.finish();
            }
        }
    }
}

impl<B: std::fmt::Debug> std::fmt::Debug for AuditBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditBody")
            .field("inner", &self.inner)
            .field("audited", &self.pending.is_some())
            .finish()
    }
}

impl<B: Body> AuditBody<B> {
    pub(crate) fn new(inner: B, mut pending: Option<Box<Pending>>) -> Self {
        if let Some(pending) = pending.as_mut() {
            pending.complete = inner.is_end_stream();
        }
        AuditBody { inner, pending }
    }

    /// A body that is not audited.
    pub(crate) fn passthrough(inner: B) -> Self {
        AuditBody { inner, pending: None }
    }
}

fn copy_into<D: Buf>(tee: &mut Tee, data: &D) {
    let chunk = data.chunk();
    if chunk.len() == data.remaining() {
        tee.push(chunk);
    } else {
        // A data type in pieces: rare enough to record without `after` rather than copy twice.
        tee.overflow();
    }
}

impl<B> Body for AuditBody<B>
where
    B: Body,
    B::Data: Buf,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(pending) = this.pending.as_mut() {
                    if let (Some(tee), Some(data)) = (pending.body.as_mut(), frame.data_ref()) {
                        copy_into(tee, data);
                    }
                    pending.complete = this.inner.is_end_stream();
                }
            }
            Some(Err(_)) => {
                if let Some(pending) = this.pending.take() {
                    pending.finish();
                }
            }
            None => {
                if let Some(mut pending) = this.pending.take() {
                    pending.complete = true;
                    pending.finish();
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(feature = "axum")]
pin_project! {
    /// A request body copied, up to a limit, as the handler reads it.
    pub(crate) struct RequestTee<B> {
        #[pin]
        pub(crate) inner: B,
        pub(crate) tee: Arc<Mutex<Tee>>,
    }
}

#[cfg(feature = "axum")]
impl<B> Body for RequestTee<B>
where
    B: Body,
    B::Data: Buf,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if let Some(Ok(data)) = frame.as_ref().map(|f| f.as_ref().map(Frame::data_ref))
            && let Some(data) = data
            && let Ok(mut tee) = this.tee.lock()
        {
            copy_into(&mut tee, data);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Puts a copying wrapper around the request body when it is axum's `Body`; other body types
/// are left alone (the id then comes from the `Location` header, if any).
pub(crate) fn tee_request_body<B: 'static>(body: &mut B, tee: Arc<Mutex<Tee>>) {
    #[cfg(feature = "axum")]
    if let Some(body) = (body as &mut dyn std::any::Any).downcast_mut::<axum::body::Body>() {
        let inner = std::mem::take(body);
        *body = axum::body::Body::new(RequestTee { inner, tee });
        return;
    }
    let _ = (body, tee);
    tracing::debug!("request body is not axum's Body: the request-body id source is unavailable");
}
