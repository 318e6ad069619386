//! A consistent checkpoint is cosigned, and the cosignature verifies under ours and under
//! `signed_note` (code we did not write) with a cosignature/v1 verifier.

use audit_core::cosignature::CosignatureVerifier;
use audit_core::note::ED25519_COSIGNATURE;
use ed25519_dalek::{Signature, VerifyingKey};
use signed_note::{Note, StandardVerifier, VerifierList};

use crate::helpers::{TestLog, TestWitness, WITNESS_NAME};

/// A `signed_note` verifier of Ed25519 cosignature/v1 lines, written from tlog-cosignature.
struct CosignatureV1 {
    name: String,
    key: VerifyingKey,
    body: String,
}

impl signed_note::Verifier for CosignatureV1 {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        let mut key = vec![ED25519_COSIGNATURE];
        key.extend_from_slice(self.key.as_bytes());
        signed_note::key_id(&self.name, &key)
    }

    fn verify(&self, _msg: &[u8], sig: &[u8]) -> bool {
        let Ok((time, signature)) = <[u8; 72]>::try_from(sig).map(|bytes| {
            let time = u64::from_be_bytes(bytes[..8].try_into().unwrap());
            (time, Signature::from_bytes(&bytes[8..].try_into().unwrap()))
        }) else {
            return false;
        };
        let message = format!("cosignature/v1\ntime {time}\n{}", self.body);
        time > 0 && self.key.verify_strict(message.as_bytes(), &signature).is_ok()
    }
}

fn cosignature_v1(vkey: &str, body: &str) -> CosignatureV1 {
    let (name, rest) = vkey.split_once('+').unwrap();
    let key = base64_decode(rest.split_once('+').unwrap().1);
    assert_eq!(key[0], ED25519_COSIGNATURE);
    CosignatureV1 {
        name: name.to_owned(),
        key: VerifyingKey::from_bytes(&key[1..].try_into().unwrap()).unwrap(),
        body: body.to_owned(),
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

#[tokio::test]
async fn consistent_checkpoints_are_cosigned_from_5_to_9_to_20() {
    let log = TestLog::new(1);
    let witness = TestWitness::start(vec![log.verifier()]).await;
    let verifier = CosignatureVerifier::from_vkey(&witness.witness.vkey()).unwrap();
    assert_eq!(verifier.name(), WITNESS_NAME);
    for (old_size, size) in [(0, 5), (5, 9), (9, 20), (20, 20)] {
        let body = log.request(old_size, size);
        let answer = witness.submit(&body).await;
        let lines = answer.expect(200);
        assert!(lines.starts_with(&format!("\u{2014} {WITNESS_NAME} ")) && lines.ends_with('\n'));
        assert_eq!(lines.lines().count(), 1);
        let checkpoint = body.split_once("\n\n").unwrap().1;
        let cosigned = format!("{checkpoint}{lines}");
        let time = verifier.verify(&cosigned).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(time.abs_diff(now) < 60, "cosigned at {time}, now is {now}");
    }
}

#[tokio::test]
async fn the_cosigned_note_verifies_under_signed_note() {
    let log = TestLog::new(1);
    let witness = TestWitness::start(vec![log.verifier()]).await;
    let body = log.request(0, 9);
    let lines = witness.submit(&body).await.expect(200).to_owned();
    let checkpoint = body.split_once("\n\n").unwrap().1;
    let cosigned = Note::from_bytes(format!("{checkpoint}{lines}").as_bytes()).unwrap();
    let note_body = std::str::from_utf8(cosigned.text()).unwrap().to_owned();

    let log_key = StandardVerifier::new(&log.verifier().for_origin(&log.origin()).unwrap().vkey()).unwrap();
    let witness_key = cosignature_v1(&witness.witness.vkey(), &note_body);
    let both = VerifierList::new(vec![Box::new(log_key), Box::new(witness_key)]);
    let (verified, unverified) = cosigned.verify(&both).unwrap();
    let names: Vec<&str> = verified.iter().map(|signature| signature.name()).collect();
    assert_eq!(names, [log.origin().as_str(), WITNESS_NAME]);
    assert!(unverified.is_empty());

    // Over another checkpoint body the same line does not verify.
    let other = cosignature_v1(&witness.witness.vkey(), &note_body.replacen("\n9\n", "\n8\n", 1));
    let mut signature_bytes = base64_decode(lines.trim_end().rsplit_once(' ').unwrap().1);
    let signature = signature_bytes.split_off(4);
    assert!(!signed_note::Verifier::verify(&other, b"", &signature));
}

#[tokio::test]
async fn a_key_named_by_its_origin_covers_that_origin_only() {
    let log = TestLog::new(1);
    let sibling = TestLog::new(1);
    let witness = TestWitness::start(vec![log.verifier().for_origin(&log.origin()).unwrap()]).await;
    witness.submit(&log.request(0, 5)).await.expect(200);
    witness
        .refuses(&sibling.request(0, 5), 404, &sibling.origin())
        .await;
}

#[tokio::test]
async fn the_latest_cosigned_checkpoint_is_served_to_monitors() {
    use sha2::{Digest, Sha256};
    let log = TestLog::new(1);
    let witness = TestWitness::start(vec![log.verifier()]).await;
    let path = format!(
        "{}/{}/checkpoint",
        witness.witness.url(),
        hex::encode(Sha256::digest(log.origin()))
    );
    assert_eq!(reqwest::get(&path).await.unwrap().status(), 404);
    witness.submit(&log.request(0, 5)).await.expect(200);
    witness.submit(&log.request(5, 9)).await.expect(200);
    let served = reqwest::get(&path).await.unwrap().text().await.unwrap();
    assert!(served.starts_with(&format!("{}\n9\n", log.origin())), "{served}");
    log.verifier().verify(&served).unwrap();
    CosignatureVerifier::from_vkey(&witness.witness.vkey())
        .unwrap()
        .verify(&served)
        .unwrap();

    // Submitted again with that cosignature on it, the note keeps only the fresh one.
    witness
        .submit(&crate::helpers::request(9, Vec::new(), served.clone()))
        .await
        .expect(200);
    let again = reqwest::get(&path).await.unwrap().text().await.unwrap();
    let ours = format!("\u{2014} {WITNESS_NAME} ");
    assert_eq!(again.matches(&ours).count(), 1, "{again}");
}
