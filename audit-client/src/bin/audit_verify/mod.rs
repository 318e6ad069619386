//! The checks of `audit-verify`.

pub mod args;
pub mod failure;
pub mod kept;
pub mod lookahead;
pub mod progress;
pub mod proofs;
pub mod scan;
pub mod trust;
