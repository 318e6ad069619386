//! Every refusal of tlog-witness add-checkpoint, with its status and message, and that a
//! refusal leaves the witness's record as it was.

use audit_core::witness_protocol::TLOG_SIZE_MEDIA_TYPE;

use crate::helpers::{TestLog, TestWitness, request};

/// A witness of `log` that has cosigned its checkpoint of 9 leaves.
async fn witness_at_9(log: &TestLog) -> TestWitness {
    let witness = TestWitness::start(vec![log.verifier()]).await;
    witness.submit(&log.request(0, 9)).await.expect(200);
    witness
}

#[tokio::test]
async fn an_origin_no_log_key_covers_is_404() {
    let log = TestLog::new(1);
    let witness = TestWitness::start(vec![
        TestLog::new(2).verifier().for_origin("audit-log/other").unwrap(),
    ])
    .await;
    witness.refuses(&log.request(0, 5), 404, &log.origin()).await;
}

#[tokio::test]
async fn a_checkpoint_signed_by_another_key_or_forged_is_403() {
    let log = TestLog::new(1);
    let witness = witness_at_9(&log).await;
    let impostor = TestLog {
        signer: TestLog::new(2).signer,
        org_id: log.org_id,
        tree: log.tree.clone(),
    };
    witness
        .refuses(&impostor.request(9, 20), 403, "no signature by a key trusted")
        .await;

    // The trusted key's signature line over a changed body: a malformed note, also 403.
    let forged = log.request(9, 20).replacen("\n20\n", "\n19\n", 1);
    witness.refuses(&forged, 403, "does not verify").await;
    witness.submit(&log.request(9, 20)).await.expect(200);
}

#[tokio::test]
async fn malformed_bodies_and_an_old_size_past_the_checkpoint_are_400() {
    let log = TestLog::new(1);
    let witness = witness_at_9(&log).await;
    let past = request(20, Vec::new(), log.checkpoint(9));
    witness
        .refuses(&past, 400, "larger than the checkpoint's size 9")
        .await;
    for garbage in [
        "garbage".to_owned(),
        format!("old 09\n\n{}", log.checkpoint(9)),
        format!("old 9\nnot base64\n\n{}", log.checkpoint(9)),
        "old 9\n\naudit-log/x\n9\n".to_owned(),
    ] {
        let answer = witness.submit(&garbage).await;
        assert_eq!(answer.status, 400, "{garbage:?}: {answer:?}");
        assert!(answer.content_type.starts_with("text/plain") && !answer.body.is_empty());
    }
    let too_large = "old 9\n".to_owned() + &"A".repeat(2 << 20);
    assert_eq!(witness.submit(&too_large).await.status, 413);
    witness.submit(&log.request(9, 20)).await.expect(200);
}

#[tokio::test]
async fn a_stale_old_size_is_409_with_the_latest_size() {
    let log = TestLog::new(1);
    let witness = witness_at_9(&log).await;
    for old_size in [0, 5, 20] {
        let answer = witness.submit(&log.request(old_size, 20)).await;
        assert_eq!(answer.expect(409), "9\n");
        assert_eq!(answer.content_type, TLOG_SIZE_MEDIA_TYPE);
    }
    let fresh = TestLog::new(1);
    let answer = TestWitness::start(vec![fresh.verifier()])
        .await
        .submit(&fresh.request(5, 9))
        .await;
    assert_eq!(answer.expect(409), "0\n");
}

#[tokio::test]
async fn a_checkpoint_that_does_not_extend_the_cosigned_one_is_422() {
    let log = TestLog::new(1);
    let witness = witness_at_9(&log).await;

    // A proof for other sizes, or for a tree whose early leaves were rewritten.
    let wrong_proof = request(9, log.tree.consistency_proof(5, 20), log.checkpoint(20));
    witness
        .refuses(&wrong_proof, 422, "not consistent with the size 9 cosigned at")
        .await;
    let mut rewritten = TestLog::new(1);
    rewritten.org_id = log.org_id;
    rewritten.tree = audit_core::merkle::Tree::new();
    for leaf in 0..20u32 {
        rewritten
            .tree
            .push(audit_core::merkle::leaf_hash(&(leaf + 1).to_be_bytes()));
    }
    witness
        .refuses(&rewritten.request(9, 20), 422, "the log was rewritten")
        .await;

    // The same size with another root.
    let same_size = request(9, Vec::new(), log.checkpoint_with_root(9, &[7; 32]));
    witness.refuses(&same_size, 422, "another root").await;

    // Nothing of that moved the record: the consistent extension is still cosigned.
    witness.submit(&log.request(9, 20)).await.expect(200);
}

#[tokio::test]
async fn old_size_0_with_a_proof_and_a_non_empty_root_of_size_0_are_422() {
    let log = TestLog::new(1);
    let witness = TestWitness::start(vec![log.verifier()]).await;
    let with_proof = request(0, log.tree.consistency_proof(5, 9), log.checkpoint(9));
    witness.refuses(&with_proof, 422, "proof must be empty").await;
    let empty_with_root = request(0, Vec::new(), log.checkpoint_with_root(0, &[7; 32]));
    assert!(
        witness
            .submit(&empty_with_root)
            .await
            .expect(422)
            .contains("empty tree")
    );
    witness.submit(&log.request(0, 0)).await.expect(200);
    witness.submit(&log.request(0, 9)).await.expect(200);
}
