//! The checks of `audit-verify`.

pub mod lookahead;
pub mod scan;
