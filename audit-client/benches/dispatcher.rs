//! Dispatcher throughput against the real server (written once the server's test harness exists).

fn main() {}
