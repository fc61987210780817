//! The run report: `report.json` (schema in `schemas/report.schema.json`), `junit.xml` and
//! `summary.md`, plus a resilience score per block and overall.
//!
//! Resilience score: the share of experiments whose hypothesis held, in percent, per block and
//! over the whole run. An experiment that could not run (an error, not a disproved check)
//! counts against the score: a run that tested nothing must not look resilient.
//!
//! Room: what a run writes and how it is read back (JSON, JUnit, markdown, SVG, the HTML page,
//! `merge`), and the types they hold: the steady-state [`check`] and the scenario's revert, the
//! [`degraded`]-RPC comparison, [`mutants`]' `mutants.json`. May depend on [`crate::rpc`]'s
//! statistics types and the plumbing; nothing here starts a run.

pub mod check;
pub mod degraded;
mod dir;
pub mod html;
pub mod merge;
pub mod mutants;
pub mod svg;

pub use dir::ReportDir;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use check::Check;

/// Bumped whenever a field changes meaning or disappears (additions keep the version).
pub const SCHEMA_VERSION: u32 = 1;

/// Which engine ran an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    /// A scenario of ForkChaosScenarios.s.sol in forge's EVM on a fork.
    InEvm,
    /// The keeper against an anvil fork disturbed from outside.
    LiveFork,
}

impl Engine {
    /// The engine's name on the command line and in progress lines (`in-evm`, `live-fork`).
    pub fn label(self) -> &'static str {
        match self {
            Engine::InEvm => "in-evm",
            Engine::LiveFork => "live-fork",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check held.
    Held,
    /// At least one check was disproved.
    Disproved,
    /// The experiment could not run to the end (tool, RPC or script failure).
    Error,
    /// The run was stopped by a signal (report level only): the report holds the verdicts of the
    /// experiments that finished before it, nothing else.
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub id: String,
    pub engine: Engine,
    /// The fault injected, in words.
    pub fault: String,
    pub verdict: Verdict,
    pub duration_ms: u64,
    pub checks: Vec<Check>,
    /// Gas of the experiment's `cycle()` calls.
    pub gas: u64,
    pub cycles: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest_before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest_after: Option<String>,
    /// Why the experiment could not run (for `error`), already free of secrets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An in-EVM scenario that reverted instead of returning its checks (its verdict is
/// `disproved`, with a failed `scenario_completed` check): where, why and from which call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevertRecord {
    pub block: u64,
    pub experiment: String,
    #[serde(flatten)]
    pub revert: check::Revert,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub number: u64,
    pub hash: String,
    pub timestamp: u64,
    /// Why this block was chosen (`calm`, `storm`, `crash`, `recovery`, `window`, `pinned`).
    pub label: String,
    pub experiments: Vec<Experiment>,
    pub resilience: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chain {
    pub id: u64,
    /// `local-replica` (the generated BSC replica chain) or `bsc` (a real endpoint).
    pub kind: String,
    /// The upstream, redacted (never a key).
    pub endpoint: String,
    /// The local chain only: `hit` when it was loaded from the chain cache, `stored` or `miss`
    /// when it was built (and stored or not), `off` when the cache was disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub run_id: String,
    pub tool_version: String,
    /// Unix seconds at the start of the run.
    pub started_at: u64,
    pub duration_ms: u64,
    pub seed: u64,
    pub chain: Chain,
    pub blocks: Vec<Block>,
    pub resilience: f64,
    pub verdict: Verdict,
    pub totals: ExperimentTotals,
    /// With `--rpc-faults`: how the degraded run compared with this (clean) one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc_degradation: Option<Degradation>,
    /// What the resilient upstream layer and the keeper's transport did in this (clean) run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc_resilience: Option<Resilience>,
    /// With `--shard I/N`: which share of the (block, experiment) pairs this run had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardOf>,
    /// In-EVM scenarios that reverted, with the decoded reason and the call it came from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reverts: Vec<RevertRecord>,
    /// Set when a signal stopped the run: the blocks hold only what finished before it, and
    /// `verdict` is `interrupted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<Interruption>,
}

/// Retries, hedges and give-ups of the resilient layers (see `crate::rpc::retry`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resilience {
    pub retries: u64,
    pub hedges: u64,
    pub give_ups: u64,
    pub by_method: std::collections::BTreeMap<String, crate::rpc::retry::MethodCounters>,
}

impl Resilience {
    /// Totals of per-method counters.
    pub fn from_methods(
        by_method: std::collections::BTreeMap<String, crate::rpc::retry::MethodCounters>,
    ) -> Self {
        let (retries, hedges, give_ups) = by_method.values().fold((0, 0, 0), |t, c| {
            (t.0 + c.retries, t.1 + c.hedges, t.2 + c.give_ups)
        });
        Self {
            retries,
            hedges,
            give_ups,
            by_method,
        }
    }
}

/// `--shard index/count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardOf {
    pub index: u32,
    pub count: u32,
}

/// What stopped a run and how far it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interruption {
    /// `SIGINT` or `SIGTERM`.
    pub signal: String,
    /// The phase the signal arrived in (`compile`, `chain`, `history`, `in-evm`, `live-fork`,
    /// `report`, ...).
    pub phase: String,
    /// Experiments the run planned, and those that finished (and are in the report).
    pub planned: u64,
    pub finished: u64,
}

/// Outcome counts of a degraded run against the clean run (see [`degraded`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Degradation {
    pub faults: Vec<String>,
    pub matched: u64,
    pub classified_failures: u64,
    pub unclassified_failures: u64,
    pub silent_divergences: u64,
    pub faults_injected: u64,
    /// Upstream requests of the degraded run, per method.
    pub requests: std::collections::BTreeMap<String, u64>,
    /// What the degraded run's resilient layers did.
    #[serde(default)]
    pub resilience: Resilience,
}

impl Degradation {
    /// The hypothesis for RPC faults: every pair matched or failed with a classified cause.
    pub fn held(&self) -> bool {
        self.silent_divergences == 0 && self.unclassified_failures == 0
    }
}

/// The counts of a chaos report: experiments by verdict and steady-state checks (a mutation
/// campaign's are [`mutants::MutantTotals`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExperimentTotals {
    pub experiments: u64,
    pub held: u64,
    pub disproved: u64,
    pub errors: u64,
    pub checks: u64,
    pub checks_failed: u64,
}

/// Percentage of held experiments (0 when there are none).
pub fn resilience<'a>(experiments: impl IntoIterator<Item = &'a Experiment>) -> f64 {
    let (mut held, mut total) = (0u64, 0u64);
    for e in experiments {
        total += 1;
        held += u64::from(e.verdict == Verdict::Held);
    }
    if total == 0 {
        return 0.0;
    }
    (held as f64 * 10_000.0 / total as f64).round() / 100.0
}

/// A versioned JSON document of this room (`report.json`, `mutants.json`) read back typed:
/// `Err` when it cannot be read (with `fix` as the way out), is not a `kind` of schema `expected`,
/// or names another schema version.
pub(crate) fn read_versioned<T: serde::de::DeserializeOwned>(
    path: &Path,
    kind: &str,
    fix: &str,
    expected: u32,
    version: impl Fn(&T) -> u32,
) -> Result<T, crate::error::Unusable> {
    use crate::error::Unusable;
    let text = std::fs::read_to_string(path)
        .map_err(|e| Unusable::with_fix(format!("cannot read {}: {e}", path.display()), fix))?;
    let doc: T = serde_json::from_str(&text).map_err(|e| {
        Unusable::new(format!(
            "{} is not a schema {expected} {kind}: {e}",
            path.display()
        ))
    })?;
    if version(&doc) != expected {
        return Err(Unusable::new(format!(
            "{} has schema_version {}",
            path.display(),
            version(&doc)
        )));
    }
    Ok(doc)
}

impl Report {
    /// A `report.json` read back typed: `Err` when it cannot be read, is not a report or has
    /// another schema version. The one reader of `merge` and `cargo xtask test`.
    pub fn read(path: &Path) -> Result<Report, crate::error::Unusable> {
        read_versioned(
            path,
            "report",
            "pass report directories of `cargo xtask chaos` runs",
            SCHEMA_VERSION,
            |r: &Report| r.schema_version,
        )
    }

    /// Fill in the derived fields (scores, totals, verdict) from the blocks.
    pub fn finish(mut self) -> Self {
        let mut totals = ExperimentTotals::default();
        for block in &mut self.blocks {
            block.resilience = resilience(&block.experiments);
            for e in &block.experiments {
                totals.experiments += 1;
                match e.verdict {
                    Verdict::Held => totals.held += 1,
                    Verdict::Disproved => totals.disproved += 1,
                    Verdict::Error | Verdict::Interrupted => totals.errors += 1,
                }
                totals.checks += e.checks.len() as u64;
                totals.checks_failed += e.checks.iter().filter(|c| !c.passed()).count() as u64;
            }
        }
        self.resilience = resilience(self.blocks.iter().flat_map(|b| &b.experiments));
        self.verdict = if self.interrupted.is_some() {
            Verdict::Interrupted
        } else if totals.errors > 0 {
            Verdict::Error
        } else if totals.disproved > 0 || totals.experiments == 0 {
            Verdict::Disproved
        } else {
            Verdict::Held
        };
        self.totals = totals;
        self
    }

    /// 0 every hypothesis held (including the RPC one of a degraded run), 1 one was disproved,
    /// 2 an experiment could not run.
    pub fn exit_code(&self) -> std::process::ExitCode {
        let degradation_held = self.rpc_degradation.as_ref().is_none_or(Degradation::held);
        match self.verdict {
            Verdict::Error | Verdict::Interrupted => {
                std::process::ExitCode::from(crate::error::EXIT_UNUSABLE)
            }
            Verdict::Held if degradation_held => std::process::ExitCode::SUCCESS,
            _ => std::process::ExitCode::from(1),
        }
    }

    /// Write `report.json`, `junit.xml`, `summary.md` and `report.html` into `dir`; returns
    /// their paths.
    pub fn write(&self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        self.write_with(dir, &[dir])
    }

    /// [`Report::write`], with the page's side files (the chain's history, the window, the
    /// degraded comparison) looked up in `sources` (a merged report: its shards' directories).
    pub fn write_with(&self, dir: &Path, sources: &[&Path]) -> anyhow::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let files = [
            ("report.json", serde_json::to_string_pretty(self)? + "\n"),
            ("junit.xml", self.junit()?),
            ("summary.md", self.summary_markdown()),
        ];
        let mut written = Vec::new();
        // Each file appears whole or not at all (written aside, then renamed): a reader, or a
        // signal in the middle, never sees half a report. report.json goes last, so a directory
        // with a report.json has the other two of the same report.
        for (name, text) in files.into_iter().rev() {
            let path = dir.join(name);
            let part = dir.join(format!(".{name}.part"));
            std::fs::write(&part, text).with_context(|| format!("writing {}", part.display()))?;
            std::fs::rename(&part, &path)
                .with_context(|| format!("renaming {} to {}", part.display(), path.display()))?;
            written.push(path);
        }
        written.push(crate::report::html::write(dir, self, sources)?);
        Ok(written)
    }

    /// One JUnit suite per pinned block, one case per experiment; a disproved check is a
    /// failure naming the check, an experiment that could not run is an error.
    pub fn junit(&self) -> anyhow::Result<String> {
        use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
        let mut report = JReport::new(format!("chaos {}", self.run_id));
        for block in &self.blocks {
            let mut suite = TestSuite::new(format!("block {} ({})", block.number, block.label));
            for e in &block.experiments {
                let status = match e.verdict {
                    Verdict::Held => TestCaseStatus::success(),
                    Verdict::Disproved => {
                        let revert = self.revert_of(block.number, e);
                        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                        s.set_message(not_held(e, revert));
                        s.set_type(if revert.is_some() {
                            "scenario reverted"
                        } else {
                            "hypothesis disproved"
                        });
                        if let Some(revert) = revert {
                            s.set_description(revert_detail(revert));
                        }
                        s
                    }
                    Verdict::Error | Verdict::Interrupted => {
                        let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                        s.set_message(e.error.clone().unwrap_or_else(|| "could not run".into()));
                        s
                    }
                };
                let mut case =
                    TestCase::new(format!("{} [{}]", e.id, engine_name(e.engine)), status);
                case.set_classname(format!("chaos.block{}", block.number));
                case.set_time(std::time::Duration::from_millis(e.duration_ms));
                suite.add_test_case(case);
            }
            report.add_test_suite(suite);
        }
        report.to_string().context("serialising junit.xml")
    }

    /// The Markdown summary (also appended to `$GITHUB_STEP_SUMMARY`).
    pub fn summary_markdown(&self) -> String {
        let mut md = String::new();
        let verdict = match self.verdict {
            Verdict::Held => "every hypothesis held",
            Verdict::Disproved => "a hypothesis was disproved",
            Verdict::Error => "some experiments could not run",
            Verdict::Interrupted => "interrupted",
        };
        let _ = writeln!(md, "## Chaos run `{}`: {verdict}\n", self.run_id);
        if let Some(stop) = &self.interrupted {
            let _ = writeln!(
                md,
                "**Interrupted by {} during {}**: {} of {} planned experiments finished; only \
                 those are below. This is not a complete run.\n",
                stop.signal, stop.phase, stop.finished, stop.planned
            );
        }
        let _ = writeln!(
            md,
            "Chain {} ({}), seed {}, {} experiments at {} blocks: {} held, {} disproved, {} errors. \
             Resilience score **{:.2}%**.\n",
            self.chain.id,
            self.chain.kind,
            self.seed,
            self.totals.experiments,
            self.blocks.len(),
            self.totals.held,
            self.totals.disproved,
            self.totals.errors,
            self.resilience
        );
        let _ = writeln!(
            md,
            "| block | label | time (unix) | experiments | held | resilience |"
        );
        let _ = writeln!(md, "| ---: | --- | ---: | ---: | ---: | ---: |");
        for b in &self.blocks {
            let held = b
                .experiments
                .iter()
                .filter(|e| e.verdict == Verdict::Held)
                .count();
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {:.2}% |",
                b.number,
                b.label,
                b.timestamp,
                b.experiments.len(),
                held,
                b.resilience
            );
        }
        if let Some(d) = &self.rpc_degradation {
            let _ = writeln!(
                md,
                "\n### Degraded RPC ({})\n\n{} matched, {} failed with a classified RPC cause, {} failed unclassified, \
                 **{} silent divergences**; {} faults injected; the resilient layers made {} retries and {} hedges and gave up {} times.\n",
                d.faults.join(", "),
                d.matched,
                d.classified_failures,
                d.unclassified_failures,
                d.silent_divergences,
                d.faults_injected,
                d.resilience.retries,
                d.resilience.hedges,
                d.resilience.give_ups
            );
        }
        let failures: Vec<_> = self
            .blocks
            .iter()
            .flat_map(|b| b.experiments.iter().map(move |e| (b, e)))
            .filter(|(_, e)| e.verdict != Verdict::Held)
            .collect();
        if !failures.is_empty() {
            let _ = writeln!(md, "\n### Not held\n");
            for (b, e) in failures {
                let why = match e.verdict {
                    Verdict::Error | Verdict::Interrupted => e.error.clone().unwrap_or_default(),
                    _ => not_held(e, self.revert_of(b.number, e)),
                };
                let _ = writeln!(
                    md,
                    "- block {} `{}` ({}): {}",
                    b.number,
                    e.id,
                    engine_name(e.engine),
                    why
                );
            }
        }
        md
    }
}

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::InEvm => "in-evm",
        Engine::LiveFork => "live-fork",
    }
}

impl Report {
    /// How the in-EVM experiment `e` at `block` reverted, if it did.
    pub fn revert_of(&self, block: u64, e: &Experiment) -> Option<&check::Revert> {
        (e.engine == Engine::InEvm)
            .then(|| {
                self.reverts
                    .iter()
                    .find(|r| r.block == block && r.experiment == e.id)
            })
            .flatten()
            .map(|r| &r.revert)
    }
}

/// Why a disproved experiment did not hold: its revert, or its failed checks.
pub fn not_held(e: &Experiment, revert: Option<&check::Revert>) -> String {
    match revert {
        Some(revert) => revert.describe(),
        None => e
            .checks
            .iter()
            .filter(|c| !c.passed())
            .map(describe_check)
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// The revert's call path and raw data, for junit's failure text.
fn revert_detail(revert: &check::Revert) -> String {
    let mut text = String::new();
    if !revert.path.is_empty() {
        let _ = writeln!(text, "call path: {}", revert.path.join(" -> "));
    }
    let _ = writeln!(text, "revert data: {}", revert.data);
    text
}

/// `S2_bounty_wei: observed 12 > bound 10`.
pub fn describe_check(c: &Check) -> String {
    let shown = if c.passed() {
        c.relation().to_string()
    } else {
        format!("not {}", c.relation())
    };
    format!(
        "{}: observed {} {} bound {}",
        c.name,
        c.observed(),
        shown,
        c.bound()
    )
}

/// Append the summary to `$GITHUB_STEP_SUMMARY` when it is set.
pub fn append_step_summary(markdown: &str) -> anyhow::Result<()> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", Path::new(&path).display()))?;
    file.write_all(markdown.as_bytes())?;
    file.write_all(b"\n")?;
    Ok(())
}
