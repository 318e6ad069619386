//! The witness's HTTP interface: `POST /add-checkpoint` (tlog-witness), the monitors'
//! `GET /<origin hash>/checkpoint`, and `GET /health`.

use std::sync::Arc;

use audit_core::checkpoint::CheckpointVerifier;
use audit_core::cosignature::Cosigner;
use audit_core::note::NoteSignature;
use audit_core::witness_protocol::ADD_CHECKPOINT_PATH;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::Mutex;

use super::refusal::Refusal;
use super::state::{CosignedCheckpoint, StateStore};
use super::submission::Submission;

/// The largest request body read: a checkpoint, its signatures and 63 proof lines fit many
/// times over.
pub const MAX_BODY_BYTES: usize = 1 << 20;

const TEXT: &str = "text/plain; charset=utf-8";

/// What every request of one witness shares.
#[derive(Debug)]
pub struct WitnessState {
    /// The witness's key.
    pub cosigner: Cosigner,
    /// The log keys it trusts.
    pub logs: Vec<CheckpointVerifier>,
    /// The latest cosigned checkpoints; holding the lock from the old-size check to the save
    /// makes concurrent submissions for an origin take turns, so none rolls another back.
    pub store: Mutex<StateStore>,
}

/// The witness's routes over `state`.
pub fn router(state: Arc<WitnessState>) -> Router {
    Router::new()
        .route(ADD_CHECKPOINT_PATH, post(add_checkpoint))
        .route("/health", get(|| async { "ok\n" }))
        .route("/{origin_hash}/checkpoint", get(latest_checkpoint))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn add_checkpoint(State(witness): State<Arc<WitnessState>>, body: Bytes) -> Result<Response, Refusal> {
    let submission = Submission::verify(&body, &witness.logs).inspect_err(log_refusal)?;
    let origin = submission.head.origin.as_str();
    let mut store = witness.store.lock().await;
    submission
        .check_extends(store.latest(origin))
        .inspect_err(|refusal| {
            // A validly signed checkpoint that does not extend what was cosigned is evidence
            // that the log misbehaved: keep it in the log.
            if refusal.is_evidence() {
                tracing::warn!(%origin, note = %submission.note.text(), %refusal, "refused an inconsistent checkpoint");
            } else {
                log_refusal(refusal);
            }
        })?;
    let time = chrono::Utc::now();
    let line = witness
        .cosigner
        .cosign(&submission.note.body, time.timestamp().unsigned_abs());
    // Kept for monitors with this cosignature, in place of any older one of ours it carried.
    let mut note = submission.note.clone();
    let verifier = witness.cosigner.verifier();
    note.signatures
        .retain(|signature| !verifier.is_signer_of(signature));
    note.signatures
        .push(NoteSignature::parse(&line).expect("the witness's own cosignature line parses"));
    let cosigned = CosignedCheckpoint {
        size: submission.head.size,
        root: submission.head.root,
        note: note.text(),
        time,
    };
    store.record(origin, cosigned).await.map_err(|error| {
        tracing::error!(%origin, %error, "cannot save the witness state; not cosigning");
        Refusal::Storage
    })?;
    tracing::info!(%origin, size = submission.head.size, old_size = submission.old_size, "cosigned");
    Ok(([(header::CONTENT_TYPE, TEXT)], format!("{line}\n")).into_response())
}

fn log_refusal(refusal: &Refusal) {
    tracing::info!(status = refusal.status().as_u16(), %refusal, "refused a checkpoint");
}

async fn latest_checkpoint(
    State(witness): State<Arc<WitnessState>>,
    Path(origin_hash): Path<String>,
) -> Response {
    let store = witness.store.lock().await;
    match store.latest_by_origin_hash(&origin_hash) {
        Some(cosigned) => ([(header::CONTENT_TYPE, TEXT)], cosigned.note.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, "no checkpoint cosigned for this origin\n").into_response(),
    }
}
