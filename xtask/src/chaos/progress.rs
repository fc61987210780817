//! What a run prints while it works: one line per finished experiment and a closing count.

use crate::report::{self, Block, Report};
use crate::shell;
use anyhow::Context as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// What a run has done so far: its report directory, the blocks whose experiments finished, and
/// the report's header once the upstream is known.
#[derive(Default)]
pub(super) struct Progress {
    pub(super) dir: Option<report::ReportDir>,
    pub(super) header: Option<Report>,
    pub(super) planned: u64,
    pub(super) started: Option<Instant>,
    pub(super) finished: Finished,
    pub(super) degradation: Option<report::Degradation>,
    pub(super) resilience: Option<report::Resilience>,
}

/// The experiments that finished, block by block, and how the scenarios among them that
/// reverted did.
#[derive(Default)]
pub(super) struct Finished {
    pub(super) blocks: Vec<Block>,
    pub(super) reverts: Vec<report::RevertRecord>,
}

impl Finished {
    fn count(&self) -> usize {
        self.blocks.iter().map(|b| b.experiments.len()).sum()
    }
}

impl Progress {
    pub(crate) fn create_dir(&mut self, dir: report::ReportDir) -> PathBuf {
        let path = dir.path().to_path_buf();
        self.dir = Some(dir);
        path
    }

    /// The report of what finished, marked `interrupted` when a signal came.
    fn report(&self) -> Option<Report> {
        let header = self.header.clone()?;
        let finished = self.finished.count() as u64;
        Some(
            Report {
                duration_ms: self
                    .started
                    .map(|s| u64::try_from(s.elapsed().as_millis()).unwrap_or(u64::MAX))
                    .unwrap_or_default(),
                blocks: self.finished.blocks.clone(),
                reverts: self.finished.reverts.clone(),
                rpc_degradation: self.degradation.clone(),
                rpc_resilience: self.resilience.clone(),
                interrupted: crate::signals::received().map(|signal| report::Interruption {
                    signal: crate::signals::signal_name(signal).into(),
                    phase: crate::signals::current_phase().into(),
                    planned: self.planned,
                    finished,
                }),
                ..header
            }
            .finish(),
        )
    }

    /// Write the report; if a signal arrives while it is written, write it again, marked.
    pub(crate) fn write_report(&self) -> anyhow::Result<Report> {
        let dir = self.dir.as_ref().context("no report directory")?;
        loop {
            let report = self.report().context("no report header")?;
            report.write(dir.path())?;
            if report.interrupted.is_some() || crate::signals::received().is_none() {
                return Ok(report);
            }
        }
    }

    /// How the run ends. After a signal: a report of what finished, marked `interrupted`, or,
    /// when nothing finished, no report directory at all; then the interruption itself, which
    /// exits 130 or 143.
    pub(crate) fn conclude(
        mut self,
        outcome: anyhow::Result<ExitCode>,
    ) -> anyhow::Result<ExitCode> {
        let Err(err) = outcome else {
            return outcome;
        };
        let Some(signal) = crate::signals::received() else {
            // A run that could not be done leaves its directory only if something in it can
            // say why (the chain's files, anvil logs); an empty one is removed.
            if let Some(dir) = self.dir.take() {
                if dir.is_empty() {
                    dir.remove();
                }
            }
            return Err(err);
        };
        let interrupted = crate::signals::Interrupted {
            signal,
            phase: crate::signals::current_phase().into(),
        };
        let finished = self.finished.count();
        if let Some(dir) = self.dir.take() {
            if finished > 0 && self.header.is_some() {
                self.dir = Some(dir);
                match self.write_report() {
                    Ok(_) => shell::warn(format!(
                        "{interrupted}: the {finished} experiments that finished (of {} planned) are in {}, marked interrupted",
                        self.planned,
                        self.dir.as_ref().map(|d| d.path().display().to_string()).unwrap_or_default()
                    )),
                    Err(write) => {
                        shell::error(format!("{interrupted}: no report ({write:#})"));
                        if let Some(dir) = self.dir.take() {
                            dir.remove();
                        }
                    }
                }
            } else {
                dir.remove();
            }
        }
        Err(interrupted.into())
    }
}
