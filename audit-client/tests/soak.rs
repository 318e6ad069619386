//! A short soak (15 s, 16 clients, 2 organizations) on both backends: mixed writes and reads
//! end with zero errors and zero loss. The long run is `examples/soak` (see the README).

#[path = "../examples/soak/driver.rs"]
mod driver;

use std::time::Duration;

use audit_server::testing::{Backend, TestServer};
use driver::SoakConfig;

async fn short_soak(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let config = SoakConfig {
        duration: Duration::from_secs(15),
        clients: 16,
        organizations: 2,
    };
    let report = driver::run(&server, &config).await;
    println!("{backend:?}: {report}");
    assert!(report.acknowledged > 0, "{report}");
    assert!(report.clean(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_soak_ends_without_errors_or_loss_on_sqlite() {
    short_soak(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_soak_ends_without_errors_or_loss_on_postgres() {
    short_soak(Backend::Postgres).await;
}
