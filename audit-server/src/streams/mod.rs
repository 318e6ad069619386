//! Log streams: the delivery worker and one module per destination format.
//!
//! A stream's cursor is the last `seq` delivered. The worker of each server process takes a
//! lease on a stream (one conditional UPDATE), reads the records after the cursor in `seq`
//! order, sends them as one batch and moves the cursor only once the destination acknowledged
//! it: delivery is at least once and in order, across restarts and several processes. A record
//! the destination refuses for good is isolated (the refused batch is sent again one record at a
//! time) and, refused `maxAttempts` times, set aside as a dead letter in the transaction that
//! moves the cursor past it; the next batch's envelope names its `seq`.

pub mod batch;
pub mod cloud_events;
pub mod datadog;
pub mod destination;
pub mod file;
pub mod fit;
pub mod metrics;
pub mod network;
pub mod ocsf;
pub mod otlp;
pub mod prepare;
pub mod privacy;
pub mod redeliver;
pub mod s3;
pub mod signature;
pub mod split;
pub mod splunk;
pub mod syslog;
pub mod syslog_tls;
pub mod validate;
pub mod webhook;
pub mod worker;
