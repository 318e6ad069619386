//! How a run ends early: a usage error (exit 2) or evidence that does not hold (exit 1).

use std::process::ExitCode;

/// Why the run stops before a verdict on the whole input.
#[derive(Debug)]
pub enum Failure {
    /// The command line or an input file cannot be used.
    Usage(String),
    /// What was given does not prove what it should.
    Invalid(String),
}

impl Failure {
    /// Prints the failure and returns its exit code.
    pub fn exit(self) -> ExitCode {
        match self {
            Failure::Usage(message) => {
                eprintln!("audit-verify: {message}");
                ExitCode::from(2)
            }
            Failure::Invalid(message) => {
                println!("INVALID: {message}");
                ExitCode::from(1)
            }
        }
    }
}

/// Reads a whole text file; a file that cannot be read is a usage error.
pub fn read_text(path: &std::path::Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|error| Failure::Usage(format!("cannot read {}: {error}", path.display())))
}
