//! A mutation campaign: the clean run that every mutant is compared with, the blocks it pins, the
//! mutants judged batch by batch, and the report assembled from the parts.

use super::compile::Solc;
use super::generate::Mutant;
use super::pipeline::Scratch;
use super::report::{BlockInfo, MutantRecord, MutantsReport, Timing};
use super::run::{BatchOutcome, Runner, ScenarioVerdict};
use super::MutantCatalogue;
use super::{
    compile, elapsed_ms, live, relative, report, run, verdict_text, MutantEngine, MutantsArgs,
};
use crate::chaos::pin::PinnedBlock;
use crate::error::Unusable;
use crate::mutants::pipeline::Pipeline;
use crate::project::Project;
use crate::shell;
use crate::toolchain::Toolchain;
use alloy::providers::Provider as _;
use anyhow::Context as _;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What one campaign produced.
pub(super) struct Done {
    pub(super) records: Vec<MutantRecord>,
    pub(super) pins: Vec<PinnedBlock>,
    pub(super) experiments: Vec<String>,
    pub(super) timing: Timing,
}

pub(super) struct Campaign<'a> {
    pub(super) args: &'a MutantsArgs,
    pub(super) project: &'a Project,
    pub(super) catalogue: &'a MutantCatalogue,
    pub(super) to_run: &'a [&'a Mutant],
    pub(super) selected: usize,
    pub(super) timeout: Duration,
    pub(super) jobs: usize,
    pub(super) batch: usize,
    pub(super) run_id: &'a str,
}

pub(super) struct ReportParts<'a> {
    pub(super) run_id: String,
    pub(super) started: Instant,
    pub(super) started_at: u64,
    pub(super) paths: &'a [PathBuf],
    pub(super) timeout: Duration,
    pub(super) min_score: f64,
    pub(super) pins: &'a [PinnedBlock],
    pub(super) experiments: Vec<String>,
    pub(super) timing: Timing,
    pub(super) records: Vec<MutantRecord>,
}

impl Campaign<'_> {
    /// The chain, the clean run and every mutant.
    pub(crate) fn execute(&self) -> anyhow::Result<Done> {
        let (args, project, catalogue, to_run) =
            (self.args, self.project, self.catalogue, self.to_run);
        let (timeout, jobs, batch, run_id) = (self.timeout, self.jobs, self.batch, self.run_id);
        let toolchain = Toolchain::ensure(project)?;
        crate::foundry::forge::build(&toolchain)?;
        let script = run::script_artifact(&project.forge_out())?;
        let catalogue_ids =
            crate::chaos::catalogue::Catalogue::load(&toolchain, &script, run::SCRIPT)?;
        let engine = match args.engine {
            MutantEngine::InEvm => crate::chaos::args::EngineChoice::InEvm,
            MutantEngine::Both => crate::chaos::args::EngineChoice::All,
        };
        let (scenarios, live_ids) = catalogue_ids.select(&args.scenarios, engine)?;

        let scratch = Scratch::create(project.root(), run_id)?;
        let mut solc = Solc::start(&toolchain, project)?;
        let compile_started = Instant::now();
        let (clean, code_files) = solc.compile_clean(&catalogue.sources.files)?;
        let mut compile_ms = elapsed_ms(compile_started);
        let clean_dir = scratch.path.join("clean");
        compile::write_artifacts(&clean_dir, &clean)?;
        // The vault's errors and the scenarios' wrappers, as in a chaos run's report.
        let errors = crate::chaos::scenario::RevertDecoder::load(&project.forge_out());

        // The chain and its history: once per run.
        let chain_started = Instant::now();
        let local = crate::chain::build(
            &toolchain,
            &crate::chain::ChainOptions {
                seed: args.seed,
                days: args.days,
                out_dir: scratch.path.join("chain"),
                port: 0,
                // An entry serves forks at its landmarks only; another block builds and stores.
                cache: match crate::chain::cache::Mode::new(
                    crate::chain::cache::default_dir(project.root()),
                    false,
                ) {
                    crate::chain::cache::Mode::Use(dir) if args.fork_block.is_some() => {
                        crate::chain::cache::Mode::Store(dir)
                    }
                    mode => mode,
                },
            },
        )?;
        let chain_ms = elapsed_ms(chain_started);
        let endpoint =
            crate::rpc::redact::Redacted::parse(&local.info.url, "the local chain's URL")?;
        let proxy = crate::rpc::proxy::Proxy::start(crate::rpc::proxy::ProxyConfig::new(endpoint))?;
        let pins = pin_blocks(&proxy.url(), &local, args.fork_block)?;
        let book = relative(project.root(), &local.info.address_book);

        let runner = Runner {
            toolchain: &toolchain,
            artifact: &script,
            fork_url: proxy.url(),
            book,
            scenarios: scenarios.clone(),
            errors: &errors,
        };
        let live = if live_ids.is_empty() {
            None
        } else {
            Some(live::LiveRunner::new(project, &local, &live_ids)?)
        };
        let mut experiments = scenarios.clone();
        experiments.extend(live_ids.iter().cloned());

        // The clean vault must pass: otherwise a "kill" would say nothing about the mutant.
        shell::status(
            "Checking",
            format!(
                "the clean vault: {} experiments at {} pinned blocks",
                experiments.len(),
                pins.len()
            ),
        );
        let clean_started = Instant::now();
        let clean_rel = relative(project.root(), &clean_dir);
        let clean_rows = run_clean(
            &runner,
            live.as_ref(),
            &pins,
            &clean_rel,
            &clean_dir,
            timeout,
            jobs,
        );
        let clean_suite_ms = elapsed_ms(clean_started);
        let red: Vec<String> = clean_rows
            .iter()
            .flat_map(|(block, row)| {
                row.iter()
                    .filter(|(_, v)| *v != ScenarioVerdict::Held)
                    .map(move |(e, v)| format!("{e} at block {block}: {}", verdict_text(v)))
            })
            .collect();
        if !red.is_empty() {
            return Err(Unusable::with_fix(
                format!(
                    "the chaos suite does not hold on the clean vault ({} of {}): {}",
                    red.len(),
                    clean_rows.iter().map(|(_, r)| r.len()).sum::<usize>(),
                    red.join("; ")
                ),
                "make `cargo xtask chaos` pass first: mutation testing needs a green suite",
            )
            .into());
        }
        shell::status(
            "Held",
            format!(
                "the clean vault passes every experiment ({:.1} s)",
                clean_suite_ms as f64 / 1000.0
            ),
        );

        // The mutants.
        let mutants_started = Instant::now();
        shell::status(
        "Mutating",
        format!(
            "{} mutants ({} generated, {} reviewed equivalent) with {jobs} jobs, {batch} per forge process",
            to_run.len(),
            catalogue.mutants.len(),
            self.selected - to_run.len()
        ),
    );
        let progress = shell::Progress::new(to_run.len() as u64, "mutants");
        let pipeline = Pipeline {
            project,
            runner: &runner,
            live: live.as_ref(),
            pins: &pins,
            experiments: &experiments,
            scenarios: &scenarios,
            timeout,
            jobs,
            batch,
            full_matrix: args.full_matrix,
            scratch: &scratch.path,
            progress: &progress,
        };
        let (records, mutant_compile_ms) =
            pipeline.execute(&mut solc, catalogue, to_run, &clean, &code_files)?;
        drop(progress);
        compile_ms += mutant_compile_ms;
        let mutants_ms = elapsed_ms(mutants_started);
        drop(solc);
        let stats = proxy.stats();
        drop(local);
        drop(scratch);
        Ok(Done {
            records,
            pins,
            experiments,
            timing: Timing {
                clean_suite_ms,
                chain_ms,
                compile_ms,
                mutants_ms,
                per_mutant_ms: 0,
                upstream_requests: stats.calls,
                jobs: jobs as u64,
                batch: batch as u64,
            },
        })
    }
}

pub(super) fn finish_report(
    args: &MutantsArgs,
    catalogue: &MutantCatalogue,
    parts: ReportParts<'_>,
    report_dir: &Path,
) -> anyhow::Result<ExitCode> {
    let ReportParts {
        run_id,
        started,
        started_at,
        paths,
        timeout,
        min_score,
        pins,
        experiments,
        timing,
        records,
    } = parts;
    let report = MutantsReport {
        schema_version: report::SCHEMA_VERSION,
        run_id,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        started_at,
        duration_ms: elapsed_ms(started),
        seed: args.seed,
        days: args.days,
        engine: match args.engine {
            MutantEngine::InEvm => "in-evm".into(),
            MutantEngine::Both => "both".into(),
        },
        paths: paths.iter().map(|p| p.display().to_string()).collect(),
        shard: args.shard.map(|s| report::ShardInfo {
            index: s.index,
            count: s.count,
        }),
        timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        min_score,
        full_matrix: args.full_matrix,
        blocks: pins
            .iter()
            .map(|p| BlockInfo {
                number: p.number,
                hash: p.hash.clone(),
                timestamp: p.timestamp,
                label: p.label.clone(),
            })
            .collect(),
        experiments,
        timing,
        totals: report::MutantTotals::default(),
        score: None,
        verdict: String::new(),
        per_experiment: vec![],
        mutants: records,
    }
    .finish(catalogue.mutants.len() as u64);
    report.write(report_dir)?;
    crate::report::append_step_summary(&report.summary_markdown())?;
    let t = &report.totals;
    shell::status(
        "Finished",
        format!(
            "{} killed, {} survived, {} timed out, {} equivalent, {} not compiled{}; score {} (minimum {:.2}%); report in {}",
            t.killed,
            t.survived,
            t.timed_out,
            t.equivalent_bytecode + t.equivalent_reviewed,
            t.not_compiled,
            if t.errors > 0 {
                format!(", {} could not run", t.errors)
            } else {
                String::new()
            },
            report
                .score
                .map_or_else(|| "n/a".to_owned(), |s| format!("{s:.2}%")),
            report.min_score,
            report_dir.display()
        ),
    );
    Ok(report.exit_code())
}

pub(super) fn pin_blocks(
    url: &str,
    local: &crate::chain::LocalChain,
    fork_block: Option<u64>,
) -> anyhow::Result<Vec<PinnedBlock>> {
    let runtime = crate::runtime::shared()?;
    let provider = crate::chain::connect(url)?;
    let head = runtime
        .block_on(provider.get_block_number())
        .context("reading the local chain's head")?;
    let selection = match fork_block {
        Some(n) => crate::chaos::pin::Selection::Block(n),
        None => crate::chaos::pin::Selection::Default,
    };
    let defaults: Vec<(u64, String)> = local
        .info
        .landmarks
        .iter()
        .map(|m| (m.block, m.label.clone()))
        .collect();
    runtime.block_on(
        crate::chaos::pin::BlockReader {
            provider: &provider,
            head,
        }
        .resolve(&selection, &defaults),
    )
}

/// A block's number and every experiment's verdict there.
pub(super) type CleanRow = (u64, Vec<(String, ScenarioVerdict)>);

/// The clean vault at every block.
pub(super) fn run_clean(
    runner: &Runner<'_>,
    live: Option<&live::LiveRunner>,
    pins: &[PinnedBlock],
    clean_rel: &str,
    clean_dir: &Path,
    timeout: Duration,
    jobs: usize,
) -> Vec<CleanRow> {
    let queue: Mutex<VecDeque<&PinnedBlock>> = Mutex::new(pins.iter().collect());
    let results: Mutex<Vec<CleanRow>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.min(pins.len()).max(1) {
            s.spawn(|| {
                while let Some(block) = queue.lock().ok().and_then(|mut q| q.pop_front()) {
                    let mut row: Vec<(String, ScenarioVerdict)> =
                        match runner.run(block, &[clean_rel.to_owned()], timeout) {
                            BatchOutcome::Done(mut rows) => runner
                                .scenarios
                                .iter()
                                .cloned()
                                .zip(rows.pop().unwrap_or_default())
                                .collect(),
                            BatchOutcome::TimedOut => runner
                                .scenarios
                                .iter()
                                .map(|s| (s.clone(), ScenarioVerdict::TimedOut))
                                .collect(),
                            BatchOutcome::Failed(e) => runner
                                .scenarios
                                .iter()
                                .map(|s| (s.clone(), ScenarioVerdict::Error(e.clone())))
                                .collect(),
                        };
                    if let Some(live) = live {
                        row.extend(live.run(block, clean_dir));
                    }
                    if let Ok(mut r) = results.lock() {
                        r.push((block.number, row));
                    }
                }
            });
        }
    });
    let mut rows = results.into_inner().unwrap_or_default();
    rows.sort_by_key(|(b, _)| *b);
    rows
}
