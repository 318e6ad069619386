//! The progress bar: drawn for large files on a terminal only.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Files smaller than this finish before a bar is worth drawing.
const LARGE_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A bar over `length` bytes, hidden when `quiet`, when stderr is not a terminal, or for a
/// small file.
pub fn bar(length: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() || length <= LARGE_FILE_BYTES {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(length);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} [{bar:40}] {bytes_per_sec}, {eta} left")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
