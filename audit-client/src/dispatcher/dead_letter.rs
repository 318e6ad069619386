//! The dead-letter file: every event the service refused for its content, kept as one JSON line
//! `{"rejectedAt", "problem", "event"}` so that nothing a host recorded is lost to
//! configuration (an action missing from the catalog, say) and it can be sent again once fixed.
//!
//! Invariants: lines are appended and never rewritten; the event is written as it was queued
//! (its JSON text, even when it cannot be read back); a failure to write is logged at error level
//! and never stops delivery.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use audit_core::{EncodedEvent, Problem, timestamp};
use serde_json::value::RawValue;

/// Appends refused events to a file.
#[derive(Debug, Clone)]
pub(crate) struct DeadLetters {
    path: PathBuf,
}

impl DeadLetters {
    pub(crate) fn new(path: &Path) -> Self {
        DeadLetters {
            path: path.to_owned(),
        }
    }

    /// Appends `event` and why it was refused.
    pub(crate) fn keep(&self, event: &EncodedEvent, problem: &Problem) {
        if let Err(error) = self.append(event, problem) {
            tracing::error!(path = %self.path.display(), %error, id = %event.id(),
                "a rejected audit event could not be written to the dead-letter file");
        }
    }

    fn append(&self, event: &EncodedEvent, problem: &Problem) -> std::io::Result<()> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Line<'a> {
            rejected_at: String,
            problem: &'a Problem,
            event: &'a RawValue,
        }
        let event_text = RawValue::from_string(event.as_str().to_owned()).map_err(std::io::Error::other)?;
        let line = Line {
            rejected_at: timestamp::format(&timestamp::now()),
            problem,
            event: &event_text,
        };
        let mut text = serde_json::to_vec(&line).map_err(std::io::Error::other)?;
        text.push(b'\n');
        let mut file = OpenOptions::new().create(true).append(true).open(&self.path)?;
        file.write_all(&text)?;
        file.sync_data()
    }
}
