//! What the witness client knows of each witness, for `/metrics` and `/ready`: how many
//! organizations' newest checkpoints it has not cosigned yet, how often it refused, and why.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One witness's standing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WitnessStanding {
    /// The witness's key name.
    pub name: String,
    /// Organizations whose newest checkpoint this witness has not cosigned.
    pub unwitnessed: u64,
    /// Checkpoints it cosigned since the server started.
    pub cosigned: u64,
    /// Checkpoints it refused (a 4xx answer) since the server started.
    pub refused: u64,
    /// Submissions that got no answer (down, timed out, 5xx) since the server started.
    pub unreachable: u64,
    /// The last refusal or failure, with the witness's own message; kept after recovery.
    #[schema(required)]
    pub last_error: Option<String>,
    /// When it last cosigned.
    #[schema(value_type = Option<String>, format = DateTime, required)]
    #[serde(with = "audit_core::timestamp::optional")]
    pub last_cosigned_at: Option<DateTime<Utc>>,
}

/// How a submission ended, as the board counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tally {
    /// Cosigned.
    Cosigned,
    /// Refused, with the reason.
    Refused(String),
    /// No answer, with the reason.
    Unreachable(String),
}

/// Every configured witness's standing, by name.
#[derive(Debug, Default)]
pub struct WitnessBoard {
    standings: Mutex<BTreeMap<String, WitnessStanding>>,
}

impl WitnessBoard {
    /// A board for the witnesses `names`, none of them known to have cosigned anything.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let standings = names
            .into_iter()
            .map(|name| {
                let standing = WitnessStanding {
                    name: name.to_owned(),
                    ..WitnessStanding::default()
                };
                (name.to_owned(), standing)
            })
            .collect();
        WitnessBoard {
            standings: Mutex::new(standings),
        }
    }

    fn update(&self, name: &str, change: impl FnOnce(&mut WitnessStanding)) {
        let mut standings = self
            .standings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(standing) = standings.get_mut(name) {
            change(standing);
        }
    }

    /// Counts one submission to `name`.
    pub fn count(&self, name: &str, tally: Tally) {
        self.update(name, |standing| match tally {
            Tally::Cosigned => {
                standing.cosigned += 1;
                standing.last_cosigned_at = Some(Utc::now());
            }
            Tally::Refused(reason) => {
                standing.refused += 1;
                standing.last_error = Some(reason);
            }
            Tally::Unreachable(reason) => {
                standing.unreachable += 1;
                standing.last_error = Some(reason);
            }
        });
    }

    /// Sets how many organizations' newest checkpoints `name` has not cosigned.
    pub fn set_unwitnessed(&self, name: &str, unwitnessed: u64) {
        self.update(name, |standing| standing.unwitnessed = unwitnessed);
    }

    /// Every witness's standing, by name.
    pub fn standings(&self) -> Vec<WitnessStanding> {
        let standings = self
            .standings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        standings.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_on_the_named_witness_only() {
        let board = WitnessBoard::new(["a.example", "b.example"]);
        board.count("a.example", Tally::Cosigned);
        board.count("b.example", Tally::Refused("409".into()));
        board.count("b.example", Tally::Unreachable("down".into()));
        board.count("unknown.example", Tally::Cosigned);
        board.set_unwitnessed("b.example", 3);
        let [a, b] = <[WitnessStanding; 2]>::try_from(board.standings()).unwrap();
        assert_eq!((a.cosigned, a.refused, a.unwitnessed), (1, 0, 0));
        assert!(a.last_cosigned_at.is_some() && a.last_error.is_none());
        assert_eq!(
            (b.cosigned, b.refused, b.unreachable, b.unwitnessed),
            (0, 1, 1, 3)
        );
        assert_eq!(b.last_error.as_deref(), Some("down"));
    }
}
