//! NDJSON files: one record per line, appended and synced to disk with every batch, in files
//! named `audit-<first seq>-<unix millis>.ndjson` (names sort in delivery order) that rotate
//! by size or age, for shipping agents such as Vector or Fluent Bit to tail. Beside each file,
//! `<file>.batches` gets one line per batch: its envelope as JSON, written and synced before
//! the events, so a file never holds events whose batch is not described.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use audit_core::FileDestination;
use tokio::fs::{File, OpenOptions};
use tokio::io::AsyncWriteExt;

use super::batch::Batch;
use super::destination::DeliveryError;

/// The default size at which a file is rotated: 64 MiB.
pub const DEFAULT_ROTATE_BYTES: u64 = 64 * 1024 * 1024;
/// The default age at which a file is rotated: one hour.
pub const DEFAULT_ROTATE_SECONDS: u64 = 3600;

#[derive(Debug)]
struct OpenFile {
    file: File,
    sidecar: File,
    bytes: u64,
    opened: Instant,
}

/// Creates `path` for appending; an error if it exists.
async fn create_new(path: PathBuf) -> std::io::Result<File> {
    OpenOptions::new().create_new(true).append(true).open(path).await
}

/// Writes batches into rotating NDJSON files in one directory.
#[derive(Debug)]
pub struct FileSink {
    directory: PathBuf,
    rotate_bytes: u64,
    rotate_after: Duration,
    current: Option<OpenFile>,
}

impl FileSink {
    /// A sink writing into `directory` with `config`'s rotation.
    pub fn new(directory: PathBuf, config: &FileDestination) -> Self {
        FileSink {
            directory,
            rotate_bytes: config.rotate_bytes.unwrap_or(DEFAULT_ROTATE_BYTES),
            rotate_after: Duration::from_secs(config.rotate_seconds.unwrap_or(DEFAULT_ROTATE_SECONDS)),
            current: None,
        }
    }

    /// Appends the batch's events and syncs the file; rotates first when the file is full or
    /// old.
    pub async fn write(&mut self, batch: &Batch<'_>) -> Result<(), DeliveryError> {
        let Some(first) = batch.records.first() else {
            return Ok(());
        };
        let fail = |error: std::io::Error| DeliveryError::new(format!("file: {error}"));
        if self
            .current
            .as_ref()
            .is_some_and(|open| open.bytes >= self.rotate_bytes || open.opened.elapsed() >= self.rotate_after)
        {
            self.close().await;
        }
        if self.current.is_none() {
            tokio::fs::create_dir_all(&self.directory).await.map_err(fail)?;
            let name = format!(
                "audit-{:020}-{}.ndjson",
                first.seq,
                chrono::Utc::now().timestamp_millis()
            );
            let sidecar = create_new(self.directory.join(format!("{name}.batches")))
                .await
                .map_err(fail)?;
            let file = create_new(self.directory.join(name)).await.map_err(fail)?;
            self.current = Some(OpenFile {
                file,
                sidecar,
                bytes: 0,
                opened: Instant::now(),
            });
        }
        let mut lines = Vec::new();
        for event in &batch.events {
            lines.extend(serde_json::to_vec(event).unwrap_or_default());
            lines.push(b'\n');
        }
        let open = self.current.as_mut().expect("opened above");
        let mut envelope = serde_json::to_vec(&batch.envelope).unwrap_or_default();
        envelope.push(b'\n');
        let written = async {
            open.sidecar.write_all(&envelope).await?;
            open.sidecar.sync_data().await?;
            open.file.write_all(&lines).await?;
            open.file.sync_data().await
        }
        .await;
        if let Err(error) = written {
            // A half-written batch is redelivered into a fresh file.
            self.current = None;
            return Err(fail(error));
        }
        open.bytes += lines.len() as u64;
        Ok(())
    }

    /// Syncs and closes the current file.
    pub async fn close(&mut self) {
        if let Some(mut open) = self.current.take() {
            let _ = open.file.flush().await;
            let _ = open.file.sync_all().await;
            let _ = open.sidecar.sync_all().await;
        }
    }
}
