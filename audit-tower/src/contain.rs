//! Host hooks (the actor extractor, before-state loaders, the sink) run contained: a panic in
//! one is logged and turned into "no value", never into a failed or dropped host request.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `f`; when it panics, logs the panic as `hook`'s and returns `None`.
pub(crate) fn contained<T>(hook: &'static str, f: impl FnOnce() -> T) -> Option<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => Some(value),
        Err(payload) => {
            tracing::error!(
                hook,
                panic = panic_message(payload.as_ref()),
                "an audit hook panicked; the host request goes on without it"
            );
            None
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}
