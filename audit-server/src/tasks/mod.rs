//! The background tasks every server process runs beside the HTTP API: signing checkpoints,
//! having them cosigned by witnesses, purging records past their retention,
//! and making the partitions of `audit_logs` ahead. Each runs until
//! its stop signal turns true.

pub mod checkpointer;
pub mod partitioner;
pub mod purger;
pub mod witness_board;
pub mod witness_client;
pub mod witnesser;
