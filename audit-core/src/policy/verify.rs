//! A checkpoint under a policy: signed by one of its logs, cosigned by a quorum of its
//! witnesses.

use std::collections::HashSet;

use super::{Policy, PolicyError};
use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::note::Note;

/// One witness's valid cosignature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessCosignature {
    /// The witness's name in the policy.
    pub witness: String,
    /// The time it states, in seconds since the Unix epoch.
    pub time: u64,
}

/// A checkpoint the policy accepts, and who vouched for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// What the log signed.
    pub checkpoint: Checkpoint,
    /// The key name of the policy log whose signature verified.
    pub log: String,
    /// The policy witnesses whose cosignature verified, in policy order, each once.
    pub cosignatures: Vec<WitnessCosignature>,
    /// The policy witnesses that appear on the note (their name and key id) only with
    /// cosignatures that do not verify: forged, or over another checkpoint.
    pub rejected: Vec<String>,
}

impl VerifiedCheckpoint {
    /// The policy names of the witnesses that cosigned.
    pub fn witnesses(&self) -> Vec<&str> {
        self.cosignatures
            .iter()
            .map(|cosignature| cosignature.witness.as_str())
            .collect()
    }
}

impl Policy {
    /// Checks `note`: a valid signature by one of the policy's logs, then the witnesses'
    /// cosignatures against the quorum. Signatures by keys the policy does not list are
    /// ignored; a cosignature that does not verify counts for nothing.
    pub fn verify(&self, note: &str) -> Result<VerifiedCheckpoint, PolicyError> {
        let (checkpoint, log) = self.verify_log_signature(note)?;
        let parsed = Note::parse(note).map_err(PolicyError::Log)?;
        let mut cosignatures = Vec::new();
        let mut rejected = Vec::new();
        for witness in &self.witnesses {
            let mut valid = None;
            let mut invalid = false;
            for signature in &parsed.signatures {
                match witness.verifier.verify_signature(&parsed.body, signature) {
                    Ok(Some(time)) => {
                        valid = Some(time);
                        break;
                    }
                    Ok(None) => {}
                    Err(_) => invalid = true,
                }
            }
            match valid {
                Some(time) => cosignatures.push(WitnessCosignature {
                    witness: witness.name.clone(),
                    time,
                }),
                None if invalid => rejected.push(witness.name.clone()),
                None => {}
            }
        }
        let verified = VerifiedCheckpoint {
            checkpoint,
            log,
            cosignatures,
            rejected,
        };
        if let Some(quorum) = &self.quorum
            && !self.witnessed(&verified.witnesses()).contains(quorum.as_str())
        {
            return Err(PolicyError::QuorumNotMet {
                quorum: quorum.clone(),
                cosigned: verified
                    .witnesses()
                    .iter()
                    .map(|name| (*name).to_owned())
                    .collect(),
            });
        }
        Ok(verified)
    }

    /// The checkpoint and the name of the first log whose key verifies `note`. When none does,
    /// the most telling failure: a bad or missing signature over an origin a log signs rather
    /// than an origin it does not.
    fn verify_log_signature(&self, note: &str) -> Result<(Checkpoint, String), PolicyError> {
        let mut failure: Option<CheckpointError> = None;
        for log in &self.logs {
            match log.verifier.verify(note) {
                Ok(checkpoint) => return Ok((checkpoint, log.verifier.name().to_owned())),
                Err(error) => {
                    let foreign_origin = matches!(error, CheckpointError::BadBody(_));
                    if failure.is_none() || !foreign_origin {
                        failure = Some(error);
                    }
                }
            }
        }
        Err(failure.map_or(PolicyError::NoLog, PolicyError::Log))
    }

    /// Every witness and group that witnessed the checkpoint, given the witnesses that
    /// cosigned it. Groups only name what was defined before them, so one pass in definition
    /// order settles nested groups.
    fn witnessed<'a>(&'a self, cosigned: &[&'a str]) -> HashSet<&'a str> {
        let mut witnessed: HashSet<&str> = cosigned.iter().copied().collect();
        for group in &self.groups {
            let count = group
                .members
                .iter()
                .filter(|member| witnessed.contains(member.as_str()))
                .count();
            if count >= group.threshold.required(group.members.len()) {
                witnessed.insert(&group.name);
            }
        }
        witnessed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::CheckpointSigner;
    use crate::cosignature::Cosigner;
    use crate::note::NoteSignature;

    struct Parties {
        log: CheckpointSigner,
        witnesses: Vec<Cosigner>,
    }

    impl Parties {
        fn new() -> Parties {
            Parties {
                log: CheckpointSigner::from_seed("audit-log", &[1; 32]).unwrap(),
                witnesses: (0..5u8)
                    .map(|n| Cosigner::from_seed(&format!("w{n}.example"), &[10 + n; 32]).unwrap())
                    .collect(),
            }
        }

        /// A policy with witnesses `w0`..`w4` and `rules` (group and quorum lines).
        fn policy(&self, rules: &str) -> Policy {
            let mut text = format!("log {}\n", self.log.verifier().vkey());
            for (n, witness) in self.witnesses.iter().enumerate() {
                text.push_str(&format!("witness w{n} {}\n", witness.verifier().vkey()));
            }
            Policy::parse(&(text + rules)).unwrap()
        }

        /// A checkpoint note cosigned by the witnesses numbered `by`.
        fn note(&self, by: &[usize]) -> String {
            let time = crate::timestamp::parse("2026-12-06T10:00:00Z").unwrap();
            let checkpoint = Checkpoint::new("audit-log", uuid::Uuid::nil(), 4, &"cd".repeat(32), time)
                .with_root(&[9; 32]);
            let mut note = self.log.sign(&checkpoint).note;
            for &n in by {
                note.push_str(&self.witnesses[n].cosign(&checkpoint.body(), 1_700_000_000 + n as u64));
                note.push('\n');
            }
            note
        }
    }

    fn met(policy: &Policy, note: &str) -> bool {
        match policy.verify(note) {
            Ok(_) => true,
            Err(PolicyError::QuorumNotMet { .. }) => false,
            Err(other) => panic!("unexpected failure: {other}"),
        }
    }

    #[test]
    fn a_single_witness_quorum_is_met_or_not() {
        let parties = Parties::new();
        let policy = parties.policy("quorum w1\n");
        let verified = policy.verify(&parties.note(&[0, 1])).unwrap();
        assert_eq!(verified.witnesses(), ["w0", "w1"]);
        assert_eq!(verified.cosignatures[1].time, 1_700_000_001);
        assert_eq!(verified.log, "audit-log");
        let error = policy.verify(&parties.note(&[0])).unwrap_err();
        assert!(
            error.to_string().contains("quorum w1: cosigned only by w0"),
            "{error}"
        );
        assert!(met(&parties.policy("quorum none\n"), &parties.note(&[])));
    }

    #[test]
    fn any_all_and_k_of_n() {
        let parties = Parties::new();
        let any = parties.policy("group g any w0 w1 w2\nquorum g\n");
        let all = parties.policy("group g all w0 w1 w2\nquorum g\n");
        let two = parties.policy("group g 2 w0 w1 w2\nquorum g\n");
        assert!(met(&any, &parties.note(&[2])));
        assert!(!met(&any, &parties.note(&[3, 4])));
        assert!(!met(&all, &parties.note(&[0, 1])));
        assert!(met(&all, &parties.note(&[0, 1, 2])));
        assert!(!met(&two, &parties.note(&[0])));
        assert!(met(&two, &parties.note(&[0, 2])));
    }

    #[test]
    fn nested_groups_need_each_level() {
        let parties = Parties::new();
        let policy = parties.policy("group x 2 w0 w1 w2\ngroup y any w3 w4\ngroup xy all x y\nquorum xy\n");
        assert!(met(&policy, &parties.note(&[0, 1, 4])));
        assert!(!met(&policy, &parties.note(&[0, 1])), "no y witness");
        assert!(!met(&policy, &parties.note(&[0, 3, 4])), "one x witness");
    }

    #[test]
    fn a_witness_counts_once() {
        let parties = Parties::new();
        let policy = parties.policy("group g 2 w0 w1\nquorum g\n");
        let mut twice = parties.note(&[0]);
        let again = parties.witnesses[0].cosign(&Note::parse(&twice).unwrap().body, 5);
        twice.push_str(&format!("{again}\n"));
        assert!(!met(&policy, &twice));
    }

    #[test]
    fn a_forged_cosignature_is_not_counted() {
        let parties = Parties::new();
        let policy = parties.policy("group g 2 w0 w1\nquorum g\n");
        let mut note = Note::parse(&parties.note(&[0, 1])).unwrap();
        let forged: &mut NoteSignature = &mut note.signatures[1];
        forged.signature[20] ^= 1;
        let error = policy.verify(&note.text()).unwrap_err();
        assert!(matches!(error, PolicyError::QuorumNotMet { ref cosigned, .. } if cosigned == &["w1"]));
        let lenient = parties.policy("quorum w1\n");
        assert_eq!(lenient.verify(&note.text()).unwrap().rejected, ["w0"]);
    }

    #[test]
    fn the_log_signature_is_required() {
        let parties = Parties::new();
        let policy = parties.policy("quorum none\n");
        let impostor = Parties {
            log: CheckpointSigner::from_seed("audit-log", &[2; 32]).unwrap(),
            witnesses: Parties::new().witnesses,
        };
        let error = policy.verify(&impostor.note(&[0])).unwrap_err();
        assert!(
            matches!(error, PolicyError::Log(CheckpointError::NotSignedByKey(_))),
            "{error}"
        );
        let no_log = Policy::parse("quorum none\n").unwrap();
        assert_eq!(no_log.verify(&parties.note(&[])), Err(PolicyError::NoLog));
    }
}
