//! `audit-witness` over real HTTP: what it cosigns, what it refuses and with which status, and
//! what it remembers across restarts and races.

mod cosigning;
mod helpers;
mod memory;
mod refusals;
