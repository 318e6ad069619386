//! The background tasks every server process runs beside the HTTP API: signing checkpoints and
//! purging records past their retention. Each runs until its stop signal turns true.

pub mod checkpointer;
pub mod purger;
