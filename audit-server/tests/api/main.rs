//! The API suite, through real HTTP against an in-process server. Every test runs on SQLite
//! and, when `AUDIT_TEST_POSTGRES_URL` is set, on PostgreSQL; each test owns its database.

mod helpers;
mod owner;

mod bad_input;
mod chain;
mod checkpoints;
mod concurrency;
mod exports;
mod isolation;
mod keys;
mod limits;
mod metrics;
mod openapi;
mod partitions;
mod proofs;
mod read_your_writes;
mod reading;
mod receiver;
mod record_proofs;
mod recording;
mod retention;
mod s3_server;
mod sse;
mod streams;
mod streams_batches;
mod streams_cloud_events;
mod streams_dead_letters;
mod streams_delivery;
mod streams_limits;
mod streams_ocsf;
mod streams_otlp;
mod streams_privacy;
mod streams_s3;
mod streams_syslog;
mod tail;
mod tamper;
mod viewing;
mod witnessing;
