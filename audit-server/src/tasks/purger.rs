//! The retention purge: on a schedule (`AUDIT_PURGE_INTERVAL_SECS`), by `audit-server purge`,
//! or on request. After removing records it signs a checkpoint of the organization's new head,
//! so the chain's new start is covered by a signature.

use std::sync::Arc;
use std::time::Duration;

use audit_core::checkpoint::CheckpointSigner;
use audit_core::{PurgeReport, timestamp};
use sea_orm::DbErr;
use tokio::sync::watch;
use uuid::Uuid;

use crate::store::retention::{self, Initiator};
use crate::store::{Store, checkpoints, partitions};

/// Purges `org_id` now and, when records were removed, signs a checkpoint of its head.
pub async fn purge_org(
    store: &Store,
    signer: &CheckpointSigner,
    org_id: Uuid,
    by: Initiator,
) -> Result<PurgeReport, DbErr> {
    let report = retention::purge(store, org_id, timestamp::now(), by).await?;
    if report.purged > 0 {
        checkpoints::sign_head(store, signer, org_id).await?;
    }
    Ok(report)
}

/// Purges every organization that has a retention period: first the whole monthly partitions
/// past every retention (PostgreSQL), then each organization's older records one by one. One
/// organization's failure is logged and does not stop the others.
pub async fn purge_all(store: &Store, signer: &CheckpointSigner) -> Result<Vec<PurgeReport>, DbErr> {
    let mut reports = Vec::new();
    for dropped in partitions::drop_expired(store, timestamp::now(), Initiator::Schedule).await? {
        tracing::info!(partition = %dropped.partition.name, "retention dropped a partition");
        for report in dropped.reports {
            checkpoints::sign_head(store, signer, report.org_id).await?;
            reports.push(report);
        }
    }
    for org_id in retention::organizations_with_policy(store).await? {
        match purge_org(store, signer, org_id, Initiator::Schedule).await {
            Ok(report) => {
                if report.purged > 0 {
                    tracing::info!(%org_id, purged = report.purged, first_seq = report.first_seq, "retention purge");
                }
                reports.push(report);
            }
            Err(error) => tracing::warn!(%org_id, %error, "retention purge failed; will retry"),
        }
    }
    Ok(reports)
}

/// Runs [`purge_all`] every `interval` until `stop` turns true (or its sender is dropped).
pub async fn run(
    store: Store,
    signer: Arc<CheckpointSigner>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(interval) => {}
        }
        if *stop.borrow() {
            return;
        }
        if let Err(error) = purge_all(&store, &signer).await {
            tracing::warn!(%error, "retention purge failed; will retry");
        }
    }
}
