//! The policy file: one definition per line, items separated by spaces or tabs, `#` comments
//! and blank lines ignored.

use super::{Policy, PolicyBuilder, PolicyError, QUORUM_NONE, Threshold};
use crate::checkpoint::{CheckpointError, CheckpointVerifier};
use crate::cosignature::CosignatureVerifier;

/// The line a failure is reported at.
fn at_line(line: usize) -> impl Fn(PolicyError) -> PolicyError {
    move |error| match error {
        PolicyError::Definition(message) => PolicyError::Line { line, message },
        other => other,
    }
}

fn syntax<T>(message: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError::Definition(message.into()))
}

fn parse_threshold(text: &str) -> Result<Threshold, PolicyError> {
    match text {
        "all" => Ok(Threshold::All),
        "any" => Ok(Threshold::Any),
        digits if !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()) => digits
            .parse()
            .map(Threshold::AtLeast)
            .or_else(|_| syntax(format!("the threshold {digits} is too large"))),
        other => syntax(format!("the threshold {other:?} is not `all`, `any` or a number")),
    }
}

/// Reads one non-blank, non-comment line into `builder`.
fn read_line(builder: &mut PolicyBuilder, items: &[&str]) -> Result<(), PolicyError> {
    let bad_key = |error: CheckpointError| PolicyError::Definition(error.to_string());
    match items {
        ["log", vkey, url @ ..] if url.len() <= 1 => {
            let verifier = CheckpointVerifier::from_vkey(vkey).map_err(bad_key)?;
            builder.add_log(verifier, url.first().copied())?;
        }
        ["witness", name, vkey, url @ ..] if url.len() <= 1 => {
            let verifier = CosignatureVerifier::from_vkey(vkey).map_err(bad_key)?;
            builder.add_witness(name, verifier, url.first().copied())?;
        }
        ["group", name, threshold, members @ ..] if !members.is_empty() => {
            builder.add_group(name, parse_threshold(threshold)?, members)?;
        }
        ["quorum", name] => {
            builder.set_quorum(name)?;
        }
        ["log", ..] => return syntax("expected `log <vkey> [<url>]`"),
        ["witness", ..] => return syntax("expected `witness <name> <vkey> [<url>]`"),
        ["group", ..] => return syntax("expected `group <name> <all|any|k> <name>...`"),
        ["quorum", ..] => return syntax("expected `quorum <name>`"),
        [keyword, ..] => return syntax(format!("unknown keyword {keyword:?}")),
        [] => {}
    }
    Ok(())
}

impl Policy {
    /// Reads a policy file. Errors name the line ([`PolicyError::Line`]).
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let mut builder = Policy::builder();
        let mut last = 0;
        for (index, line) in text.split('\n').enumerate() {
            last = index + 1;
            let locate = at_line(last);
            if line.chars().any(|c| c.is_ascii_control() && c != '\t') {
                return Err(locate(PolicyError::Definition(
                    "only tab and newline may appear as control characters".to_owned(),
                )));
            }
            let trimmed = line.trim_start_matches([' ', '\t']);
            if trimmed.starts_with('#') {
                continue;
            }
            let items: Vec<&str> = trimmed
                .split([' ', '\t'])
                .filter(|item| !item.is_empty())
                .collect();
            read_line(&mut builder, &items).map_err(&locate)?;
        }
        builder.build().map_err(at_line(last))
    }

    /// The policy as a file [`Policy::parse`] reads back: logs, witnesses, groups in order,
    /// then the quorum.
    pub fn to_text(&self) -> String {
        let with_url = |line: String, url: &Option<String>| match url {
            Some(url) => format!("{line} {url}\n"),
            None => format!("{line}\n"),
        };
        let mut text = String::new();
        for log in &self.logs {
            text.push_str(&with_url(format!("log {}", log.verifier.vkey()), &log.url));
        }
        for witness in &self.witnesses {
            let line = format!("witness {} {}", witness.name, witness.verifier.vkey());
            text.push_str(&with_url(line, &witness.url));
        }
        for group in &self.groups {
            let threshold = match group.threshold {
                Threshold::All => "all".to_owned(),
                Threshold::Any => "any".to_owned(),
                Threshold::AtLeast(k) => k.to_string(),
            };
            text.push_str(&format!(
                "group {} {threshold} {}\n",
                group.name,
                group.members.join(" ")
            ));
        }
        text.push_str(&format!(
            "quorum {}\n",
            self.quorum.as_deref().unwrap_or(QUORUM_NONE)
        ));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::CheckpointSigner;
    use crate::cosignature::Cosigner;

    fn log_vkey() -> String {
        CheckpointSigner::from_seed("audit-log", &[1; 32])
            .unwrap()
            .verifier()
            .vkey()
    }

    fn witness_vkey(name: &str, seed: u8) -> String {
        Cosigner::from_seed(name, &[seed; 32]).unwrap().verifier().vkey()
    }

    fn line_of(error: PolicyError) -> usize {
        match error {
            PolicyError::Line { line, .. } => line,
            other => panic!("not a line error: {other}"),
        }
    }

    #[test]
    fn a_two_level_policy_reads_and_writes_back() {
        let text = format!(
            "# trusted parties\n\n  log {} https://audit.example\nwitness X1 {}\nwitness\tX2 {} https://x2.example\n\
             witness Y1 {}\ngroup X 2 X1 X2\ngroup XY all X Y1\nquorum XY\n",
            log_vkey(),
            witness_vkey("x1.example", 2),
            witness_vkey("x2.example", 3),
            witness_vkey("y1.example", 4),
        );
        let policy = Policy::parse(&text).unwrap();
        assert_eq!(policy.logs()[0].url.as_deref(), Some("https://audit.example"));
        assert_eq!(policy.witnesses().len(), 3);
        assert_eq!(policy.groups()[0].threshold, Threshold::AtLeast(2));
        assert_eq!(policy.quorum(), Some("XY"));
        assert_eq!(Policy::parse(&policy.to_text()).unwrap(), policy);
    }

    #[test]
    fn quorum_none_needs_no_witness() {
        let policy = Policy::parse(&format!("log {}\nquorum none\n", log_vkey())).unwrap();
        assert_eq!(policy.quorum(), None);
        assert!(policy.to_text().ends_with("quorum none\n"));
    }

    #[test]
    fn a_bad_vkey_line_is_named() {
        let text = format!("log {}\n\nwitness w1 not+a+key\nquorum w1\n", log_vkey());
        let error = Policy::parse(&text).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("policy line 3: malformed verifier key"),
            "{error}"
        );
        // A log key where a witness key belongs is refused too.
        let text = format!("witness w1 {}\nquorum w1\n", log_vkey());
        assert_eq!(line_of(Policy::parse(&text).unwrap_err()), 1);
    }

    #[test]
    fn an_unknown_name_in_a_group_is_refused() {
        let text = format!(
            "witness w1 {}\ngroup g any w1 w2\nquorum g\n",
            witness_vkey("w1.example", 2)
        );
        let error = Policy::parse(&text).unwrap_err();
        assert_eq!(line_of(error.clone()), 2);
        assert!(
            error.to_string().contains("w2 is not a witness or group"),
            "{error}"
        );
    }

    #[test]
    fn malformed_files_are_refused_at_their_line() {
        let w1 = witness_vkey("w1.example", 2);
        for (text, line) in [
            (format!("witness w1 {w1}\n"), 2),
            (format!("witness w1 {w1}\nquorum w1\nquorum w1\n"), 3),
            (format!("witness w1 {w1}\ngroup g most w1\nquorum g\n"), 2),
            (format!("witness w1 {w1}\ngroup g 2 w1\nquorum g\n"), 2),
            (format!("witness w1 {w1}\ngroup g any\nquorum g\n"), 2),
            ("quorum w1\n".to_owned(), 1),
            ("trust everyone\nquorum none\n".to_owned(), 1),
            ("quorum none\r\n".to_owned(), 1),
            (format!("log {} a b\nquorum none\n", log_vkey()), 1),
        ] {
            let error = Policy::parse(&text).unwrap_err();
            assert_eq!(line_of(error), line, "{text:?}");
        }
    }
}
