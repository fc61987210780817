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
//! 4. Batches of compiled mutants run ([`mod@run`]): one `forge script` per (block, batch), every
//!    scenario against every vault of the batch on one fork (world and fork state built once
//!    per process), on every core. A mutant is killed when a hypothesis is disproved or a
//!    scenario crashes, timed out beyond `--timeout`, otherwise it survived.
//! 5. [`report`]: `mutants.json`, `summary.md`, the step summary; exit 0 when the score meets
//!    `--min-score`, 1 below it, 2 when the run could not be done.
//!
//! Room: `cargo xtask mutants`, a consumer of the chain, foundry and chaos rooms (it judges
//! mutants with the chaos suite's in-EVM engine and report types). Nothing but [`crate::bench`] and
//! the report page depend on it. It re-enters the binary through
//! [`crate::project::self_command`], like `bench`.

pub mod args;
pub mod bench;
mod campaign;
pub mod compile;
pub mod config;
pub mod generate;
pub mod live;
mod pipeline;
pub mod report;
pub mod run;

use crate::mutants::campaign::{finish_report, Campaign, ReportParts};
use crate::mutants::pipeline::record;
pub use args::{MutantEngine, MutantsArgs, MutantsCommand};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;

use self::compile::Sources;
use self::config::Config;
use self::generate::Mutant;
use self::report::{MutantRecord, Status, Timing};
use self::run::ScenarioVerdict;
use crate::chaos::pin::PinnedBlock;
use crate::error::Unusable;
use crate::project::Project;
use crate::shell;

/// Every mutant of the files under `paths`, and those files.
pub struct MutantCatalogue {
    pub sources: Sources,
    pub files: BTreeSet<String>,
    pub mutants: Vec<Mutant>,
}

impl MutantCatalogue {
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
            let catalogue = MutantCatalogue::load(project.root(), &paths)?;
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
    let catalogue = MutantCatalogue::load(project.root(), &paths)?;
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

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

fn verdict_text(v: &ScenarioVerdict) -> String {
    match v {
        ScenarioVerdict::Held => "held".into(),
        ScenarioVerdict::Disproved(checks) => format!("disproved: {}", checks.join("; ")),
        ScenarioVerdict::Reverted(reason) => format!("reverted: {reason}"),
        ScenarioVerdict::TimedOut => "timed out".into(),
        ScenarioVerdict::Error(e) => format!("could not run: {e}"),
    }
}
