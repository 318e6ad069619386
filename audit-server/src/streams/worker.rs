//! The delivery worker: one task per server process that hands every active stream whose
//! lease it can take to a delivery task of its own, and stops them all on shutdown.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use audit_core::{AuditRecord, StreamState};
use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::destination::{DeliveryError, Destination};
use super::prepare;
use crate::config::Config;
use crate::store::dead_letters::{self, SetAside};
use crate::store::{Store, streams};
use crate::streams::metrics::StreamCounters;

/// How the worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// How often idle streams look for new records, and the worker for new streams.
    pub poll: Duration,
    /// Records per batch.
    pub batch_size: u64,
    /// Failed attempts in a row before a stream is marked unhealthy.
    pub unhealthy_after: u32,
    /// The first retry delay; doubled on every failure up to `max_backoff`.
    pub base_backoff: Duration,
    /// The longest retry delay.
    pub max_backoff: Duration,
    /// The longest a destination may take to acknowledge a batch.
    pub request_timeout: Duration,
    /// How long a lease lasts without renewal; longer than a retry delay plus a request.
    pub lease: Duration,
    /// Where file destinations live (`None`: disabled).
    pub file_root: Option<PathBuf>,
    /// Whether destinations on loopback, private and link-local networks may be called.
    pub allow_private_networks: bool,
    /// The log name of checkpoints, the first half of each organization's origin.
    pub log_name: String,
}

impl WorkerSettings {
    /// The settings of `config`.
    pub fn from_config(config: &Config) -> Self {
        let max_backoff = Duration::from_millis(config.streams_max_backoff_ms.max(1));
        let request_timeout = Duration::from_secs(10);
        WorkerSettings {
            poll: Duration::from_millis(config.streams_poll_ms.max(10)),
            batch_size: config.streams_batch_size.clamp(1, 1000),
            unhealthy_after: config.streams_unhealthy_after.max(1),
            base_backoff: Duration::from_millis(250).min(max_backoff),
            max_backoff,
            request_timeout,
            lease: (max_backoff + request_timeout) * 2 + Duration::from_secs(10),
            file_root: config.streams_file_root.clone(),
            allow_private_networks: config.streams_allow_private_networks,
            log_name: config.signing_key_name.clone(),
        }
    }
}

struct Context {
    store: Store,
    key: Arc<[u8; 32]>,
    counters: Arc<StreamCounters>,
    settings: WorkerSettings,
    http: reqwest::Client,
    /// This process, as the lease owner.
    owner: Uuid,
}

/// A running worker.
#[derive(Debug)]
pub struct Worker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Worker {
    /// Starts delivering.
    pub fn start(
        store: Store,
        key: Arc<[u8; 32]>,
        counters: Arc<StreamCounters>,
        settings: WorkerSettings,
    ) -> Self {
        let http = prepare::http_client(&settings);
        let context = Arc::new(Context {
            store,
            key,
            counters,
            settings,
            http,
            owner: Uuid::now_v7(),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(supervise(context, stopped));
        Worker { stop, task }
    }

    /// Stops every delivery (a batch in flight is abandoned and redelivered later), syncs open
    /// files and gives the leases up.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(15), self.task).await;
    }
}

/// Sleeps for `duration`; `false` when asked to stop first.
async fn pause(stop: &mut watch::Receiver<bool>, duration: Duration) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        _ = stop.changed() => false,
        () = tokio::time::sleep(duration) => true,
    }
}

async fn supervise(context: Arc<Context>, mut stop: watch::Receiver<bool>) {
    let mut running: HashMap<Uuid, JoinHandle<()>> = HashMap::new();
    loop {
        running.retain(|_, task| !task.is_finished());
        match streams::claimable(&context.store, context.owner).await {
            Ok(ids) => {
                for id in ids {
                    running
                        .entry(id)
                        .or_insert_with(|| tokio::spawn(deliver(context.clone(), id, stop.clone())));
                }
            }
            Err(error) => tracing::warn!(%error, "log streams: cannot list streams"),
        }
        if !pause(&mut stop, context.settings.poll).await {
            break;
        }
    }
    for (_, task) in running {
        let _ = task.await;
    }
}

/// The delay before retry number `failures`: exponential, capped, with jitter (50 to 100%).
fn backoff(settings: &WorkerSettings, failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    let delay = settings
        .base_backoff
        .saturating_mul(1 << exponent)
        .min(settings.max_backoff);
    let jitter = f64::from(getrandom::u32().unwrap_or(u32::MAX) % 1000) / 2000.0 + 0.5;
    delay.mul_f64(jitter)
}

/// A batch the destination refused, retried as it is (the cursor has not moved) instead of
/// being read again, as long as the stream is unchanged.
struct Held {
    updated_at: chrono::DateTime<Utc>,
    records: Vec<AuditRecord>,
    cursor: i64,
    /// Permanent refusals of this batch in a row.
    refusals: u32,
}

/// Delivers one stream while this process holds its lease.
async fn deliver(context: Arc<Context>, id: Uuid, mut stop: watch::Receiver<bool>) {
    let settings = &context.settings;
    let mut destination: Option<(chrono::DateTime<Utc>, Destination)> = None;
    let mut failures: Option<u32> = None;
    let mut held: Option<Held> = None;
    // After a batch was refused for good `maxAttempts` times, its records are sent one at a
    // time, up to this `seq`, so the refused one is found and the others delivered.
    let mut isolating_through: Option<i64> = None;
    loop {
        if *stop.borrow() {
            break;
        }
        let claimed = match streams::load(&context.store, id).await {
            Ok(Some(claimed)) if claimed.stream.state == StreamState::Active => claimed,
            Ok(_) => break,
            Err(error) => {
                tracing::warn!(%error, stream = %id, "log stream: cannot load");
                if pause(&mut stop, settings.poll).await {
                    continue;
                }
                break;
            }
        };
        let stream = &claimed.stream;
        let now = Utc::now();
        let lease_until = now + settings.lease;
        let fresh = claimed
            .lease
            .is_some_and(|(owner, until)| owner == context.owner && until > now + settings.lease / 2);
        if !fresh {
            match streams::claim(&context.store, id, context.owner, lease_until).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(error) => {
                    tracing::warn!(%error, stream = %id, "log stream: cannot take the lease");
                    if pause(&mut stop, settings.poll).await {
                        continue;
                    }
                    break;
                }
            }
        }
        let failures_so_far = *failures.get_or_insert(stream.health.consecutive_failures);

        if destination
            .as_ref()
            .is_none_or(|(updated, _)| *updated != stream.updated_at)
        {
            if let Some((_, mut old)) = destination.take() {
                old.close().await;
            }
            match prepare::destination(&context.key, settings, &claimed) {
                Ok(ready) => destination = Some((stream.updated_at, ready)),
                Err(error) => {
                    if back_off_after(
                        &context,
                        id,
                        (&mut failures, failures_so_far),
                        &error,
                        lease_until,
                        &mut stop,
                    )
                    .await
                    {
                        continue;
                    }
                    break;
                }
            }
        }
        let Some((_, sink)) = destination.as_mut() else {
            break;
        };

        let retry = held.take().filter(|held| held.updated_at == stream.updated_at);
        let refusals_so_far = retry.as_ref().map_or(0, |held| held.refusals);
        isolating_through = isolating_through.filter(|last| stream.delivered_seq < *last);
        let limit = if isolating_through.is_some() {
            1
        } else {
            settings.batch_size
        };
        let read = match retry {
            Some(held) => Ok((held.records, held.cursor)),
            None => streams::next_batch(&context.store, stream, limit).await,
        };
        let (records, cursor) = match read {
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!(%error, stream = %id, "log stream: cannot read records");
                if pause(&mut stop, settings.poll).await {
                    continue;
                }
                break;
            }
        };
        if records.is_empty() {
            if cursor > stream.delivered_seq {
                let _ =
                    streams::advance(&context.store, id, context.owner, cursor, 0, None, lease_until).await;
                continue;
            }
            if pause(&mut stop, settings.poll).await {
                continue;
            }
            break;
        }

        // Checked after the read: a record stored after a pause was answered is read after the
        // pause committed, so it is never sent before the resume.
        match streams::load(&context.store, id).await {
            Ok(Some(now))
                if now.stream.state == StreamState::Active && now.stream.updated_at == stream.updated_at => {}
            Ok(Some(now)) if now.stream.state == StreamState::Active => continue,
            Ok(_) => break,
            Err(_) => {
                if pause(&mut stop, settings.poll).await {
                    continue;
                }
                break;
            }
        }
        let privacy_key = match prepare::privacy_key(&context.key, &claimed) {
            Ok(key) => key,
            Err(error) => {
                if back_off_after(
                    &context,
                    id,
                    (&mut failures, failures_so_far),
                    &error,
                    lease_until,
                    &mut stop,
                )
                .await
                {
                    continue;
                }
                break;
            }
        };
        let mut batch = prepare::batch(settings, &claimed, &privacy_key, &records);
        match crate::store::checkpoints::latest(&context.store, stream.org_id, None).await {
            Ok(newest) => batch.attach_checkpoint(newest),
            Err(error) => {
                tracing::warn!(%error, stream = %id, "log stream: cannot read the newest checkpoint")
            }
        }
        let sent = tokio::select! {
            sent = sink.send(&context.http, &batch) => sent,
            _ = stop.changed() => break,
        };
        match sent {
            Ok(()) => {
                let count = records.len() as i64;
                context.counters.delivered(id, count as u64);
                failures = Some(0);
                let last_hash = records.last().map(|record| record.hash.as_str());
                match streams::advance(
                    &context.store,
                    id,
                    context.owner,
                    cursor,
                    count,
                    last_hash,
                    lease_until,
                )
                .await
                {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(error) => tracing::warn!(%error, stream = %id, "log stream: cannot move the cursor"),
                }
            }
            Err(error) => {
                let refusals = if error.is_permanent() {
                    refusals_so_far + 1
                } else {
                    0
                };
                if refusals >= stream.max_attempts {
                    let failures_now = failures_so_far + 1;
                    failures = Some(failures_now);
                    fail(&context, id, failures_now, &error, lease_until).await;
                    match records.as_slice() {
                        [record] => {
                            let aside = SetAside {
                                seq: record.seq,
                                record_id: record.id,
                                cursor,
                                error: error.message(),
                                attempts: refusals,
                            };
                            set_aside(&context, stream, aside, lease_until).await;
                        }
                        [.., last] => isolating_through = Some(last.seq),
                        [] => {}
                    }
                    continue;
                }
                held = Some(Held {
                    updated_at: stream.updated_at,
                    records,
                    cursor,
                    refusals,
                });
                if !back_off_after(
                    &context,
                    id,
                    (&mut failures, failures_so_far),
                    &error,
                    lease_until,
                    &mut stop,
                )
                .await
                {
                    break;
                }
            }
        }
    }
    if let Some((_, mut sink)) = destination {
        sink.close().await;
    }
    let _ = streams::release(&context.store, id, context.owner).await;
}

/// Sets a record refused for good aside and moves the cursor past it.
async fn set_aside(
    context: &Context,
    stream: &audit_core::LogStream,
    record: SetAside<'_>,
    lease_until: chrono::DateTime<Utc>,
) {
    tracing::warn!(stream = %stream.id, seq = record.seq, error = record.error, "log stream: record set aside as a dead letter");
    match dead_letters::set_aside(&context.store, stream, context.owner, record, lease_until).await {
        Ok(true) => context.counters.dead_lettered(stream.id),
        Ok(false) => {}
        Err(error) => tracing::warn!(%error, stream = %stream.id, "log stream: cannot set a record aside"),
    }
}

/// Counts one more failed attempt after `failures_so_far`, records it on the stream and waits
/// out its backoff; `false` when asked to stop first.
async fn back_off_after(
    context: &Context,
    id: Uuid,
    (failures, failures_so_far): (&mut Option<u32>, u32),
    error: &DeliveryError,
    lease_until: chrono::DateTime<Utc>,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let failures_now = failures_so_far + 1;
    *failures = Some(failures_now);
    fail(context, id, failures_now, error, lease_until).await;
    pause(stop, backoff(&context.settings, failures_now)).await
}

async fn fail(
    context: &Context,
    id: Uuid,
    failures: u32,
    error: &DeliveryError,
    lease_until: chrono::DateTime<Utc>,
) {
    tracing::warn!(stream = %id, failures, error = %error, "log stream: delivery failed");
    context.counters.failed(id);
    let recorded = streams::record_failure(
        &context.store,
        id,
        context.owner,
        failures,
        context.settings.unhealthy_after,
        error.message(),
        lease_until,
    )
    .await;
    if let Err(error) = recorded {
        tracing::warn!(%error, stream = %id, "log stream: cannot record the failure");
    }
}
