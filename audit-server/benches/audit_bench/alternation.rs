//! Two conditions measured in alternating rounds of the same run, in the order A B B A A B B A
//! ..., so that the machine's drift (other work, caches, a growing database) falls on both
//! alike: a steady drift cancels over every four rounds, where A B A B would always give B the
//! later, slower (or faster) half. Each condition's rate is its events over its time, all its
//! rounds together.

use std::time::Duration;

/// The rounds to run: how many, of how many events each, sent over how many connections.
#[derive(Debug, Clone, Copy)]
pub struct RoundPlan {
    /// Rounds in all (a multiple of 4 cancels a steady drift).
    pub rounds: usize,
    /// Events per round.
    pub events: usize,
    /// Connections sending batches at once.
    pub concurrency: usize,
}

/// One round: which condition, events stored, time taken.
#[derive(Debug, Clone, Copy)]
pub struct Round {
    /// The first condition (A) or the second (B).
    pub first: bool,
    /// Events stored.
    pub events: u64,
    /// Time spent sending them.
    pub elapsed: Duration,
    /// CPU time the server used meanwhile, in seconds: unlike the rate it hardly depends on
    /// what else the machine runs.
    pub server_cpu_seconds: f64,
}

impl Round {
    /// Events/s of this round.
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

/// The rounds of two alternating conditions.
#[derive(Debug, Clone, Default)]
pub struct Alternation {
    /// In the order run.
    pub rounds: Vec<Round>,
}

impl Alternation {
    /// Whether round `index` (from 0) is of the first condition.
    pub fn first_at(index: usize) -> bool {
        matches!(index % 4, 0 | 3)
    }

    /// Keeps a round.
    pub fn push(&mut self, first: bool, events: u64, elapsed: Duration, server_cpu_seconds: f64) {
        self.rounds.push(Round {
            first,
            events,
            elapsed,
            server_cpu_seconds,
        });
    }

    /// Server CPU milliseconds per 1,000 events of one condition over all its rounds.
    pub fn cpu_ms_per_thousand(&self, first: bool) -> f64 {
        let (events, cpu) = self
            .rounds
            .iter()
            .filter(|round| round.first == first)
            .fold((0u64, 0.0), |(events, cpu), round| {
                (events + round.events, cpu + round.server_cpu_seconds)
            });
        cpu * 1e6 / (events.max(1) as f64)
    }

    /// Events/s of one condition over all its rounds.
    pub fn rate(&self, first: bool) -> f64 {
        let (events, elapsed) = self
            .rounds
            .iter()
            .filter(|round| round.first == first)
            .fold((0u64, Duration::ZERO), |(events, elapsed), round| {
                (events + round.events, elapsed + round.elapsed)
            });
        events as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// The second condition's rate over the first's.
    pub fn ratio(&self) -> f64 {
        self.rate(false) / self.rate(true)
    }

    /// Each round's rate in order, `A: 1,234` style, for the report.
    pub fn describe(&self, first: &str, second: &str) -> String {
        self.rounds
            .iter()
            .map(|round| {
                let name = if round.first { first } else { second };
                format!("{name} {}", crate::stats::thousands(round.rate()))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}
