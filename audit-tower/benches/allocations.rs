//! Allocations per request of the host app with and without the audit layer, one request at
//! a time in process: `cargo bench -p audit-tower --bench allocations`. A counting allocator
//! (which slows every allocation a little) is this bench's global allocator, which is why
//! the throughput bench (`overhead`) is a separate binary.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

mod support;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let discarded = Arc::new(AtomicU64::new(0));
        support::in_process(
            None,
            &discarded,
            Some(|request| allocation_counter::measure(request).count_total),
        )
        .await;
    });
}
