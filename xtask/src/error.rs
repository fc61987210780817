//! Exit codes and the errors that choose them.
//!
//! - 0: everything held / passed;
//! - 1: a test failed or a hypothesis was disproved;
//! - 2: the run could not be done: bad input, a missing or unusable tool, an unusable endpoint.
//!
//! Any error that reaches `main` without being an [`Unusable`] is a failure of the run itself
//! and also exits with 2: we never pretend a run that did not happen passed or failed.

use std::fmt;
use std::process::ExitCode;

/// The run cannot be done as asked. Carries the cause and what to change.
#[derive(Debug)]
pub struct Unusable {
    pub cause: String,
    pub fix: Option<String>,
}

impl Unusable {
    pub fn new(cause: impl Into<String>) -> Self {
        Self {
            cause: cause.into(),
            fix: None,
        }
    }

    pub fn with_fix(cause: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            cause: cause.into(),
            fix: Some(fix.into()),
        }
    }
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fix {
            Some(fix) => write!(f, "{}; fix: {}", self.cause, fix),
            None => f.write_str(&self.cause),
        }
    }
}

impl std::error::Error for Unusable {}

/// How a command ended, when it ran to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything passed / every hypothesis held.
    Passed,
    /// Something was checked and found wrong.
    Failed,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Passed => ExitCode::SUCCESS,
            Outcome::Failed => ExitCode::from(1),
        }
    }
}

/// Exit code for a run that could not be done.
pub const EXIT_UNUSABLE: u8 = 2;
