//! What the witness remembers: across a restart, and when submissions race.

use audit_core::checkpoint::CheckpointVerifier;

use crate::helpers::{TestLog, TestWitness};

#[tokio::test]
async fn a_restarted_witness_remembers_what_it_cosigned() {
    let log = TestLog::new(1);
    let witness = TestWitness::start(vec![log.verifier()]).await;
    witness.submit(&log.request(0, 5)).await.expect(200);
    witness.submit(&log.request(5, 9)).await.expect(200);
    let witness = witness.restart().await;
    assert_eq!(witness.submit(&log.request(5, 20)).await.expect(409), "9\n");
    assert_eq!(witness.submit(&log.request(0, 20)).await.expect(409), "9\n");
    witness.submit(&log.request(9, 20)).await.expect(200);

    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(witness.dir.path().join("witness.json")).unwrap()).unwrap();
    let entry = &state[log.origin()];
    assert_eq!(entry["size"], 20);
    let note = entry["note"].as_str().unwrap();
    assert_eq!(log.verifier().verify(note).unwrap().seq, 20);
}

#[tokio::test]
async fn a_corrupt_state_file_stops_the_start_instead_of_forgetting() {
    let log = TestLog::new(1);
    let witness = TestWitness::start(vec![log.verifier()]).await;
    witness.submit(&log.request(0, 5)).await.expect(200);
    let path = witness.dir.path().join("witness.json");
    witness.witness.stop().await.unwrap();
    std::fs::write(&path, b"{ not json").unwrap();
    let config = audit_server::witness::WitnessConfig::new("w.example", [9; 32], path, vec![log.verifier()]);
    let error = audit_server::witness::Witness::start(config).await.unwrap_err();
    assert!(error.to_string().contains("witness.json"), "{error}");
}

#[tokio::test]
async fn racing_submissions_from_one_old_size_get_one_cosignature() {
    let log = TestLog::new(1);
    let witness = TestWitness::start(vec![log.verifier()]).await;
    witness.submit(&log.request(0, 5)).await.expect(200);
    let bodies: Vec<String> = [9, 12, 16, 20, 9, 12, 16, 20]
        .into_iter()
        .map(|size| log.request(5, size))
        .collect();
    let answers = futures::future::join_all(bodies.iter().map(|body| witness.submit(body))).await;
    let cosigned: Vec<usize> = (0..answers.len())
        .filter(|at| answers[*at].status == 200)
        .collect();
    assert_eq!(cosigned.len(), 1, "{answers:?}");
    let winner = [9, 12, 16, 20, 9, 12, 16, 20][cosigned[0]];
    for answer in answers.iter().filter(|answer| answer.status != 200) {
        assert_eq!(answer.expect(409), format!("{winner}\n"));
    }
    witness.submit(&log.request(winner, 20)).await.expect(200);
}

#[tokio::test]
async fn origins_are_witnessed_apart() {
    let (first, second) = (TestLog::new(1), TestLog::new(1));
    let logs: Vec<CheckpointVerifier> = vec![first.verifier()];
    let witness = TestWitness::start(logs).await;
    witness.submit(&first.request(0, 9)).await.expect(200);
    witness.submit(&second.request(0, 5)).await.expect(200);
    witness.submit(&second.request(5, 20)).await.expect(200);
    assert_eq!(witness.submit(&first.request(5, 20)).await.expect(409), "9\n");
}
