//! When a record's `seq` jumps ahead, what the rest of the file says about it: is the missing
//! `seq` further down (reordered), or is the jumping `seq` there again (inserted)?

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Where two `seq` values appear after a given line.
#[derive(Debug, Default)]
pub struct Later {
    /// The line of the first later record with the missing `seq`.
    pub missing_at: Option<usize>,
    /// The line of the first later record with the same `seq` as the jumping one.
    pub duplicate_at: Option<usize>,
}

/// Looks at the lines after `after_line` (1-based) for records with `missing` or `jumped` seq.
/// Lines that do not parse are skipped: the main pass reports them when it gets there.
pub fn find(path: &Path, after_line: usize, missing: i64, jumped: i64) -> std::io::Result<Later> {
    let mut later = Later::default();
    let reader = BufReader::new(File::open(path)?);
    for (index, line) in reader.lines().enumerate().skip(after_line) {
        let line = line?;
        let Some(seq) = seq_of(&line) else { continue };
        if seq == missing && later.missing_at.is_none() {
            later.missing_at = Some(index + 1);
        }
        if seq == jumped && later.duplicate_at.is_none() {
            later.duplicate_at = Some(index + 1);
        }
        if later.missing_at.is_some() && later.duplicate_at.is_some() {
            break;
        }
    }
    Ok(later)
}

fn seq_of(line: &str) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Seq {
        seq: i64,
    }
    serde_json::from_str::<Seq>(line).ok().map(|record| record.seq)
}
