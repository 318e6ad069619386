//! The rules every policy obeys, whether read from a file or assembled in code: unique keys,
//! names defined before use, thresholds within their groups, exactly one quorum.

use super::{Policy, PolicyError, PolicyLog, PolicyWitness, QUORUM_NONE, Threshold, WitnessGroup};
use crate::checkpoint::CheckpointVerifier;
use crate::cosignature::CosignatureVerifier;

/// Assembles a [`Policy`] line by line; each step refuses what the format forbids.
///
/// ```
/// use audit_core::checkpoint::CheckpointSigner;
/// use audit_core::cosignature::Cosigner;
/// use audit_core::policy::{Policy, Threshold};
///
/// let log = CheckpointSigner::from_seed("audit-log", &[1; 32]).unwrap().verifier();
/// let a = Cosigner::from_seed("a.example", &[2; 32]).unwrap().verifier();
/// let b = Cosigner::from_seed("b.example", &[3; 32]).unwrap().verifier();
/// let mut builder = Policy::builder();
/// builder
///     .add_log(log, Some("https://audit.example"))?
///     .add_witness("a", a, None)?
///     .add_witness("b", b, None)?
///     .add_group("both", Threshold::All, &["a", "b"])?
///     .set_quorum("both")?;
/// let policy = builder.build()?;
/// assert_eq!(Policy::parse(&policy.to_text())?, policy);
/// # Ok::<(), audit_core::policy::PolicyError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct PolicyBuilder {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<WitnessGroup>,
    quorum: Option<Option<String>>,
}

fn refuse<T>(message: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError::Definition(message.into()))
}

/// The part of a vkey that is the key itself: two vkeys wrapping one key are duplicates even
/// under other names.
fn key_part(vkey: &str) -> &str {
    vkey.rsplit('+').next().unwrap_or(vkey)
}

/// The name of the entry among `listed` (name, vkey) that wraps the key of `vkey`.
fn listed_with_key<'a>(mut listed: impl Iterator<Item = (&'a str, String)>, vkey: &str) -> Option<&'a str> {
    listed
        .find(|(_, known)| key_part(known) == key_part(vkey))
        .map(|(name, _)| name)
}

fn check_url(url: Option<&str>) -> Result<(), PolicyError> {
    url.map_or(Ok(()), |url| check_token("the URL", url))
}

/// Refuses a name or URL that would not survive a round trip through the file.
fn check_token(what: &str, token: &str) -> Result<(), PolicyError> {
    if token.is_empty()
        || token
            .chars()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return refuse(format!("{what} {token:?} is empty or holds white space"));
    }
    Ok(())
}

impl PolicyBuilder {
    fn is_defined(&self, name: &str) -> bool {
        self.witnesses.iter().any(|witness| witness.name == name)
            || self.groups.iter().any(|group| group.name == name)
    }

    fn check_new_name(&self, name: &str) -> Result<(), PolicyError> {
        check_token("the name", name)?;
        if name == QUORUM_NONE {
            return refuse("`none` is predefined and cannot name a witness or group");
        }
        if self.is_defined(name) {
            return refuse(format!("{name} is defined twice"));
        }
        Ok(())
    }

    /// Adds a log (`log <vkey> [<url>]`); refuses a second log with the same key.
    pub fn add_log(
        &mut self,
        verifier: CheckpointVerifier,
        url: Option<&str>,
    ) -> Result<&mut Self, PolicyError> {
        check_url(url)?;
        let listed = self
            .logs
            .iter()
            .map(|log| (log.verifier.name(), log.verifier.vkey()));
        if let Some(known) = listed_with_key(listed, &verifier.vkey()) {
            return refuse(format!(
                "the log key {} is already listed as {known}",
                verifier.name()
            ));
        }
        self.logs.push(PolicyLog {
            verifier,
            url: url.map(str::to_owned),
        });
        Ok(self)
    }

    /// Adds a witness (`witness <name> <vkey> [<url>]`); refuses a taken name or a key already
    /// listed.
    pub fn add_witness(
        &mut self,
        name: &str,
        verifier: CosignatureVerifier,
        url: Option<&str>,
    ) -> Result<&mut Self, PolicyError> {
        self.check_new_name(name)?;
        check_url(url)?;
        let listed = self
            .witnesses
            .iter()
            .map(|witness| (witness.name.as_str(), witness.verifier.vkey()));
        if let Some(known) = listed_with_key(listed, &verifier.vkey()) {
            return refuse(format!("witness {name} has the same key as witness {known}"));
        }
        self.witnesses.push(PolicyWitness {
            name: name.to_owned(),
            verifier,
            url: url.map(str::to_owned),
        });
        Ok(self)
    }

    /// Adds a group (`group <name> <all|any|k> <name>...`) of witnesses and groups defined
    /// before it, each listed once.
    pub fn add_group(
        &mut self,
        name: &str,
        threshold: Threshold,
        members: &[&str],
    ) -> Result<&mut Self, PolicyError> {
        self.check_new_name(name)?;
        if members.is_empty() {
            return refuse(format!("group {name} has no members"));
        }
        for (position, member) in members.iter().enumerate() {
            if *member == QUORUM_NONE {
                return refuse(format!("group {name}: `none` cannot be a group member"));
            }
            if !self.is_defined(member) {
                return refuse(format!(
                    "group {name}: {member} is not a witness or group defined before it"
                ));
            }
            if members[..position].contains(member) {
                return refuse(format!("group {name}: {member} is listed twice"));
            }
        }
        if let Threshold::AtLeast(k) = threshold
            && (k == 0 || k > members.len())
        {
            return refuse(format!(
                "group {name}: the threshold {k} is not between 1 and its {} members",
                members.len()
            ));
        }
        self.groups.push(WitnessGroup {
            name: name.to_owned(),
            threshold,
            members: members.iter().map(|member| (*member).to_owned()).collect(),
        });
        Ok(self)
    }

    /// Sets the quorum (`quorum <name>`): a witness or group defined before, or `none`.
    pub fn set_quorum(&mut self, name: &str) -> Result<&mut Self, PolicyError> {
        if self.quorum.is_some() {
            return refuse("a second quorum");
        }
        if name != QUORUM_NONE && !self.is_defined(name) {
            return refuse(format!(
                "the quorum {name} is not a witness or group defined before it"
            ));
        }
        self.quorum = Some((name != QUORUM_NONE).then(|| name.to_owned()));
        Ok(self)
    }

    /// The policy; refused without a quorum.
    pub fn build(self) -> Result<Policy, PolicyError> {
        let Some(quorum) = self.quorum else {
            return refuse("no quorum line (write `quorum none` to require no witness)");
        };
        Ok(Policy {
            logs: self.logs,
            witnesses: self.witnesses,
            groups: self.groups,
            quorum,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::CheckpointSigner;
    use crate::cosignature::Cosigner;

    fn witness(name: &str, seed: u8) -> CosignatureVerifier {
        Cosigner::from_seed(name, &[seed; 32]).unwrap().verifier()
    }

    #[test]
    fn names_must_be_defined_once_and_before_use() {
        let mut builder = Policy::builder();
        builder.add_witness("a", witness("a.example", 1), None).unwrap();
        assert!(builder.add_witness("a", witness("other", 2), None).is_err());
        assert!(builder.add_witness("none", witness("other", 2), None).is_err());
        assert!(builder.add_group("g", Threshold::Any, &["b"]).is_err());
        assert!(builder.add_group("g", Threshold::Any, &["a", "a"]).is_err());
        assert!(builder.add_group("g", Threshold::AtLeast(2), &["a"]).is_err());
        assert!(builder.add_group("g", Threshold::AtLeast(0), &["a"]).is_err());
        assert!(builder.add_group("g", Threshold::Any, &[]).is_err());
        assert!(builder.set_quorum("missing").is_err());
        builder.set_quorum("a").unwrap();
        assert!(builder.set_quorum("a").is_err());
        assert!(builder.build().is_ok());
        assert!(Policy::builder().build().is_err(), "a quorum is required");
    }

    #[test]
    fn a_key_is_listed_once_whatever_its_name() {
        let mut builder = Policy::builder();
        builder.add_witness("a", witness("a.example", 1), None).unwrap();
        assert!(builder.add_witness("b", witness("b.example", 1), None).is_err());
        let log = CheckpointSigner::from_seed("audit-log", &[1; 32])
            .unwrap()
            .verifier();
        builder.add_log(log.clone(), None).unwrap();
        let renamed = log.for_origin("audit-log/elsewhere").unwrap();
        assert!(builder.add_log(renamed, None).is_err());
    }
}
