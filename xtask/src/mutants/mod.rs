//! `cargo xtask mutants`: mutation testing of the vault against the chaos suite.
//!
//! How a run goes:
//!
//! 1. [`generate`]: every single-point mutant of the chosen Solidity files, found on
//!    `solar-parse`'s syntax tree, each with a stable id; `mutants.toml` ([`config`]) supplies
//!    the defaults and the reviewed equivalents (a stale one is an error).
//! 2. The local BSC replica chain and its history are built once; the pinned blocks are its
//!    landmarks. The clean vault is compiled ([`compile`]) and the in-EVM suite must hold on it
//!    at every block, or the run stops with exit 2 (the suite itself is red).
//! 3. Each mutant is compiled on its own, in memory, by a warm compiler, recompiling only the
//!    contracts the mutated file can change; mutants that do not compile are dropped, mutants
//!    whose bytecode equals the clean vault's are equivalent. The artifacts go to a scratch
//!    directory under `reports/` that is removed at the end and on SIGINT.
//! 4. Batches of compiled mutants run ([`run`]): one `forge script` per (block, batch), every
//!    scenario against every vault of the batch on one fork (world and fork state built once
//!    per process), on every core. A mutant is killed when a hypothesis is disproved or a
//!    scenario crashes, timed out beyond `--timeout`, otherwise it survived.
//! 5. [`report`]: `mutants.json`, `summary.md`, the step summary; exit 0 when the score meets
//!    `--min-score`, 1 below it, 2 when the run could not be done.

pub mod bench;
pub mod compile;
pub mod config;
pub mod generate;
pub mod live;
pub mod report;
pub mod run;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alloy::providers::Provider as _;
use anyhow::Context as _;

use self::compile::{Compiled, Outcome, Solc, Sources};
use self::config::Config;
use self::generate::Mutant;
use self::report::{BlockInfo, Cell, Detail, MutantRecord, MutantsReport, Status, Timing};
use self::run::{BatchOutcome, Runner, Verdict};
use crate::chaos::args::{parse_shard, Shard};
use crate::chaos::pin::PinnedBlock;
use crate::error::Unusable;
use crate::project::Project;
use crate::shell;
use crate::toolchain::Toolchain;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MutantsArgs {
    #[command(subcommand)]
    pub command: Option<MutantsCommand>,

    /// Mutate this Solidity file or directory (repeatable; default: `paths` in mutants.toml).
    #[arg(long = "path", value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// List the mutants (id, file:line, function, operator, change) and exit.
    #[arg(long)]
    pub list: bool,

    /// Run only this mutant (repeatable): the id from `--list` or a report.
    #[arg(long = "mutant", value_name = "ID")]
    pub mutants: Vec<String>,

    /// Print the diff of one mutant and exit.
    #[arg(long, value_name = "ID", conflicts_with_all = ["list", "mutants"])]
    pub diff: Option<String>,

    /// Which engines judge each mutant: the in-EVM scenarios, or those and the live-fork keeper.
    #[arg(long, value_enum, default_value = "in-evm")]
    pub engine: MutantEngine,

    /// Run only this experiment (repeatable; default: all of the engine's).
    #[arg(long = "scenario", value_name = "ID")]
    pub scenarios: Vec<String>,

    /// Pin this block only (default: the local chain's landmarks).
    #[arg(long, value_name = "N")]
    pub fork_block: Option<u64>,

    /// How long one mutant may run at one block (default: mutants.toml).
    #[arg(long, value_name = "DURATION", value_parser = config::parse_duration)]
    pub timeout: Option<Duration>,

    /// Exit 1 below this mutation score, in percent (default: mutants.toml).
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    pub min_score: Option<f64>,

    /// Run only shard I of N (1-based) of the mutants; `merge` joins the shards' reports.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,

    /// Seed of the local chain's market history (the clean run and every mutant share it).
    #[arg(long, default_value_t = crate::chain::DEFAULT_SEED)]
    pub seed: u64,

    /// Days of market history on the local chain.
    #[arg(long, default_value_t = crate::chain::DEFAULT_DAYS, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub days: u32,

    /// Where mutants.json and summary.md go (default: reports/mutants-RUN_ID).
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,

    /// forge processes at once (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: Option<u64>,

    /// Mutants per forge process (default: mutants.toml).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub batch: Option<u64>,

    /// Run every experiment at every block for every mutant (default: a mutant's later blocks
    /// are skipped once one block killed it).
    #[arg(long)]
    pub full_matrix: bool,

    /// The configuration and reviewed equivalents.
    #[arg(long, value_name = "FILE", default_value = config::FILE)]
    pub config: PathBuf,
}

#[derive(Debug, clap::Subcommand)]
pub enum MutantsCommand {
    /// Merge the reports of several shards into one report directory.
    Merge {
        /// Report directories of the shards.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Where the merged report goes.
        #[arg(long, value_name = "DIR", default_value = "reports/mutants-merged")]
        out: PathBuf,
        /// Exit 1 below this score (default: mutants.toml, whatever the shards used).
        #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
        min_score: Option<f64>,
        /// The configuration that supplies the default minimum score.
        #[arg(long, value_name = "FILE", default_value = config::FILE)]
        config: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MutantEngine {
    InEvm,
    Both,
}

fn parse_percent(text: &str) -> Result<f64, String> {
    let v: f64 = text
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("{v} is not between 0 and 100"));
    }
    Ok(v)
}

/// Every mutant of the files under `paths`, and those files.
pub struct Catalogue {
    pub sources: Sources,
    pub files: BTreeSet<String>,
    pub mutants: Vec<Mutant>,
}

impl Catalogue {
    pub fn load(root: &Path, paths: &[PathBuf]) -> Result<Self, Unusable> {
        let sources = Sources::load(root)?;
        let mut files = BTreeSet::new();
        for path in paths {
            for file in generate::solidity_files(root, path)? {
                if !sources.files.contains_key(&file) {
                    return Err(Unusable::with_fix(
                        format!(
                            "--path {}: {file} is not part of the vault's code",
                            path.display()
                        ),
                        "mutate contracts/vault or files it imports",
                    ));
                }
                files.insert(file);
            }
        }
        let mut mutants = Vec::new();
        for file in &files {
            mutants.extend(generate::mutants_of(file, &sources.files[file])?);
        }
        Ok(Self {
            sources,
            files,
            mutants,
        })
    }
}

pub fn run(args: MutantsArgs, project: &Project) -> anyhow::Result<ExitCode> {
    if let Some(MutantsCommand::Merge {
        dirs,
        out,
        min_score,
        config,
    }) = &args.command
    {
        let config = Config::load(&project.root().join(config))?;
        let min_score = min_score.unwrap_or(config.defaults.min_score);
        // Equivalents reviewed since the shards ran count too (checked against the source).
        let reviewed = |paths: &[String]| -> anyhow::Result<BTreeMap<String, String>> {
            let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
            let catalogue = Catalogue::load(project.root(), &paths)?;
            Ok(config.match_equivalents(&catalogue.mutants, &catalogue.files)?)
        };
        return report::merge(dirs, &project.root().join(out), min_score, &reviewed);
    }
    crate::signals::install();
    let started = Instant::now();
    let started_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let config = Config::load(&project.root().join(&args.config))?;
    let paths: Vec<PathBuf> = if args.paths.is_empty() {
        config.defaults.paths.iter().map(PathBuf::from).collect()
    } else {
        args.paths.clone()
    };
    let catalogue = Catalogue::load(project.root(), &paths)?;
    let equivalents = config.match_equivalents(&catalogue.mutants, &catalogue.files)?;
    let by_id: BTreeMap<&str, &Mutant> = catalogue
        .mutants
        .iter()
        .map(|m| (m.id.as_str(), m))
        .collect();
    let unknown = |id: &str| {
        Unusable::with_fix(
            format!("unknown mutant `{id}`"),
            "`cargo xtask mutants --list` lists every mutant id",
        )
    };

    if let Some(id) = &args.diff {
        let m = by_id.get(id.as_str()).ok_or_else(|| unknown(id))?;
        print!("{}", m.diff(&catalogue.sources.files[&m.file]));
        return Ok(ExitCode::SUCCESS);
    }
    for id in &args.mutants {
        if !by_id.contains_key(id.as_str()) {
            return Err(unknown(id).into());
        }
    }
    let selected: Vec<&Mutant> = catalogue
        .mutants
        .iter()
        .filter(|m| args.mutants.is_empty() || args.mutants.contains(&m.id))
        .enumerate()
        .filter(|(i, _)| args.shard.is_none_or(|s| s.keeps(*i)))
        .map(|(_, m)| m)
        .collect();

    if args.list {
        for m in &selected {
            let mark = equivalents
                .get(&m.id)
                .map(|r| format!("  [equivalent: {r}]"))
                .unwrap_or_default();
            println!("{}{mark}", m.describe());
        }
        let mut per_op: BTreeMap<&str, usize> = BTreeMap::new();
        for m in &selected {
            *per_op.entry(m.operator.name()).or_default() += 1;
        }
        shell::status(
            "Listed",
            format!(
                "{} mutants of {} files ({})",
                selected.len(),
                catalogue.files.len(),
                per_op
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        return Ok(ExitCode::SUCCESS);
    }

    let timeout = match args.timeout {
        Some(t) => t,
        None => config::parse_duration(&config.defaults.timeout).map_err(Unusable::new)?,
    };
    let min_score = args.min_score.unwrap_or(config.defaults.min_score);
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(2, |n| n.get()),
        |j| j as usize,
    );
    let batch = args.batch.map_or(config.defaults.batch, |b| b as usize);
    let run_id = format!("{started_at}-seed{}", args.seed);
    let report_dir = project.root().join(
        args.report_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("reports/mutants-{run_id}"))),
    );
    std::fs::create_dir_all(&report_dir)
        .with_context(|| format!("creating {}", report_dir.display()))?;

    let to_run: Vec<&Mutant> = selected
        .iter()
        .copied()
        .filter(|m| !equivalents.contains_key(&m.id))
        .collect();
    let mut records: Vec<MutantRecord> = selected
        .iter()
        .filter(|m| equivalents.contains_key(&m.id))
        .map(|m| {
            let mut r = record(m, &catalogue);
            r.status = Status::Equivalent;
            r.reason = equivalents.get(&m.id).cloned();
            r
        })
        .collect();
    let mut timing = Timing {
        jobs: jobs as u64,
        batch: batch as u64,
        ..Timing::default()
    };
    let mut pins: Vec<PinnedBlock> = Vec::new();
    let mut experiments: Vec<String> = Vec::new();
    if !to_run.is_empty() {
        let campaign = Campaign {
            args: &args,
            project,
            catalogue: &catalogue,
            to_run: &to_run,
            selected: selected.len(),
            timeout,
            jobs,
            batch,
            run_id: &run_id,
        };
        let done = campaign.execute()?;
        records.extend(done.records);
        pins = done.pins;
        experiments = done.experiments;
        timing = Timing {
            jobs: jobs as u64,
            batch: batch as u64,
            ..done.timing
        };
    }
    finish_report(
        &args,
        &catalogue,
        ReportParts {
            run_id,
            started,
            started_at,
            paths: &paths,
            timeout,
            min_score,
            pins: &pins,
            experiments,
            timing,
            records,
        },
        &report_dir,
    )
}

/// What one campaign produced.
struct Done {
    records: Vec<MutantRecord>,
    pins: Vec<PinnedBlock>,
    experiments: Vec<String>,
    timing: Timing,
}

struct Campaign<'a> {
    args: &'a MutantsArgs,
    project: &'a Project,
    catalogue: &'a Catalogue,
    to_run: &'a [&'a Mutant],
    selected: usize,
    timeout: Duration,
    jobs: usize,
    batch: usize,
    run_id: &'a str,
}

struct ReportParts<'a> {
    run_id: String,
    started: Instant,
    started_at: u64,
    paths: &'a [PathBuf],
    timeout: Duration,
    min_score: f64,
    pins: &'a [PinnedBlock],
    experiments: Vec<String>,
    timing: Timing,
    records: Vec<MutantRecord>,
}

impl Campaign<'_> {
    /// The chain, the clean run and every mutant.
    fn execute(&self) -> anyhow::Result<Done> {
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
                    .filter(|(_, v)| *v != Verdict::Held)
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

fn finish_report(
    args: &MutantsArgs,
    catalogue: &Catalogue,
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
        totals: report::Totals::default(),
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

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

fn verdict_text(v: &Verdict) -> String {
    match v {
        Verdict::Held => "held".into(),
        Verdict::Disproved(checks) => format!("disproved: {}", checks.join("; ")),
        Verdict::Reverted(reason) => format!("reverted: {reason}"),
        Verdict::TimedOut => "timed out".into(),
        Verdict::Error(e) => format!("could not run: {e}"),
    }
}

fn pin_blocks(
    url: &str,
    local: &crate::chain::LocalChain,
    fork_block: Option<u64>,
) -> anyhow::Result<Vec<PinnedBlock>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
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
        crate::chaos::pin::Upstream {
            provider: &provider,
            head,
        }
        .resolve(&selection, &defaults),
    )
}

/// A block's number and every experiment's verdict there.
type CleanRow = (u64, Vec<(String, Verdict)>);

/// The clean vault at every block.
fn run_clean(
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
                    let mut row: Vec<(String, Verdict)> =
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
                                .map(|s| (s.clone(), Verdict::TimedOut))
                                .collect(),
                            BatchOutcome::Failed(e) => runner
                                .scenarios
                                .iter()
                                .map(|s| (s.clone(), Verdict::Error(e.clone())))
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

/// The scratch directory under `reports/` (forge may read there): artifacts of the clean vault
/// and of every mutant, the chain's address book. Removed on drop and by the SIGINT handler.
struct Scratch {
    path: PathBuf,
    /// Removes the directory exactly once: on drop, or from the signal handler.
    _guard: crate::signals::Scratch,
}

impl Scratch {
    fn create(root: &Path, run_id: &str) -> anyhow::Result<Self> {
        let path = root
            .join("reports")
            .join(format!(".mutants-scratch-{run_id}-{}", std::process::id()));
        let guard = crate::signals::Scratch::file(path.clone());
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self {
            path,
            _guard: guard,
        })
    }
}

fn record(m: &Mutant, catalogue: &Catalogue) -> MutantRecord {
    MutantRecord {
        id: m.id.clone(),
        file: m.file.clone(),
        line: m.line,
        column: m.column,
        contract: m.contract.clone(),
        function: m.function.clone(),
        operator: m.operator.name().to_owned(),
        original: m.original.clone(),
        replacement: m.replacement.clone(),
        diff: m.diff(&catalogue.sources.files[&m.file]),
        status: Status::Error,
        reason: None,
        killed_by: vec![],
        matrix: BTreeMap::new(),
        details: vec![],
        compile_ms: 0,
    }
}

enum Event {
    Compiled(usize, CompileResult, u64),
    CompileDone(anyhow::Result<()>),
    Ran(Task, TaskResult),
}

enum CompileResult {
    /// Its artifacts' directory.
    Ready(PathBuf),
    NotCompiled(String),
    Identical,
}

/// One forge process (or one live fork per vault): a stage of the run for a batch of mutants.
#[derive(Clone)]
struct Task {
    stage: usize,
    /// Indices into the mutant list.
    mutants: Vec<usize>,
    /// Their artifact directories.
    dirs: Vec<PathBuf>,
}

enum TaskResult {
    /// Per mutant of the task: (experiment, verdict).
    Rows(Vec<Vec<(String, Verdict)>>),
    TimedOut,
    /// The forge process failed as a whole (not one scenario): the tool's message.
    Failed(String),
}

struct Pipeline<'a> {
    project: &'a Project,
    runner: &'a Runner<'a>,
    live: Option<&'a live::LiveRunner>,
    pins: &'a [PinnedBlock],
    experiments: &'a [String],
    scenarios: &'a [String],
    timeout: Duration,
    jobs: usize,
    batch: usize,
    /// Run every stage of every mutant, even after one killed it.
    full_matrix: bool,
    scratch: &'a Path,
    progress: &'a shell::Progress,
}

/// Per mutant being run: verdicts so far (keyed by block index and experiment).
struct Tracking {
    verdicts: BTreeMap<(usize, String), Verdict>,
    dir: PathBuf,
}

impl Pipeline<'_> {
    /// Stages in order: at each block the in-EVM scenarios, then (with `--engine both`) the
    /// live-fork experiments. (block index, live?)
    fn stages(&self) -> Vec<(usize, bool)> {
        let mut out = Vec::new();
        for b in 0..self.pins.len() {
            if !self.scenarios.is_empty() {
                out.push((b, false));
            }
            if self.live.is_some() {
                out.push((b, true));
            }
        }
        out
    }

    fn execute(
        &self,
        solc: &mut Solc,
        catalogue: &Catalogue,
        mutants: &[&Mutant],
        clean: &BTreeMap<String, Compiled>,
        code_files: &compile::CodeFiles,
    ) -> anyhow::Result<(Vec<MutantRecord>, u64)> {
        let mut records: Vec<MutantRecord> = mutants.iter().map(|m| record(m, catalogue)).collect();
        if mutants.is_empty() {
            return Ok((records, 0));
        }
        let stages = self.stages();
        let (events_tx, events_rx) = mpsc::channel::<Event>();
        let (tasks_tx, tasks_rx) = mpsc::channel::<Task>();
        let tasks_rx = Arc::new(Mutex::new(tasks_rx));
        let mut compile_ms = 0u64;
        std::thread::scope(|s| -> anyhow::Result<()> {
            // The compiler, ahead of the runners.
            let compile_tx = events_tx.clone();
            s.spawn(move || {
                let result = (|| -> anyhow::Result<()> {
                    for (index, m) in mutants.iter().enumerate() {
                        let started = Instant::now();
                        let result = self.compile_one(solc, catalogue, m, clean, code_files)?;
                        if compile_tx
                            .send(Event::Compiled(index, result, elapsed_ms(started)))
                            .is_err()
                        {
                            break;
                        }
                    }
                    Ok(())
                })();
                let _ = compile_tx.send(Event::CompileDone(result));
            });
            // The runners.
            for _ in 0..self.jobs {
                let rx = Arc::clone(&tasks_rx);
                let tx = events_tx.clone();
                let stages = &stages;
                s.spawn(move || loop {
                    let task = match rx.lock().map(|r| r.recv()) {
                        Ok(Ok(task)) => task,
                        _ => break,
                    };
                    let result = self.run_task(stages[task.stage], &task);
                    if tx.send(Event::Ran(task, result)).is_err() {
                        break;
                    }
                });
            }
            drop(events_tx);

            let mut tracking: BTreeMap<usize, Tracking> = BTreeMap::new();
            // Mutants waiting for each stage.
            let mut waiting: Vec<Vec<usize>> = vec![Vec::new(); stages.len()];
            let mut queued = 0usize;
            let mut compiling = true;
            let mut unfinished = mutants.len();
            let result = (|| -> anyhow::Result<()> {
                while unfinished > 0 {
                    let event = events_rx.recv().context("the pipeline stopped")?;
                    match event {
                        Event::Compiled(index, result, ms) => {
                            compile_ms += ms;
                            records[index].compile_ms = ms;
                            match result {
                                CompileResult::Ready(dir) => {
                                    tracking.insert(
                                        index,
                                        Tracking {
                                            verdicts: BTreeMap::new(),
                                            dir,
                                        },
                                    );
                                    waiting[0].push(index);
                                }
                                CompileResult::NotCompiled(error) => {
                                    records[index].status = Status::NotCompiled;
                                    records[index].reason = Some(error);
                                    unfinished -= 1;
                                    self.announce(&records[index]);
                                }
                                CompileResult::Identical => {
                                    records[index].status = Status::Equivalent;
                                    records[index].reason = Some(format!(
                                        "{}: the compiler produced the clean vault's code",
                                        report::IDENTICAL
                                    ));
                                    unfinished -= 1;
                                    self.announce(&records[index]);
                                }
                            }
                        }
                        Event::CompileDone(result) => {
                            result?;
                            compiling = false;
                        }
                        Event::Ran(task, result) => {
                            queued -= 1;
                            let (block, live) = stages[task.stage];
                            let rows: Vec<Vec<(String, Verdict)>> = match result {
                                TaskResult::TimedOut | TaskResult::Failed(_)
                                    if task.mutants.len() > 1 =>
                                {
                                    // Find the slow (or failing) one: each alone, with its own
                                    // deadline.
                                    for (i, dir) in task.mutants.iter().zip(&task.dirs) {
                                        tasks_tx
                                            .send(Task {
                                                stage: task.stage,
                                                mutants: vec![*i],
                                                dirs: vec![dir.clone()],
                                            })
                                            .ok()
                                            .context("the runners stopped")?;
                                        queued += 1;
                                    }
                                    continue;
                                }
                                TaskResult::TimedOut => vec![self
                                    .names_of(live)
                                    .into_iter()
                                    .map(|n| (n, Verdict::TimedOut))
                                    .collect()],
                                TaskResult::Failed(e) => vec![self
                                    .names_of(live)
                                    .into_iter()
                                    .map(|n| (n, Verdict::Error(e.clone())))
                                    .collect()],
                                TaskResult::Rows(rows) => rows,
                            };
                            for (i, row) in task.mutants.iter().zip(rows) {
                                let Some(t) = tracking.get_mut(i) else {
                                    continue;
                                };
                                let mut killed = false;
                                for (name, v) in row {
                                    killed |= v.kills();
                                    t.verdicts.insert((block, name), v);
                                }
                                let next = task.stage + 1;
                                if next < stages.len() && (self.full_matrix || !killed) {
                                    waiting[next].push(*i);
                                } else if let Some(t) = tracking.remove(i) {
                                    self.conclude(&mut records[*i], &t);
                                    let _ = std::fs::remove_dir_all(&t.dir);
                                    unfinished -= 1;
                                    self.announce(&records[*i]);
                                }
                            }
                        }
                    }
                    // Later stages first (they finish mutants); full batches at once, a
                    // partial one when a runner would idle.
                    while let Some(stage) = (0..stages.len()).rev().find(|&st| {
                        let n = waiting[st].len();
                        n >= self.batch || (n > 0 && (queued < self.jobs || !compiling))
                    }) {
                        let take = waiting[stage].len().min(self.batch);
                        let batch: Vec<usize> = waiting[stage].drain(..take).collect();
                        let dirs = batch
                            .iter()
                            .filter_map(|i| tracking.get(i).map(|t| t.dir.clone()))
                            .collect();
                        tasks_tx
                            .send(Task {
                                stage,
                                mutants: batch,
                                dirs,
                            })
                            .ok()
                            .context("the runners stopped")?;
                        queued += 1;
                    }
                }
                Ok(())
            })();
            drop(tasks_tx);
            drop(events_rx);
            result
        })?;
        Ok((records, compile_ms))
    }

    fn names_of(&self, live: bool) -> Vec<String> {
        if live {
            self.live.map(|l| l.ids.clone()).unwrap_or_default()
        } else {
            self.scenarios.to_vec()
        }
    }

    fn run_task(&self, (block, live): (usize, bool), task: &Task) -> TaskResult {
        let block = &self.pins[block];
        let dirs = &task.dirs;
        if live {
            let Some(live) = self.live else {
                return TaskResult::Rows(vec![]);
            };
            return TaskResult::Rows(dirs.iter().map(|d| live.run(block, d)).collect());
        }
        let rel: Vec<String> = dirs
            .iter()
            .map(|d| relative(self.project.root(), d))
            .collect();
        let deadline = self.timeout * u32::try_from(rel.len()).unwrap_or(1);
        match self.runner.run(block, &rel, deadline) {
            BatchOutcome::Done(rows) => TaskResult::Rows(
                rows.into_iter()
                    .map(|row| self.scenarios.iter().cloned().zip(row).collect())
                    .collect(),
            ),
            BatchOutcome::TimedOut => TaskResult::TimedOut,
            BatchOutcome::Failed(e) => TaskResult::Failed(e),
        }
    }

    fn compile_one(
        &self,
        solc: &mut Solc,
        catalogue: &Catalogue,
        m: &Mutant,
        clean: &BTreeMap<String, Compiled>,
        code_files: &compile::CodeFiles,
    ) -> anyhow::Result<CompileResult> {
        let mut sources = catalogue.sources.files.clone();
        let original = &catalogue.sources.files[&m.file];
        sources.insert(m.file.clone(), m.apply(original));
        let targets = code_files.targets_of(&m.file);
        let compiled = match solc.compile(&sources, &targets)? {
            Outcome::Failed(error) => return Ok(CompileResult::NotCompiled(error)),
            Outcome::Ok(c) => c,
        };
        if compiled.iter().all(|(name, c)| clean.get(name) == Some(c)) {
            return Ok(CompileResult::Identical);
        }
        let mut all = clean.clone();
        all.extend(compiled);
        let dir = self.scratch.join("m").join(&m.id);
        compile::write_artifacts(&dir, &all)?;
        Ok(CompileResult::Ready(dir))
    }

    fn conclude(&self, r: &mut MutantRecord, t: &Tracking) {
        let mut matrix: BTreeMap<String, Cell> = BTreeMap::new();
        let mut details = Vec::new();
        for ((block, name), v) in &t.verdicts {
            let cell = match v {
                Verdict::Held => Cell::Held,
                Verdict::Disproved(_) => Cell::Disproved,
                Verdict::Reverted(_) => Cell::Reverted,
                Verdict::TimedOut => Cell::TimedOut,
                Verdict::Error(_) => Cell::Error,
            };
            let entry = matrix.entry(name.clone()).or_insert(cell);
            if cell > *entry {
                *entry = cell;
            }
            if cell != Cell::Held {
                details.push(Detail {
                    block: self.pins[*block].number,
                    experiment: name.clone(),
                    cell,
                    detail: verdict_text(v),
                });
            }
        }
        r.killed_by = self
            .experiments
            .iter()
            .filter(|e| matrix.get(*e).is_some_and(|c| c.kills()))
            .cloned()
            .collect();
        let any = |c: Cell| matrix.values().any(|v| *v == c);
        r.status = if !r.killed_by.is_empty() {
            Status::Killed
        } else if any(Cell::TimedOut) {
            Status::TimedOut
        } else if any(Cell::Error) {
            Status::Error
        } else {
            Status::Survived
        };
        r.reason = match r.status {
            Status::Error | Status::TimedOut => details.first().map(|d| d.detail.clone()),
            _ => None,
        };
        r.matrix = matrix;
        r.details = details;
    }

    fn announce(&self, r: &MutantRecord) {
        let what = match r.status {
            Status::Killed => format!("killed by {}", r.killed_by.join(", ")),
            Status::Survived => "SURVIVED".to_owned(),
            Status::TimedOut => "timed out".to_owned(),
            Status::Equivalent => "equivalent (identical bytecode)".to_owned(),
            Status::NotCompiled => "does not compile".to_owned(),
            Status::Error => format!("could not run: {}", r.reason.as_deref().unwrap_or("")),
        };
        let file = r.file.rsplit('/').next().unwrap_or(&r.file);
        self.progress.line(format!(
            "  {} {file}:{} {} `{}` -> `{}`: {what}",
            r.id,
            r.line,
            r.operator,
            generate::one_line(&r.original),
            generate::one_line(&r.replacement)
        ));
        self.progress.inc(1);
    }
}
