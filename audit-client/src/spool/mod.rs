//! The durable spool: events the service could not take yet, in append-only segment files.
//!
//! A spool directory holds `LOCK` (held with an exclusive file lock while a dispatcher uses the
//! directory, released by the operating system when the process ends, even by SIGKILL) and
//! segments named `00000000000000000001.spool`, `…2.spool`, oldest first. Records are appended to
//! the newest segment and fsynced once per append call; a segment is read back only after it
//! is sealed (no longer written), delivered batch by batch, and removed once the service has
//! acknowledged every event in it. A process that dies before that leaves the segment behind,
//! and the next dispatcher on the directory sends it again: the events keep their ids, so the
//! service stores each once.

mod record;

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use audit_core::EncodedEvent;

/// A segment is sealed once it holds this many bytes (a single larger event gets a segment of
/// its own). It bounds the memory used while a segment is replayed.
const SEGMENT_BYTES: u64 = 8 << 20;

const EXTENSION: &str = "spool";
const LOCK_FILE: &str = "LOCK";

/// Why a spool directory could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpoolError {
    /// Another process (or another dispatcher of this one) holds the directory's lock.
    #[error("the spool directory {0} is in use by another dispatcher")]
    Locked(PathBuf),
    /// The directory or a segment could not be created, read or written.
    #[error("spool directory {path}: {source}")]
    Io {
        /// The file or directory at fault.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
}

/// The segment being appended to.
struct Writer {
    number: u64,
    file: File,
    bytes: u64,
}

/// The oldest sealed segment, read into memory for delivery.
struct Loaded {
    number: u64,
    events: VecDeque<EncodedEvent>,
}

/// An open spool directory (see the module docs).
pub(crate) struct Spool {
    dir: PathBuf,
    _lock: File,
    sealed: VecDeque<u64>,
    writer: Option<Writer>,
    loaded: Option<Loaded>,
    next_number: u64,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Spool {
    /// Opens (creating it if needed) and locks `dir`; segments left by an earlier process are
    /// queued for delivery first.
    pub(crate) fn open(dir: &Path) -> Result<Self, SpoolError> {
        let io_error = |path: &Path| {
            let path = path.to_owned();
            move |source| SpoolError::Io { path, source }
        };
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_error(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(SpoolError::Locked(dir.to_owned())),
            Err(TryLockError::Error(source)) => return Err(io_error(&lock_path)(source)),
        }
        let mut sealed = Vec::new();
        for entry in fs::read_dir(dir).map_err(io_error(dir))? {
            let path = entry.map_err(io_error(dir))?.path();
            if path.extension().is_some_and(|extension| extension == EXTENSION)
                && let Some(number) = path
                    .file_stem()
                    .and_then(|stem| stem.to_str())
                    .and_then(|stem| stem.parse::<u64>().ok())
            {
                sealed.push(number);
            }
        }
        sealed.sort_unstable();
        let next_number = sealed.last().map_or(1, |last| last + 1);
        Ok(Spool {
            dir: dir.to_owned(),
            _lock: lock,
            sealed: sealed.into(),
            writer: None,
            loaded: None,
            next_number,
        })
    }

    /// Whether no event waits in the spool.
    pub(crate) fn is_empty(&self) -> bool {
        self.sealed.is_empty()
            && self.writer.is_none()
            && self.loaded.as_ref().is_none_or(|loaded| loaded.events.is_empty())
    }

    /// Appends `events` (which carry their ids) and fsyncs them: once this returns `Ok`, they
    /// survive the process and the machine. On error nothing of this call is kept.
    pub(crate) fn append(&mut self, events: &[EncodedEvent]) -> io::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::new();
        for event in events {
            record::encode(event.as_str().as_bytes(), &mut bytes);
        }
        if self
            .writer
            .as_ref()
            .is_some_and(|writer| writer.bytes >= SEGMENT_BYTES)
        {
            self.seal();
        }
        if self.writer.is_none() {
            self.writer = Some(self.create_segment()?);
        }
        let Some(writer) = &mut self.writer else {
            unreachable!("a writer was just created");
        };
        let written = writer
            .file
            .write_all(&bytes)
            .and_then(|()| writer.file.sync_data());
        match written {
            Ok(()) => {
                writer.bytes += bytes.len() as u64;
                Ok(())
            }
            Err(error) => {
                // Cut a partial write off, so what follows is not read as damage.
                if writer.file.set_len(writer.bytes).is_err() {
                    self.seal();
                }
                Err(error)
            }
        }
    }

    /// Takes up to `max` events from the front of the spool, oldest first, reading the next
    /// sealed segment when needed (the segment being written is sealed first when it is all
    /// that is left). Adds the damaged stretches found to `damaged`. Give the events back with
    /// [`Spool::put_back`] when they were not delivered, or call [`Spool::acknowledge`].
    pub(crate) fn take(&mut self, max: usize, damaged: &mut u64) -> Vec<EncodedEvent> {
        loop {
            if let Some(loaded) = &mut self.loaded
                && !loaded.events.is_empty()
            {
                let n = max.min(loaded.events.len());
                return loaded.events.drain(..n).collect();
            }
            if self.loaded.is_some() {
                // Every event of the loaded segment was acknowledged.
                self.acknowledge();
            }
            if self.sealed.is_empty() {
                if self.writer.is_none() {
                    return Vec::new();
                }
                self.seal();
            }
            let Some(number) = self.sealed.pop_front() else {
                return Vec::new();
            };
            self.loaded = Some(self.load(number, damaged));
        }
    }

    /// Returns undelivered events to the front of the spool, in their order.
    pub(crate) fn put_back(&mut self, events: Vec<EncodedEvent>) {
        if let Some(loaded) = &mut self.loaded {
            for event in events.into_iter().rev() {
                loaded.events.push_front(event);
            }
        }
    }

    /// The events taken so far were acknowledged by the service: removes the loaded segment
    /// once nothing of it is left.
    pub(crate) fn acknowledge(&mut self) {
        if self
            .loaded
            .as_ref()
            .is_some_and(|loaded| loaded.events.is_empty())
            && let Some(loaded) = self.loaded.take()
        {
            let path = self.segment_path(loaded.number);
            if let Err(error) = fs::remove_file(&path) {
                // It will be sent again by the next process: the service stores each id once.
                tracing::warn!(path = %path.display(), %error, "could not remove a delivered spool segment");
            }
        }
    }

    fn seal(&mut self) {
        if let Some(writer) = self.writer.take() {
            self.sealed.push_back(writer.number);
        }
    }

    fn create_segment(&mut self) -> io::Result<Writer> {
        let number = self.next_number;
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(self.segment_path(number))?;
        self.next_number += 1;
        // Make the new directory entry durable too, not only the file's contents.
        File::open(&self.dir)?.sync_all()?;
        Ok(Writer {
            number,
            file,
            bytes: 0,
        })
    }

    fn load(&self, number: u64, damaged: &mut u64) -> Loaded {
        let path = self.segment_path(number);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "spool segment unreadable: skipped");
                *damaged += 1;
                return Loaded {
                    number,
                    events: VecDeque::new(),
                };
            }
        };
        let decoded = record::decode(&bytes);
        let mut found = decoded.damaged;
        let mut events = VecDeque::with_capacity(decoded.records.len());
        for payload in decoded.records {
            match EncodedEvent::from_json(payload) {
                Some(event) => events.push_back(event),
                None => found += 1,
            }
        }
        if found > 0 {
            tracing::warn!(
                path = %path.display(), damaged = found, intact = events.len(),
                "damaged records in the audit spool were skipped; the records around them are kept"
            );
            *damaged += found;
        }
        Loaded { number, events }
    }

    fn segment_path(&self, number: u64) -> PathBuf {
        self.dir.join(format!("{number:020}.{EXTENSION}"))
    }
}

#[cfg(test)]
mod tests {
    use audit_core::AuditEvent;

    use super::*;

    fn events(range: std::ops::Range<usize>) -> Vec<EncodedEvent> {
        range
            .map(|n| {
                EncodedEvent::new(AuditEvent::by_user(
                    format!("u_{n}"),
                    "dataset",
                    format!("ds_{n}"),
                    "create",
                ))
            })
            .collect()
    }

    fn ids(events: &[EncodedEvent]) -> Vec<uuid::Uuid> {
        events.iter().map(EncodedEvent::id).collect()
    }

    #[test]
    fn events_come_back_in_order_across_processes_and_segments_go_once_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let written = events(0..25);
        {
            let mut spool = Spool::open(dir.path()).unwrap();
            spool.append(&written[..10]).unwrap();
            spool.append(&written[10..]).unwrap();
            assert!(matches!(Spool::open(dir.path()), Err(SpoolError::Locked(_))));
        }
        let mut spool = Spool::open(dir.path()).unwrap();
        assert!(!spool.is_empty());
        let mut damaged = 0;
        let mut read = Vec::new();
        loop {
            let batch = spool.take(7, &mut damaged);
            if batch.is_empty() {
                break;
            }
            read.extend(batch);
            spool.acknowledge();
        }
        assert_eq!(ids(&read), ids(&written));
        assert_eq!(damaged, 0);
        assert!(spool.is_empty());
        let left = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(left, 1, "only LOCK is left");
    }

    #[test]
    fn events_put_back_are_taken_again_first() {
        let dir = tempfile::tempdir().unwrap();
        let written = events(0..5);
        let mut spool = Spool::open(dir.path()).unwrap();
        spool.append(&written).unwrap();
        let mut damaged = 0;
        let first = spool.take(3, &mut damaged);
        spool.put_back(first);
        spool.append(&events(5..6)).unwrap();
        let again = spool.take(10, &mut damaged);
        assert_eq!(ids(&again), ids(&written));
        spool.acknowledge();
        assert_eq!(
            spool.take(10, &mut damaged).len(),
            1,
            "the event appended meanwhile"
        );
    }
}
