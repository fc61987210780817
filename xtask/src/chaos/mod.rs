//! `cargo xtask chaos`: pin blocks of an upstream chain, run the in-EVM scenarios and the
//! live-fork keeper experiments on forks of each, and write the report.
//!
//! The upstream is the local BSC replica chain ([`crate::chain`]) unless `BSC_RPC_URL` names a
//! real BSC archive endpoint. Either way every fork (forge's and anvil's) reads the upstream
//! through the xtask's own JSON-RPC proxy ([`crate::rpc::proxy`]) on 127.0.0.1: forge and
//! anvil never see the real URL (it carries an API key), and the proxy counts every upstream
//! request per method for the report.

pub mod degraded;
pub mod engine;
pub mod pin;
pub mod scenario;
pub mod steady;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use alloy::dyn_abi::DynSolValue;
use alloy::providers::Provider as _;
use anyhow::Context as _;
use serde::Serialize;

use crate::chain::addressbook::AddressBook;
use crate::chain::vault::VaultReader;
use crate::chaos::degraded::Position;
use crate::chaos::engine::live;
use crate::chaos::pin::{PinnedBlock, Point, Selection, Step};
use crate::chaos::scenario::{RawRevert, RevertDecoder, ScenarioResult};
use crate::error::Unusable;
use crate::foundry::anvil::Anvil;
use crate::foundry::artifacts::Artifact;
use crate::foundry::forge::{self, ScriptCall, Target};
use crate::project::Project;
use crate::report::{self, Block, Chain, Engine, Experiment, Report, Totals, Verdict};
use crate::rpc::fault::FaultSpec;
use crate::rpc::keeper::KeeperCounters;
use crate::rpc::ledger::{Ledger, Unit};
use crate::rpc::proxy::{Proxy, ProxyConfig, ProxyHandle, ProxyStats};
use crate::rpc::record::{Recorder, Replay};
use crate::rpc::redact::Redacted;
use crate::rpc::retry::Policy;
use crate::shell;
use crate::toolchain::{Tool, Toolchain};

const SCENARIO_SCRIPT: &str = "script/ForkChaosScenarios.s.sol:ForkChaosScenarios";

/// `path/File.sol:Contract` -> (`File.sol`, `Contract`), as forge lays out `out/`.
fn artifact_of(script: &str) -> Result<(String, String), Unusable> {
    let (path, contract) = script.rsplit_once(':').ok_or_else(|| {
        Unusable::with_fix(
            format!("`{script}` is not PATH:CONTRACT"),
            "write e.g. script/ForkChaosScenarios.s.sol:ForkChaosScenarios",
        )
    })?;
    let file = Path::new(path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((file, contract.to_owned()))
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ChaosArgs {
    #[command(subcommand)]
    pub command: Option<ChaosCommand>,

    /// Run only this experiment (repeatable); `--list` shows the catalogue.
    #[arg(long = "scenario", value_name = "ID")]
    pub scenarios: Vec<String>,

    /// List every experiment (in-EVM scenarios and live-fork keeper experiments) and exit.
    #[arg(long)]
    pub list: bool,

    /// Seed of the local chain's market history and of every seeded fault.
    #[arg(long, default_value_t = crate::chain::DEFAULT_SEED)]
    pub seed: u64,

    /// Days of market history on the local chain.
    #[arg(long, default_value_t = crate::chain::DEFAULT_DAYS, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub days: u32,

    /// Where report.json, junit.xml and summary.md go (default: reports/chaos-RUN_ID). It must
    /// not exist: a run never writes over another run's report.
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,

    /// Replace an existing --report-dir that holds a finished (or interrupted) report; a
    /// directory that is not a report directory, or that a running xtask writes, is refused.
    #[arg(long)]
    pub force: bool,

    /// Print report.json on stdout (human output stays on stderr).
    #[arg(long)]
    pub json: bool,

    /// Open report.html in the desktop's browser when the run ends.
    #[arg(long)]
    pub open: bool,

    /// Fork this block only.
    #[arg(long, value_name = "N", conflicts_with_all = ["at", "window"], help_heading = "Blocks")]
    pub fork_block: Option<u64>,

    /// Fork the last block at or before this time (RFC 3339 or unix seconds).
    #[arg(long, value_name = "TIME", value_parser = pin::parse_time, conflicts_with = "window", help_heading = "Blocks")]
    pub at: Option<u64>,

    /// Fork every block of a window, FROM..TO (block numbers or RFC 3339 times), every --step.
    #[arg(long, value_name = "FROM..TO", value_parser = pin::parse_window, requires = "step", help_heading = "Blocks")]
    pub window: Option<(Point, Point)>,

    /// Step through the window by blocks (`50`) or chain time (`6h`).
    #[arg(long, value_name = "STEP", value_parser = pin::parse_step, requires = "window", help_heading = "Blocks")]
    pub step: Option<Step>,

    /// Run only shard I of N (1-based) of the (block, experiment) pairs.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,

    /// Which engines run.
    #[arg(long, value_enum, default_value = "all")]
    pub engine: EngineChoice,

    /// The local chain's PancakeSwap V2 and Chainlink: `real` (built from the npm registry's
    /// sources, the default) or `hand` (the hand-written replicas, for comparison). Not with
    /// BSC_RPC_URL.
    #[arg(long, value_enum)]
    pub replicas: Option<crate::chain::Replicas>,

    /// How many forge/anvil processes run at once: in-EVM batches of the coming blocks run
    /// while the current block's experiments do (default: the machine's cores, at most 2).
    /// The report is the same for any value.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: Option<u16>,

    /// Build the local chain from scratch instead of loading it from the chain cache
    /// (cache/chain/; also XTASK_CHAIN_CACHE=off).
    #[arg(long)]
    pub no_chain_cache: bool,

    /// Deploy a fresh vault on every live fork (funded, warmed up) instead of using the address
    /// book's; implied on real BSC, where the book names no vault.
    #[arg(long)]
    pub fresh_vault: bool,

    /// Degrade the RPC and compare with a clean run: a profile (slow, flaky, truncating,
    /// rate-limited, stale-head) or a fault spec, optionally prefixed with its position
    /// (`front:` or `upstream:`, see --rpc-faults-at); repeatable.
    #[arg(long, value_name = "[POSITION:]PROFILE|SPEC")]
    pub rpc_faults: Vec<String>,

    /// Where `--rpc-faults` act unless a value names its own position: `front` (between
    /// forge, anvil and the keeper and the xtask) or `upstream` (between the xtask's
    /// resilient layer and the provider).
    #[arg(
        long,
        value_enum,
        value_name = "POSITION",
        default_value = "front",
        requires = "rpc_faults"
    )]
    pub rpc_faults_at: crate::chaos::degraded::Position,

    /// Send a second copy of an upstream read that has not answered within this (the first
    /// valid answer wins); default: no hedging.
    #[arg(long, value_name = "DURATION", value_parser = crate::rpc::serve::positive_duration_arg)]
    pub rpc_hedge_after: Option<std::time::Duration>,

    /// Store every upstream answer the run needs in DIR (with the address book, the pinned
    /// blocks, the seed and the vault mode), compressed and hashed, to replay it later.
    #[arg(long, value_name = "DIR", conflicts_with = "replay")]
    pub record: Option<PathBuf>,

    /// Serve the run from a recording made with `--record`: no upstream, no local chain; a
    /// request the recording does not hold ends the run with exit 2, naming it.
    #[arg(long, value_name = "DIR")]
    pub replay: Option<PathBuf>,

    /// The scenario script (PATH:CONTRACT); another one must keep ForkChaosScenarios' entry
    /// points. The xtask's own tests point it at a deliberately broken vault.
    #[arg(long, value_name = "PATH:CONTRACT", default_value = SCENARIO_SCRIPT, hide = true)]
    pub scenario_script: String,
}

#[derive(Debug, clap::Subcommand)]
pub enum ChaosCommand {
    /// Merge the reports of several shards into one report directory.
    Merge {
        /// Report directories of the shards.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Where the merged report goes (must not exist, unless --force).
        #[arg(long, value_name = "DIR", default_value = "reports/merged")]
        out: PathBuf,
        /// Open the merged report.html in the desktop's browser.
        #[arg(long)]
        open: bool,
        /// Replace an existing --out that holds a finished report.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineChoice {
    All,
    InEvm,
    LiveFork,
}

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

pub fn parse_shard(text: &str) -> Result<Shard, String> {
    let (i, n) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not I/N"))?;
    let index: u32 = i
        .trim()
        .parse()
        .map_err(|_| format!("`{i}` is not a shard number"))?;
    let count: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` is not a shard count"))?;
    if count == 0 || index == 0 || index > count {
        return Err(format!("shard {index}/{count}: I must be between 1 and N"));
    }
    Ok(Shard { index, count })
}

impl Shard {
    /// Pairs are dealt round-robin in (block, experiment) order, so every shard gets a share
    /// of every block and the split is the same on every machine.
    pub fn keeps(&self, position: usize) -> bool {
        position % self.count as usize == (self.index - 1) as usize
    }
}

/// The whole catalogue: in-EVM scenario ids (from the script itself) and live-fork ids.
pub struct Catalogue {
    pub in_evm: Vec<String>,
    pub live: Vec<String>,
}

impl Catalogue {
    pub fn load(toolchain: &Toolchain, artifact: &Artifact, script: &str) -> anyhow::Result<Self> {
        let call = ScriptCall {
            target: script.into(),
            calldata: artifact.encode_call("scenarioIds", &[])?,
            on: Target::Local,
            env: vec![],
        };
        let output = forge::run_script(toolchain, &call)?;
        let values = artifact.decode_output("scenarioIds", &output.returned)?;
        let ids = values
            .first()
            .and_then(DynSolValue::as_array)
            .context("scenarioIds() returned no array")?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .context("scenario id is not a string")
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            in_evm: ids,
            live: live::EXPERIMENTS
                .iter()
                .map(|(id, _)| (*id).to_owned())
                .collect(),
        })
    }

    /// The experiments to run, in catalogue order; an unknown id is bad input.
    pub fn select(
        &self,
        asked: &[String],
        engine: EngineChoice,
    ) -> Result<(Vec<String>, Vec<String>), Unusable> {
        for id in asked {
            if !self.in_evm.contains(id) && !self.live.contains(id) {
                return Err(Unusable::with_fix(
                    format!("unknown scenario `{id}`"),
                    "`cargo xtask chaos --list` lists every scenario id",
                ));
            }
            let (runs, kind, other) = if self.in_evm.contains(id) {
                (engine != EngineChoice::LiveFork, "an in-EVM", "in-evm")
            } else {
                (engine != EngineChoice::InEvm, "a live-fork", "live-fork")
            };
            if !runs {
                return Err(Unusable::with_fix(
                    format!("`{id}` is {kind} experiment, and the --engine chosen does not run it"),
                    format!("drop --scenario {id}, or use --engine {other} or all"),
                ));
            }
        }
        let pick = |ids: &[String], on: bool| -> Vec<String> {
            if !on {
                return vec![];
            }
            ids.iter()
                .filter(|id| asked.is_empty() || asked.contains(id))
                .cloned()
                .collect()
        };
        Ok((
            pick(&self.in_evm, engine != EngineChoice::LiveFork),
            pick(&self.live, engine != EngineChoice::InEvm),
        ))
    }
}

/// Where forks read from: a proxy URL and the chain's address book.
struct ForkSource {
    url: String,
    book: AddressBook,
    book_path: PathBuf,
}

/// The upstream every fork reads, behind the xtask's proxy.
struct Upstream {
    /// What the report shows (redacted).
    endpoint: String,
    kind: &'static str,
    chain_id: u64,
    /// The proxy's local URL: the only URL forge and anvil see.
    url: String,
    proxy: ProxyHandle,
    book: AddressBook,
    book_path: PathBuf,
    /// The local chain, when it is the upstream (kept alive for the run).
    _local: Option<crate::chain::LocalChain>,
    /// Whether the local chain came from the chain cache (for the report).
    chain_cache: Option<String>,
    /// A copy of the book that forge can read, removed at the end of the run.
    _book_copy: Option<crate::signals::Scratch>,
    default_blocks: Vec<(u64, String)>,
    /// The upstream itself, for a second (degrading) proxy.
    target: Redacted,
    /// With `--replay`: the recording every proxy of the run answers from.
    replay: Option<Arc<Replay>>,
    /// With `--record`: where the resilient layers file validated answers.
    recorder: Option<Arc<Recorder>>,
    /// The clean run's ledger (the recording's scope follows it).
    ledger: Arc<Ledger>,
    policy: Policy,
}

impl Upstream {
    fn source(&self, url: &str) -> ForkSource {
        ForkSource {
            url: url.to_owned(),
            book: self.book.clone(),
            book_path: self.book_path.clone(),
        }
    }
}

pub fn run(args: ChaosArgs, project: &Project) -> anyhow::Result<ExitCode> {
    if let Some(ChaosCommand::Merge {
        dirs,
        out,
        open,
        force,
    }) = &args.command
    {
        return merge(dirs, &project.root().join(out), *open, *force);
    }
    crate::signals::install();
    let mut progress = Progress::default();
    let outcome = run_experiments(&args, project, &mut progress);
    progress.conclude(outcome)
}

/// The run's body. What it has finished lives in `progress`, so that a signal at any step
/// leaves a report of exactly that (or nothing).
fn run_experiments(
    args: &ChaosArgs,
    project: &Project,
    progress: &mut Progress,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let started_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    // Everything that can be judged from the command line alone, before any expensive work.
    validate(args)?;
    let rpc_faults = crate::chaos::degraded::parse(&args.rpc_faults, args.rpc_faults_at)?;
    let selection = match (args.fork_block, args.at, args.window, args.step) {
        (Some(n), _, _, _) => Selection::Block(n),
        (_, Some(t), _, _) => Selection::At(t),
        (_, _, Some((from, to)), Some(step)) => Selection::Window { from, to, step },
        _ => Selection::Default,
    };
    let local_chain = std::env::var("BSC_RPC_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .is_none();
    pin::precheck(
        &selection,
        local_chain.then(|| crate::chain::bounds(args.days)),
    )?;
    let run_id = new_run_id(started_at, args.seed);
    let report_dir = project.root().join(
        args.report_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("reports/chaos-{run_id}"))),
    );
    if !args.list {
        report::ReportDir::available(&report_dir, args.force)?;
    }

    crate::signals::phase("compile")?;
    let toolchain = Toolchain::ensure(project)?;
    forge::build(&toolchain)?;
    let (file, contract) = artifact_of(&args.scenario_script)?;
    let artifact = Artifact::load(&project.forge_out(), &file, &contract)?;
    let catalogue = Catalogue::load(&toolchain, &artifact, &args.scenario_script)?;
    if args.list {
        print_catalogue(&catalogue);
        return Ok(ExitCode::SUCCESS);
    }
    let (in_evm, live_ids) = catalogue.select(&args.scenarios, args.engine)?;
    let report_dir = progress.create_dir(report::ReportDir::create(&report_dir, args.force)?);

    crate::signals::phase("chain")?;
    let upstream = connect_upstream(&toolchain, args, &report_dir)?;
    crate::signals::phase("pin")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let provider = crate::chain::connect(&upstream.url)?;
    let head = runtime
        .block_on(provider.get_block_number())
        .context("reading the upstream's head")
        .map_err(|e| replay_gap(&upstream, e))?;
    let pins = runtime
        .block_on(
            pin::Upstream {
                provider: &provider,
                head,
            }
            .resolve(&selection, &upstream.default_blocks),
        )
        .map_err(|e| replay_gap(&upstream, e))?;
    if upstream.kind == "bsc" {
        preflight_archive(&runtime, &provider, &upstream.book, &pins)?;
    }
    for pinned in &pins {
        upstream.proxy.pin(pinned.number, &pinned.hash);
    }

    // (block, experiment) pairs, then this shard's share of them.
    let mut position = 0usize;
    let mut plan: Vec<(PinnedBlock, Vec<String>, Vec<String>)> = Vec::new();
    for pinned in &pins {
        let mut take = |ids: &[String]| -> Vec<String> {
            ids.iter()
                .filter(|_| {
                    let keep = args.shard.is_none_or(|s| s.keeps(position));
                    position += 1;
                    keep
                })
                .cloned()
                .collect()
        };
        let a = take(&in_evm);
        let b = take(&live_ids);
        plan.push((pinned.clone(), a, b));
    }
    let total: usize = plan.iter().map(|(_, a, b)| a.len() + b.len()).sum();
    if let (Some(shard), 0) = (args.shard, total) {
        return Err(Unusable::with_fix(
            format!(
                "shard {}/{} has no experiment: the run has only {position} (block, experiment) pairs",
                shard.index, shard.count
            ),
            format!("use at most {position} shards"),
        )
        .into());
    }
    progress.header = Some(report::Report {
        schema_version: report::SCHEMA_VERSION,
        run_id: run_id.clone(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        started_at,
        duration_ms: 0,
        seed: args.seed,
        chain: Chain {
            id: upstream.chain_id,
            kind: upstream.kind.into(),
            endpoint: upstream.endpoint.clone(),
            cache: upstream.chain_cache.clone(),
        },
        blocks: vec![],
        resilience: 0.0,
        verdict: Verdict::Held,
        totals: Totals::default(),
        rpc_degradation: None,
        rpc_resilience: None,
        reverts: vec![],
        shard: args.shard.map(|s| report::ShardOf {
            index: s.index,
            count: s.count,
        }),
        interrupted: None,
    });
    progress.planned = total as u64;
    progress.started = Some(started);
    shell::status(
        "Running",
        format!(
            "{total} experiments at {} pinned blocks on {} ({})",
            pins.len(),
            upstream.endpoint,
            upstream.kind
        ),
    );

    let source = upstream.source(&upstream.url);
    let context = Context {
        toolchain: &toolchain,
        project,
        runtime: &runtime,
        artifact: &artifact,
        script: &args.scenario_script,
        log_dir: report_dir.clone(),
        keeper_faults: vec![],
        seed: args.seed,
        fresh_vault: match &upstream.replay {
            // A replay deploys (or not) exactly as the recorded run did.
            Some(replay) => replay.meta.fresh_vault,
            None => args.fresh_vault || upstream.book.vault == alloy::primitives::Address::ZERO,
        },
        ledger: Arc::clone(&upstream.ledger),
        keeper_policy: upstream.policy.clone(),
        keeper_counters: Arc::new(KeeperCounters::default()),
        keeper_faults_injected: Arc::default(),
        // A recording (and its replay) is scoped by the ledger's one running unit: block by
        // block.
        jobs: if args.record.is_some() || args.replay.is_some() {
            1
        } else {
            jobs(args.jobs.map(usize::from))
        },
    };
    if let Some(replay) = &upstream.replay {
        if args.fresh_vault && !replay.meta.fresh_vault {
            return Err(Unusable::with_fix(
                "--fresh-vault was not used when the recording was made",
                "replay without --fresh-vault, or record again with it",
            )
            .into());
        }
    }
    context.execute(&source, &plan, &mut progress.finished)?;
    let degraded = if rpc_faults.is_empty() {
        None
    } else {
        crate::signals::phase("degraded")?;
        Some(run_degraded(
            &context,
            &upstream,
            &plan,
            &progress.finished.blocks,
            &rpc_faults,
            &report_dir,
        )?)
    };

    crate::signals::phase("report")?;
    if matches!(selection, Selection::Window { .. }) {
        match runtime.block_on(window_points(project, &upstream, &pins)) {
            Ok(points) => {
                let svg = crate::report::svg::window(
                    &format!(
                        "chaos {run_id}: vault across blocks {}..{}",
                        pins[0].number,
                        pins[pins.len() - 1].number
                    ),
                    &points,
                );
                std::fs::write(report_dir.join("window.svg"), svg)?;
                // The same points for report.html (and a merged report's page).
                std::fs::write(
                    report_dir.join("window.json"),
                    serde_json::to_string_pretty(&points)? + "\n",
                )?;
            }
            Err(err) => shell::warn(format!("no window picture: {err:#}")),
        }
    }

    let stats = upstream.proxy.stats();
    let keeper_counters = context.keeper_counters.snapshot();
    write_rpc_stats(&report_dir, &stats, &keeper_counters, &upstream)?;
    progress.degradation = degraded.map(|c| report::Degradation {
        faults: c.faults,
        matched: c.matched,
        classified_failures: c.classified_failures,
        unclassified_failures: c.unclassified_failures,
        silent_divergences: c.silent_divergences,
        faults_injected: c.faults_injected,
        requests: c.requests,
        resilience: report::Resilience::from_methods(c.resilience),
    });
    progress.resilience = Some(report::Resilience::from_methods(merge_counters(
        &stats.resilience,
        &keeper_counters,
    )));
    let report = progress.write_report()?;
    if report.interrupted.is_some() {
        // The signal came while the report was written: it says so; the exit code follows.
        crate::signals::check()?;
    }
    let markdown = report.summary_markdown();
    report::append_step_summary(&markdown)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    if let Some(dir) = &args.record {
        let manifest = record(
            &upstream,
            args,
            context.fresh_vault,
            head,
            &pins,
            &project.root().join(dir),
        )?;
        shell::status(
            "Recorded",
            format!(
                "{} answers for {} pinned blocks in {} ({} bytes compressed, hash {})",
                manifest.answers,
                manifest.pinned.len(),
                dir.display(),
                manifest.compressed_bytes,
                manifest.content_hash
            ),
        );
    }
    if let Some(gap) = upstream.replay.as_ref().and_then(|r| r.missing_error()) {
        return Err(gap);
    }
    shell::status(
        "Finished",
        format!(
            "{} held, {} disproved, {} errors; resilience {:.2}%; {} upstream requests; report in {}",
            report.totals.held,
            report.totals.disproved,
            report.totals.errors,
            report.resilience,
            stats.calls,
            report_dir.display()
        ),
    );
    if args.open {
        crate::report::html::open(&report_dir.join(crate::report::html::FILE_NAME));
    }
    Ok(report.exit_code())
}

/// A new run id: start time, pid and 32 random bits, so that runs started in the same second
/// (even with one seed, on one machine or on several sharing a disk) never share a directory.
pub fn new_run_id(started_at: u64, seed: u64) -> String {
    format!(
        "{started_at}-{}-{:08x}-seed{seed}",
        std::process::id(),
        crate::signals::random_u64() as u32
    )
}

/// Flags that contradict each other or cannot do anything: exit 2 before any work.
fn validate(args: &ChaosArgs) -> Result<(), Unusable> {
    if args.fresh_vault && args.engine == EngineChoice::InEvm {
        return Err(Unusable::with_fix(
            "--fresh-vault applies to live-fork experiments, and --engine in-evm runs none",
            "drop --fresh-vault, or run --engine live-fork or all",
        ));
    }
    if args
        .report_dir
        .as_ref()
        .is_some_and(|d| d.as_os_str().is_empty())
    {
        return Err(Unusable::new("--report-dir is empty"));
    }
    if args.force && args.report_dir.is_none() {
        return Err(Unusable::with_fix(
            "--force replaces an existing --report-dir, and none was given",
            "name the directory to replace with --report-dir",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for id in &args.scenarios {
        if !seen.insert(id) {
            return Err(Unusable::new(format!("--scenario {id} is given twice")));
        }
    }
    Ok(())
}

/// What a run has done so far: its report directory, the blocks whose experiments finished, and
/// the report's header once the upstream is known.
#[derive(Default)]
struct Progress {
    dir: Option<report::ReportDir>,
    header: Option<Report>,
    planned: u64,
    started: Option<Instant>,
    finished: Finished,
    degradation: Option<report::Degradation>,
    resilience: Option<report::Resilience>,
}

/// The experiments that finished, block by block, and how the scenarios among them that
/// reverted did.
#[derive(Default)]
struct Finished {
    blocks: Vec<Block>,
    reverts: Vec<report::RevertRecord>,
}

impl Finished {
    fn count(&self) -> usize {
        self.blocks.iter().map(|b| b.experiments.len()).sum()
    }
}

impl Progress {
    fn create_dir(&mut self, dir: report::ReportDir) -> PathBuf {
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
    fn write_report(&self) -> anyhow::Result<Report> {
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
    fn conclude(mut self, outcome: anyhow::Result<ExitCode>) -> anyhow::Result<ExitCode> {
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

/// What every block of a run shares.
struct Context<'a> {
    toolchain: &'a Toolchain,
    project: &'a Project,
    runtime: &'a tokio::runtime::Runtime,
    artifact: &'a Artifact,
    script: &'a str,
    /// Where fork anvils' logs go.
    log_dir: PathBuf,
    /// Faults between the live-fork keeper and its node (degraded runs).
    keeper_faults: Vec<FaultSpec>,
    seed: u64,
    /// Deploy a vault on each live fork instead of using the book's.
    fresh_vault: bool,
    /// This run's record of RPC failures that reached a tool; `execute` moves its scope.
    ledger: Arc<Ledger>,
    /// The live-fork keeper's transport: policy and counters.
    keeper_policy: Policy,
    keeper_counters: Arc<KeeperCounters>,
    /// Faults injected between the keeper and its node (degraded runs).
    keeper_faults_injected: Arc<std::sync::atomic::AtomicU64>,
    /// How many forge/anvil processes run at once (`--jobs`): in-EVM batches of later blocks
    /// run while the current block's experiments do. 1: block by block, nothing ahead.
    jobs: usize,
}

/// One block's in-EVM batch: its experiments and reverts, or the signal that cut it short.
type BatchOutcome =
    Result<Vec<(Experiment, Option<crate::chaos::scenario::Revert>)>, crate::signals::Interrupted>;

type Plan = [(PinnedBlock, Vec<String>, Vec<String>)];

impl Context<'_> {
    /// Every planned experiment on forks of `source`, block by block, into `done`. On a signal
    /// it stops at the next step: `done` then holds exactly the experiments that finished
    /// before it (a batch or experiment that the signal cut short is dropped, never reported).
    ///
    /// With `jobs` > 1, worker threads run the in-EVM batches of the coming blocks (one forge
    /// process each, independent of every other) while this thread takes the blocks in plan
    /// order and runs their live-fork experiments; results are only ever taken in plan order,
    /// so the report is the same as a run with `--jobs 1`, whatever finished first.
    fn execute(
        &self,
        source: &ForkSource,
        plan: &Plan,
        done: &mut Finished,
    ) -> Result<(), crate::signals::Interrupted> {
        let total = plan
            .iter()
            .map(|(_, a, b)| (a.len() + b.len()) as u64)
            .sum();
        let progress = shell::Progress::new(total, "experiments");
        let batches: Vec<usize> = (0..plan.len()).filter(|&i| !plan[i].1.is_empty()).collect();
        let live_any = plan.iter().any(|(_, _, live)| !live.is_empty());
        // This thread's live-fork experiments count as one of the jobs.
        let workers = match self.jobs {
            0 | 1 => 0,
            _ if batches.is_empty() => 0,
            jobs if live_any => jobs - 1,
            jobs => jobs,
        };
        let next = std::sync::atomic::AtomicUsize::new(0);
        let (tx, rx) = std::sync::mpsc::channel::<(usize, BatchOutcome)>();
        let outcome = std::thread::scope(|scope| {
            for _ in 0..workers {
                let (tx, next, batches) = (tx.clone(), &next, &batches);
                scope.spawn(move || loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(&i) = batches.get(k) else { break };
                    if crate::signals::received().is_some() {
                        break;
                    }
                    let (pinned, ids, _) = &plan[i];
                    let outcome = run_in_evm(
                        self.toolchain,
                        self.artifact,
                        self.script,
                        source,
                        pinned,
                        ids,
                    );
                    if tx.send((i, outcome)).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            let mut ahead = (workers > 0).then(|| Ahead {
                rx: &rx,
                ready: std::collections::BTreeMap::new(),
            });
            let outcome = self.execute_in_order(source, plan, ahead.as_mut(), &progress, done);
            if let (Err((stopped_at, _)), Some(ahead)) = (&outcome, ahead) {
                // The batches that workers finished for later blocks are finished experiments
                // too: reported, in plan order (the workers stop at their next step).
                let mut ready = ahead.ready;
                ready.extend(rx.iter());
                let stopped_block_reported =
                    done.blocks.last().map(|b| b.number) == Some(plan[*stopped_at].0.number);
                for (i, batch) in ready {
                    let later = i > *stopped_at || (i == *stopped_at && !stopped_block_reported);
                    if let (true, Ok(batch)) = (later, batch) {
                        let mut experiments = Vec::new();
                        let mut reverts = Vec::new();
                        take_batch(&plan[i].0, batch, &mut experiments, &mut reverts);
                        self.finish_block(&plan[i].0, experiments, reverts, &progress, done);
                    }
                }
            }
            outcome
        });
        outcome.map_err(|(_, interrupted)| interrupted)?;
        self.ledger.enter(None, Unit::Run);
        Ok(())
    }

    /// The blocks in plan order; `Err` names the block a signal stopped.
    fn execute_in_order(
        &self,
        source: &ForkSource,
        plan: &Plan,
        mut ahead: Option<&mut Ahead<'_>>,
        progress: &shell::Progress,
        done: &mut Finished,
    ) -> Result<(), (usize, crate::signals::Interrupted)> {
        for (i, (pinned, scenario_ids, live_experiments)) in plan.iter().enumerate() {
            progress.message(format!("at block {}", pinned.number));
            progress.line(format!(
                "     Forking block {} ({}, time {})",
                pinned.number, pinned.label, pinned.timestamp
            ));
            let mut experiments = Vec::new();
            let mut reverts = Vec::new();
            let outcome = (|| {
                if !scenario_ids.is_empty() {
                    crate::signals::phase("in-evm")?;
                    let batch = match ahead.as_deref_mut().map(|a| a.take(i)).transpose()? {
                        Some(Some(batch)) => batch?,
                        _ => {
                            self.ledger.enter(Some(pinned.number), Unit::InEvm);
                            run_in_evm(
                                self.toolchain,
                                self.artifact,
                                self.script,
                                source,
                                pinned,
                                scenario_ids,
                            )?
                        }
                    };
                    take_batch(pinned, batch, &mut experiments, &mut reverts);
                    progress.inc(scenario_ids.len() as u64);
                }
                if !live_experiments.is_empty() {
                    crate::signals::phase("live-fork")?;
                    self.ledger.enter(Some(pinned.number), Unit::LiveSetup);
                    run_live(self, source, pinned, live_experiments, &mut experiments)?;
                    progress.inc(live_experiments.len() as u64);
                }
                Ok(())
            })();
            self.finish_block(pinned, experiments, reverts, progress, done);
            outcome.map_err(|interrupted| (i, interrupted))?;
        }
        Ok(())
    }

    /// Print a block's experiments and add them (if any finished) to `done`.
    fn finish_block(
        &self,
        pinned: &PinnedBlock,
        experiments: Vec<Experiment>,
        reverts: Vec<report::RevertRecord>,
        progress: &shell::Progress,
        done: &mut Finished,
    ) {
        for e in &experiments {
            let revert = reverts
                .iter()
                .find(|r| r.experiment == e.id && e.engine == Engine::InEvm)
                .map(|r| &r.revert);
            let detail = match e.verdict {
                Verdict::Held => String::new(),
                Verdict::Disproved => format!(": {}", report::not_held(e, revert)),
                Verdict::Error | Verdict::Interrupted => {
                    format!(": {}", e.error.clone().unwrap_or_default())
                }
            };
            progress.line(format!(
                "  {} {} [{}]{detail}",
                shell::verdict(e.verdict == Verdict::Held),
                e.id,
                engine_label(e.engine)
            ));
        }
        done.reverts.extend(reverts);
        if !experiments.is_empty() {
            done.blocks.push(Block {
                number: pinned.number,
                hash: pinned.hash.clone(),
                timestamp: pinned.timestamp,
                label: pinned.label.clone(),
                experiments,
                resilience: 0.0,
            });
        }
    }
}

/// In-EVM batches run ahead by worker threads, as they arrive, for the blocks to come.
struct Ahead<'a> {
    rx: &'a std::sync::mpsc::Receiver<(usize, BatchOutcome)>,
    ready: std::collections::BTreeMap<usize, BatchOutcome>,
}

impl Ahead<'_> {
    /// Block `i`'s batch, waiting for it (and keeping what arrives for later blocks); `None`
    /// when no worker will bring it (the caller runs it).
    fn take(&mut self, i: usize) -> Result<Option<BatchOutcome>, crate::signals::Interrupted> {
        loop {
            if let Some(batch) = self.ready.remove(&i) {
                return Ok(Some(batch));
            }
            match self.rx.recv_timeout(std::time::Duration::from_millis(100)) {
                Ok((j, batch)) => {
                    self.ready.insert(j, batch);
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => crate::signals::check()?,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    // Every worker stopped without this block's batch (only a signal does that).
                    crate::signals::check()?;
                    return Ok(None);
                }
            }
        }
    }
}

/// A block's in-EVM results into its experiments and reverts.
fn take_batch(
    pinned: &PinnedBlock,
    batch: Vec<(Experiment, Option<crate::chaos::scenario::Revert>)>,
    experiments: &mut Vec<Experiment>,
    reverts: &mut Vec<report::RevertRecord>,
) {
    for (experiment, revert) in batch {
        if let Some(revert) = revert {
            reverts.push(report::RevertRecord {
                block: pinned.number,
                experiment: experiment.id.clone(),
                revert,
            });
        }
        experiments.push(experiment);
    }
}

/// `--jobs`: what was asked, or the machine's cores, at most 2 (a forge batch and a live fork
/// are the two things worth running side by side; more contend for the same cores).
pub fn jobs(asked: Option<usize>) -> usize {
    asked.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(std::num::NonZeroUsize::get)
            .unwrap_or(1)
            .min(2)
    })
}

fn engine_label(engine: Engine) -> &'static str {
    match engine {
        Engine::InEvm => "in-evm",
        Engine::LiveFork => "live-fork",
    }
}

fn print_catalogue(catalogue: &Catalogue) {
    println!("in-evm (script/ForkChaosScenarios.s.sol):");
    for id in &catalogue.in_evm {
        println!("  {id}");
    }
    println!("live-fork (keeper against an anvil fork):");
    for (id, fault) in live::EXPERIMENTS {
        println!("  {id:<22} {fault}");
    }
}

fn connect_upstream(
    toolchain: &Toolchain,
    args: &ChaosArgs,
    report_dir: &Path,
) -> anyhow::Result<Upstream> {
    let root = toolchain.project.root();
    let policy = Policy {
        hedge_after: args.rpc_hedge_after,
        ..Policy::seeded(args.seed)
    };
    let ledger = Arc::new(Ledger::default());
    let recorder = match &args.record {
        Some(dir) => {
            // Checked now, not after the run: a recording that cannot be written is bad input.
            let dir = root.join(dir);
            std::fs::create_dir_all(&dir).map_err(|e| {
                Unusable::with_fix(
                    format!(
                        "cannot create the recording directory {}: {e}",
                        dir.display()
                    ),
                    "give --record a directory that can be written",
                )
            })?;
            Some(Arc::new(Recorder::default()))
        }
        None => None,
    };
    // The resilient layer every fork of the clean run reads through.
    let resilient = |target: &Redacted, replay: Option<Arc<Replay>>| {
        let mut config = ProxyConfig::new(target.clone()).resilient(policy.clone());
        config.replay = replay;
        config.ledger = Some(Arc::clone(&ledger));
        config.recorder = recorder.clone();
        Proxy::start(config)
    };
    if let Some(dir) = &args.replay {
        let replay = Arc::new(Replay::load(&root.join(dir))?);
        if replay.meta.seed != args.seed {
            return Err(Unusable::with_fix(
                format!(
                    "the recording was made with --seed {}, this run has --seed {}",
                    replay.meta.seed, args.seed
                ),
                format!("replay with --seed {}", replay.meta.seed),
            )
            .into());
        }
        // The address book travels in the recording; forge reads it from the report.
        let chain_dir = report_dir.join("chain");
        std::fs::create_dir_all(&chain_dir)?;
        let book_file = chain_dir.join("address-book.json");
        std::fs::write(
            &book_file,
            serde_json::to_string_pretty(&replay.address_book)? + "\n",
        )?;
        let book = AddressBook::read(&book_file)?;
        // Never contacted: a replaying proxy answers from the recording.
        let target = Redacted::parse("http://recording.invalid/", "the recording")?;
        let proxy = resilient(&target, Some(Arc::clone(&replay)))?;
        shell::status(
            "Replaying",
            format!(
                "{} answers recorded on chain {} ({}), no upstream",
                replay.manifest.answers, replay.meta.chain_id, replay.meta.kind
            ),
        );
        let (book_path, book_copy) = readable_by_forge(toolchain, &book_file)?;
        return Ok(Upstream {
            endpoint: format!("recording {}", dir.display()),
            kind: if replay.meta.kind == "bsc" {
                "bsc"
            } else {
                "local-replica"
            },
            chain_id: replay.meta.chain_id,
            url: proxy.url(),
            proxy,
            book,
            book_path,
            _local: None,
            chain_cache: None,
            _book_copy: book_copy,
            default_blocks: replay.meta.default_blocks.clone(),
            target,
            replay: Some(replay),
            recorder: None,
            ledger,
            policy,
        });
    }
    let real = std::env::var("BSC_RPC_URL")
        .ok()
        .filter(|v| !v.trim().is_empty());
    match real {
        Some(_) if args.replicas.is_some() => Err(Unusable::with_fix(
            "--replicas chooses the local chain's code, but BSC_RPC_URL is set: the run forks real BSC",
            "drop --replicas, or unset BSC_RPC_URL to run on the local chain",
        )
        .into()),
        Some(text) => {
            let endpoint = Redacted::parse(&text, "BSC_RPC_URL")?;
            let proxy = resilient(&endpoint, None)?;
            let url = proxy.url();
            let target = endpoint.clone();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let provider = crate::chain::connect(&url)?;
            let chain_id = runtime.block_on(provider.get_chain_id()).map_err(|e| {
                Unusable::with_fix(
                    format!(
                        "BSC_RPC_URL ({endpoint}) did not answer eth_chainId: {}",
                        endpoint.scrub(&e.to_string())
                    ),
                    "check the endpoint with `cargo xtask rpc-probe`",
                )
            })?;
            if chain_id != 56 {
                return Err(Unusable::with_fix(
                    format!("BSC_RPC_URL ({endpoint}) serves chain id {chain_id}, not BSC (56)"),
                    "point BSC_RPC_URL at a BNB Smart Chain mainnet archive endpoint",
                )
                .into());
            }
            let book_path = AddressBook::bsc_path(toolchain.project.root());
            let book = AddressBook::read(&book_path)?;
            let default_block = match std::env::var("BSC_FORK_BLOCK")
                .ok()
                .filter(|v| !v.trim().is_empty())
            {
                Some(b) => b.trim().parse::<u64>().map_err(|_| {
                    Unusable::with_fix(
                        format!("BSC_FORK_BLOCK=`{b}` is not a block number"),
                        "set it to a block number or unset it",
                    )
                })?,
                None => runtime.block_on(provider.get_block_number())?,
            };
            Ok(Upstream {
                endpoint: endpoint.to_string(),
                kind: "bsc",
                chain_id,
                url,
                proxy,
                book,
                book_path,
                _local: None,
                chain_cache: None,
                _book_copy: None,
                default_blocks: vec![(default_block, "pinned".into())],
                target,
                replay: None,
                recorder,
                ledger,
                policy,
            })
        }
        None => {
            let local = crate::chain::build_with(
                toolchain,
                &crate::chain::ChainOptions {
                    seed: args.seed,
                    days: args.days,
                    out_dir: report_dir.join("chain"),
                    port: 0,
                    cache: chain_cache_mode(root, args),
                },
                args.replicas.unwrap_or_default(),
            )?;
            let endpoint = Redacted::parse(&local.info.url, "the local chain's URL")?;
            let proxy = resilient(&endpoint, None)?;
            let (book_path, book_copy) = readable_by_forge(toolchain, &local.info.address_book)?;
            Ok(Upstream {
                endpoint: local.info.url.clone(),
                kind: "local-replica",
                chain_id: 56,
                url: proxy.url(),
                proxy,
                book: local.book.clone(),
                book_path,
                _book_copy: book_copy,
                default_blocks: local
                    .info
                    .landmarks
                    .iter()
                    .map(|m| (m.block, m.label.clone()))
                    .collect(),
                chain_cache: Some(local.info.cache.as_str().to_owned()),
                _local: Some(local),
                target: endpoint,
                replay: None,
                recorder,
                ledger,
                policy,
            })
        }
    }
}

/// The chain cache for this run: an entry serves forks only at the blocks it keeps (the
/// landmarks among them), so a run that pins other blocks builds the chain and stores it.
fn chain_cache_mode(root: &Path, args: &ChaosArgs) -> crate::chain::cache::Mode {
    use crate::chain::cache::Mode;
    match Mode::new(crate::chain::cache::default_dir(root), args.no_chain_cache) {
        // A cached chain keeps state only at its landmark and phase-boundary blocks; the
        // live-fork engine reads the history at other blocks (its shadow TWAP's tape), so a
        // run with live-fork experiments builds the chain and only stores it.
        Mode::Use(dir)
            if args.fork_block.is_some()
                || args.at.is_some()
                || args.window.is_some()
                || args.engine != EngineChoice::InEvm =>
        {
            Mode::Store(dir)
        }
        mode => mode,
    }
}

/// Real BSC: the endpoint must serve state at every pinned block (an archive node).
fn preflight_archive(
    runtime: &tokio::runtime::Runtime,
    provider: &alloy::providers::DynProvider,
    book: &AddressBook,
    pins: &[PinnedBlock],
) -> anyhow::Result<()> {
    for pinned in pins {
        runtime
            .block_on(async { provider.get_code_at(book.usdt).number(pinned.number).await })
            .map_err(|e| {
                Unusable::with_fix(
                    format!(
                        "the endpoint serves no state at block {} ({e})",
                        pinned.number
                    ),
                    "use an archive endpoint, or pin a recent block",
                )
            })?;
    }
    Ok(())
}

fn fork_target(source: &ForkSource, pinned: &PinnedBlock) -> Target {
    Target::Fork {
        url: source.url.clone(),
        block: Some(pinned.number),
        no_storage_caching: true,
    }
}

/// All in-EVM scenarios of one block in one forge process (one fork, each scenario from the same
/// snapshot and cheatcode environment). A scenario that reverts is that scenario's finding
/// (`disproved`, with the decoded reason and the call it came from); only a failure of the
/// batch itself (forge, the fork, the runner) makes every scenario of the block an `error`.
/// `Err` only for a signal: a batch cut short by it is not a result.
fn run_in_evm(
    toolchain: &Toolchain,
    artifact: &Artifact,
    script: &str,
    upstream: &ForkSource,
    pinned: &PinnedBlock,
    ids: &[String],
) -> Result<Vec<(Experiment, Option<crate::chaos::scenario::Revert>)>, crate::signals::Interrupted>
{
    let started = Instant::now();
    let outcome =
        (|| -> anyhow::Result<(Vec<(ScenarioResult, RawRevert)>, forge::ScriptOutput)> {
            let list = DynSolValue::Array(
                ids.iter()
                    .map(|id| DynSolValue::String(id.clone()))
                    .collect(),
            );
            let call = ScriptCall {
                target: script.into(),
                calldata: artifact.encode_call("runBatch", &[list])?,
                on: fork_target(upstream, pinned),
                // The scripts read the book relative to the project root.
                env: vec![(
                    "CHAOS_ADDRESS_BOOK".into(),
                    relative_path(toolchain, &upstream.book_path).into_os_string(),
                )],
            };
            let output = forge::run_script(toolchain, &call)?;
            if !output.success {
                // The runner catches every scenario's revert: this is the batch itself failing.
                let decoder = RevertDecoder::load(&toolchain.project.forge_out());
                anyhow::bail!(
                    "the scenario batch reverted before any result: {}",
                    decoder.decode(&output.returned)
                );
            }
            let batch = crate::chaos::scenario::batch_from_abi(
                &artifact.decode_output("runBatch", &output.returned)?,
            )?;
            Ok((batch, output))
        })();
    crate::signals::check()?;
    // forge reports one wall time for the batch; each scenario is given an equal share of it.
    let share =
        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX) / ids.len().max(1) as u64;
    Ok(match outcome {
        Ok((batch, output)) => {
            let reverts = describe_reverts(toolchain, &batch, &output.stdout);
            batch
                .into_iter()
                .zip(reverts)
                .map(|((r, _), revert)| {
                    let experiment = Experiment {
                        id: r.id.0,
                        engine: Engine::InEvm,
                        fault: r.fault,
                        verdict: if r.held {
                            Verdict::Held
                        } else {
                            Verdict::Disproved
                        },
                        duration_ms: share,
                        checks: r.checks,
                        gas: r.cycle_gas,
                        cycles: r.cycles,
                        digest_before: revert.is_none().then(|| r.digest_before.to_string()),
                        digest_after: revert.is_none().then(|| r.digest_after.to_string()),
                        error: None,
                    };
                    (experiment, revert)
                })
                .collect()
        }
        Err(err) => ids
            .iter()
            .map(|id| (error_experiment(id, Engine::InEvm, share, &err), None))
            .collect(),
    })
}

/// Each reverted scenario's step, decoded reason and call path (None for those that returned).
/// The ABIs in out/ and forge's traces are read only when some scenario reverted.
fn describe_reverts(
    toolchain: &Toolchain,
    batch: &[(ScenarioResult, RawRevert)],
    stdout: &str,
) -> Vec<Option<crate::chaos::scenario::Revert>> {
    if batch.iter().all(|(_, f)| !f.reverted) {
        return vec![None; batch.len()];
    }
    let decoder = RevertDecoder::load(&toolchain.project.forge_out());
    let mut paths = forge::revert_paths(stdout, "ScenarioSteps", "run")
        .unwrap_or_default()
        .into_iter();
    batch
        .iter()
        .map(|(_, f)| {
            if !f.reverted {
                return None;
            }
            let path = paths.next().unwrap_or_default();
            Some(crate::chaos::scenario::Revert {
                step: f.step.clone(),
                reason: decoder.decode(&f.data),
                data: f.data.to_string(),
                call: path.last().cloned(),
                path,
            })
        })
        .collect()
}

/// NAV, share price and risk mode of the upstream's vault at every pinned block.
async fn window_points(
    project: &Project,
    upstream: &Upstream,
    pins: &[PinnedBlock],
) -> anyhow::Result<Vec<crate::report::svg::Point>> {
    anyhow::ensure!(
        upstream.book.vault != alloy::primitives::Address::ZERO,
        "the address book names no deployed vault"
    );
    let vault = VaultReader::new(
        project,
        upstream.book.vault,
        crate::chain::connect(&upstream.url)?,
    )?;
    let whole = |v: alloy::primitives::U256| v.to_string().parse::<f64>().unwrap_or(0.0) / 1e18;
    let mut points = Vec::with_capacity(pins.len());
    for pinned in pins {
        let at = Some(pinned.number);
        points.push(crate::report::svg::Point {
            block: pinned.number,
            timestamp: pinned.timestamp,
            nav: whole(vault.u256("nav", &[], at).await?),
            share_price: whole(vault.u256("sharePrice", &[], at).await?),
            risk_mode: u8::try_from(vault.u256("riskMode", &[], at).await?)?,
        });
    }
    Ok(points)
}

/// forge scripts may only read inside the project (foundry.toml `fs_permissions`: ./reports,
/// ./deployments): a book written elsewhere (`--report-dir /tmp/...`) is copied under
/// reports/.address-books/ first.
/// The copy is scratch: removed when the returned guard drops (end of the run, however it ends).
fn readable_by_forge(
    toolchain: &Toolchain,
    book: &Path,
) -> anyhow::Result<(PathBuf, Option<crate::signals::Scratch>)> {
    let root = toolchain.project.root();
    let inside = ["reports", "deployments"]
        .iter()
        .any(|dir| book.starts_with(root.join(dir)));
    if inside {
        return Ok((book.to_path_buf(), None));
    }
    let dir = root.join("reports").join(".address-books");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    crate::signals::sweep_stale_files(&dir, "book-");
    let copy = crate::signals::Scratch::file(
        dir.join(crate::signals::scratch_file_name("book-", ".json")),
    );
    std::fs::copy(book, copy.path())
        .with_context(|| format!("copying {} into the project", book.display()))?;
    Ok((copy.path().to_path_buf(), Some(copy)))
}

pub fn relative_path(toolchain: &Toolchain, path: &Path) -> PathBuf {
    path.strip_prefix(toolchain.project.root())
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

fn error_experiment(id: &str, engine: Engine, duration_ms: u64, err: &anyhow::Error) -> Experiment {
    Experiment {
        id: id.to_owned(),
        engine,
        fault: String::new(),
        verdict: Verdict::Error,
        duration_ms,
        checks: vec![],
        gas: 0,
        cycles: 0,
        digest_before: None,
        digest_after: None,
        error: Some(format!("{err:#}")),
    }
}

/// One anvil fork of the block, every live-fork experiment on it from the same snapshot.
/// Finished experiments go into `out`; on a signal it stops at the next step (`Err`), and an
/// experiment the signal cut short is dropped.
fn run_live(
    context: &Context<'_>,
    source: &ForkSource,
    pinned: &PinnedBlock,
    ids: &[String],
    out: &mut Vec<Experiment>,
) -> Result<(), crate::signals::Interrupted> {
    let started = Instant::now();
    let fork = (|| -> anyhow::Result<(Anvil, Option<ProxyHandle>, live::Fork)> {
        let anvil = Anvil::builder()
            .arg("--fork-url")
            .arg(&source.url)
            .arg("--fork-block-number")
            .arg(pinned.number.to_string())
            .arg("--no-storage-caching")
            .args(["--retries", "5", "--fork-retry-backoff", "300"])
            .log_to(
                context
                    .log_dir
                    .join(format!("anvil-fork-{}.log", pinned.number)),
            )
            .spawn(context.toolchain)?;
        // In a degraded run the keeper reaches its node through a faulty proxy as well.
        let (keeper_proxy, node_url) = if context.keeper_faults.is_empty() {
            (None, anvil.url())
        } else {
            // The keeper's own transport is the client here: it writes its give-ups to the
            // ledger itself, so the faults this proxy injects are not written as reaching it.
            let mut config = ProxyConfig::new(Redacted::parse(&anvil.url(), "the fork's URL")?)
                .seed(context.seed);
            for fault in &context.keeper_faults {
                config = config.fault(fault.clone());
            }
            let proxy = Proxy::start(config)?;
            let url = proxy.url();
            (Some(proxy), url)
        };
        let provider = crate::rpc::keeper::connect(
            &node_url,
            context.keeper_policy.clone(),
            Some(Arc::clone(&context.ledger)),
            Arc::clone(&context.keeper_counters),
        )?;
        let address = if context.fresh_vault {
            deploy_vault_on_fork(context, source, &anvil.url())?
        } else {
            source.book.vault
        };
        let vault = VaultReader::new(context.project, address, provider)?;
        let fork = context.runtime.block_on(live::Fork::new(
            vault,
            source.book.clone(),
            context.fresh_vault,
        ))?;
        Ok((anvil, keeper_proxy, fork))
    })();
    crate::signals::check()?;
    match fork {
        Ok((_anvil, proxy, fork)) => {
            let outcome = (|| {
                for id in ids {
                    context
                        .ledger
                        .enter(Some(pinned.number), Unit::Live(id.clone()));
                    let experiment = context.runtime.block_on(fork.run(id));
                    crate::signals::check()?;
                    out.push(experiment);
                }
                Ok::<(), crate::signals::Interrupted>(())
            })();
            if let Some(proxy) = proxy {
                let injected: u64 = proxy.stats().faults.iter().map(|f| f.injected).sum();
                context
                    .keeper_faults_injected
                    .fetch_add(injected, std::sync::atomic::Ordering::Relaxed);
            }
            outcome?;
        }
        Err(err) => {
            let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            out.extend(
                ids.iter()
                    .map(|id| error_experiment(id, Engine::LiveFork, ms, &err)),
            );
        }
    }
    Ok(())
}

/// `script/DeployVaultOnFork.s.sol` broadcast to the fork's own anvil; returns the vault.
fn deploy_vault_on_fork(
    context: &Context<'_>,
    source: &ForkSource,
    fork_url: &str,
) -> anyhow::Result<alloy::primitives::Address> {
    let mut cmd = context.toolchain.command(Tool::Forge);
    cmd.args([
        "script",
        "script/DeployVaultOnFork.s.sol:DeployVaultOnFork",
        "--broadcast",
        "--json",
        "--rpc-url",
        fork_url,
    ])
    .env(
        "CHAOS_ADDRESS_BOOK",
        relative_path(context.toolchain, &source.book_path),
    )
    .stdin(std::process::Stdio::null());
    let logs = forge::BroadcastLogs::new(context.toolchain)?;
    logs.apply(&mut cmd);
    let output =
        crate::signals::output(&mut cmd).context("starting forge script DeployVaultOnFork")?;
    crate::signals::check()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (success, _, returned, _) = forge::parse_script_output(&stdout).with_context(|| {
        format!(
            "DeployVaultOnFork printed no result: {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        )
    })?;
    anyhow::ensure!(success && returned.len() == 32, "DeployVaultOnFork failed");
    Ok(alloy::primitives::Address::from_slice(&returned[12..]))
}

/// The same plan again with `faults` placed in front of the tools (a faulty proxy between
/// forge/anvil and a fresh resilient layer, and between the keeper and its node) and/or
/// upstream of the resilient layer (a faulty proxy between it and the provider); compared
/// with the clean run pair by pair, failures classified by this run's own ledger.
fn run_degraded(
    context: &Context<'_>,
    upstream: &Upstream,
    plan: &Plan,
    clean: &[Block],
    faults: &[crate::chaos::degraded::Placed],
    report_dir: &Path,
) -> anyhow::Result<crate::chaos::degraded::Comparison> {
    let names: Vec<String> = faults.iter().map(ToString::to_string).collect();
    shell::status(
        "Degrading",
        format!("the same run through faulty RPC: {}", names.join(", ")),
    );
    let front = crate::chaos::degraded::at(faults, Position::Front);
    let behind = crate::chaos::degraded::at(faults, Position::Upstream);
    let ledger = Arc::new(Ledger::default());
    let upstream_faults = if behind.is_empty() {
        None
    } else {
        let mut config = origin_config(upstream).seed(context.seed);
        config.faults = behind;
        // Its faults reach the resilient layer, not the tools; the ledger gives a replay
        // its scope.
        config.ledger = Some(Arc::clone(&ledger));
        Some(Proxy::start(config)?)
    };
    let mut config = match &upstream_faults {
        Some(faulty) => ProxyConfig::new(Redacted::parse(&faulty.url(), "the faulty proxy")?),
        None => origin_config(upstream),
    }
    .resilient(upstream.policy.clone());
    config.ledger = Some(Arc::clone(&ledger));
    config.recorder = upstream.recorder.clone();
    let resilient = Proxy::start(config)?;
    let front_faults = if front.is_empty() {
        None
    } else {
        let mut config =
            ProxyConfig::new(Redacted::parse(&resilient.url(), "the resilient proxy")?)
                .seed(context.seed);
        config.faults = front.clone();
        config.ledger = Some(Arc::clone(&ledger));
        config.faults_reach_client = true;
        Some(Proxy::start(config)?)
    };
    let url = front_faults
        .as_ref()
        .map_or_else(|| resilient.url(), ProxyHandle::url);
    let log_dir = report_dir.join("degraded");
    std::fs::create_dir_all(&log_dir)?;
    let degraded_context = Context {
        log_dir: log_dir.clone(),
        keeper_faults: front,
        ledger: Arc::clone(&ledger),
        keeper_policy: context.keeper_policy.clone(),
        keeper_counters: Arc::new(KeeperCounters::default()),
        keeper_faults_injected: Arc::default(),
        // One block at a time: the faults are drawn in request order, and the ledger's scope
        // (which block a failure belongs to) is the one unit running.
        jobs: 1,
        ..*context
    };
    let mut finished = Finished::default();
    degraded_context.execute(&upstream.source(&url), plan, &mut finished)?;
    let blocks = finished.blocks;
    let nearest = upstream_faults.as_ref().unwrap_or(&resilient).stats();
    let injected = [&front_faults, &upstream_faults]
        .iter()
        .filter_map(|p| p.as_ref())
        .map(|p| p.stats().faults.iter().map(|f| f.injected).sum::<u64>())
        .sum::<u64>()
        + degraded_context
            .keeper_faults_injected
            .load(std::sync::atomic::Ordering::Relaxed);
    let mut comparison = crate::chaos::degraded::compare(clean, &blocks, &ledger);
    comparison.faults = names;
    comparison.requests = nearest.methods.clone();
    comparison.faults_injected = injected;
    comparison.resilience = merge_counters(
        &resilient.stats().resilience,
        &degraded_context.keeper_counters.snapshot(),
    );
    std::fs::write(
        log_dir.join("comparison.json"),
        serde_json::to_string_pretty(&comparison)? + "\n",
    )?;
    std::fs::write(
        log_dir.join("ledger.json"),
        serde_json::to_string_pretty(&ledger.events())? + "\n",
    )?;
    let (retries, give_ups) = comparison
        .resilience
        .values()
        .fold((0, 0), |t, c| (t.0 + c.retries, t.1 + c.give_ups));
    shell::status(
        "Compared",
        format!(
            "{} matched, {} classified failures, {} unclassified failures, {} silent divergences ({} faults injected in {} upstream requests; {retries} retries, {give_ups} give-ups)",
            comparison.matched,
            comparison.classified_failures,
            comparison.unclassified_failures,
            comparison.silent_divergences,
            comparison.faults_injected,
            nearest.calls
        ),
    );
    Ok(comparison)
}

/// A proxy config whose origin is the run's upstream: its URL, or the recording it replays.
fn origin_config(upstream: &Upstream) -> ProxyConfig {
    let mut config = ProxyConfig::new(upstream.target.clone());
    config.replay = upstream.replay.clone();
    config
}

/// The proxy's and the keeper's counters, per method (the keeper's under `keeper:`).
fn merge_counters(
    proxy: &std::collections::BTreeMap<String, crate::rpc::retry::MethodCounters>,
    keeper: &std::collections::BTreeMap<String, crate::rpc::retry::MethodCounters>,
) -> std::collections::BTreeMap<String, crate::rpc::retry::MethodCounters> {
    let mut all = proxy.clone();
    for (method, counters) in keeper {
        all.entry(format!("keeper:{method}"))
            .or_default()
            .add(counters);
    }
    all
}

/// With `--replay`: a failure caused by a request the recording lacks becomes that gap.
fn replay_gap(upstream: &Upstream, err: anyhow::Error) -> anyhow::Error {
    upstream
        .replay
        .as_ref()
        .and_then(|r| r.missing_error())
        .unwrap_or(err)
}

/// `--record DIR`: the answers the run's resilient layers validated, and what a replay
/// needs besides them.
fn record(
    upstream: &Upstream,
    args: &ChaosArgs,
    fresh_vault: bool,
    head: u64,
    pins: &[PinnedBlock],
    dir: &Path,
) -> anyhow::Result<crate::rpc::record::Manifest> {
    let recorder = upstream
        .recorder
        .as_ref()
        .context("the run had no recorder")?;
    let book_text = std::fs::read_to_string(&upstream.book_path)
        .with_context(|| format!("reading {}", upstream.book_path.display()))?;
    let meta = crate::rpc::record::Meta {
        chain_id: upstream.chain_id,
        kind: upstream.kind.to_owned(),
        seed: args.seed,
        days: args.days,
        fresh_vault,
        head,
        default_blocks: upstream.default_blocks.clone(),
        pinned: pins
            .iter()
            .map(|p| crate::rpc::record::PinnedRecord {
                number: p.number,
                hash: p.hash.clone(),
                timestamp: p.timestamp,
                label: p.label.clone(),
            })
            .collect(),
    };
    recorder.write(dir, meta, serde_json::from_str(&book_text)?)
}

#[derive(Serialize)]
struct RpcCounters<'a> {
    http_requests: u64,
    calls: u64,
    distinct_state_keys: u64,
    upstream_errors: u64,
    methods: &'a std::collections::BTreeMap<String, u64>,
    /// Retries, hedges and give-ups of the resilient upstream layer, per method.
    resilience: &'a std::collections::BTreeMap<String, crate::rpc::retry::MethodCounters>,
    retry_budget_spent: u64,
    /// The same for the live-fork keeper's transport.
    keeper: &'a std::collections::BTreeMap<String, crate::rpc::retry::MethodCounters>,
    /// With `--replay`: answers served from the recording, and requests it did not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    replay: Option<ReplayCounters>,
}

#[derive(Serialize)]
struct ReplayCounters {
    served: u64,
    missing: Vec<String>,
}

fn write_rpc_stats(
    dir: &Path,
    stats: &ProxyStats,
    keeper: &std::collections::BTreeMap<String, crate::rpc::retry::MethodCounters>,
    upstream: &Upstream,
) -> anyhow::Result<()> {
    let counters = RpcCounters {
        http_requests: stats.http_requests,
        calls: stats.calls,
        distinct_state_keys: stats.distinct_state_keys,
        upstream_errors: stats.upstream_errors,
        methods: &stats.methods,
        resilience: &stats.resilience,
        retry_budget_spent: stats.retry_budget_spent,
        keeper,
        replay: upstream.replay.as_ref().map(|r| ReplayCounters {
            served: r.served(),
            missing: r.missing().iter().map(ToString::to_string).collect(),
        }),
    };
    std::fs::write(
        dir.join("rpc.json"),
        serde_json::to_string_pretty(&counters)? + "\n",
    )?;
    Ok(())
}

/// `cargo xtask chaos merge`: one report from the shards' reports. Every input must be a
/// finished (not interrupted) report of the same chain (id, kind, block hashes) and seed;
/// a directory given twice, an experiment present in two reports, or shards of different splits
/// or with one missing are refused. Shards of one split are put back in the order of the
/// unsharded run (the pairs were dealt round-robin), so the merged report equals that run's.
fn merge(dirs: &[PathBuf], out: &Path, open: bool, force: bool) -> anyhow::Result<ExitCode> {
    let reports = read_reports(dirs, out)?;
    let merged = merge_reports(reports)?;
    let dir = report::ReportDir::create(out, force)?;
    // The page reads the shards' side files (the chain's history, the window's points).
    let sources: Vec<&Path> = std::iter::once(dir.path())
        .chain(dirs.iter().map(PathBuf::as_path))
        .collect();
    merged.write_with(dir.path(), &sources)?;
    report::append_step_summary(&merged.summary_markdown())?;
    shell::status(
        "Merged",
        format!(
            "{} reports into {}: resilience {:.2}%",
            dirs.len(),
            out.display(),
            merged.resilience
        ),
    );
    if open {
        crate::report::html::open(&out.join(crate::report::html::FILE_NAME));
    }
    Ok(merged.exit_code())
}

/// Each directory's report.json: a regular file (never a FIFO or a device, which would block or
/// never end), each directory once, none of them the output.
fn read_reports(dirs: &[PathBuf], out: &Path) -> anyhow::Result<Vec<(PathBuf, Report)>> {
    let out_real = out.canonicalize().ok();
    let mut seen = std::collections::BTreeMap::new();
    let mut reports = Vec::new();
    for dir in dirs {
        let real = dir.canonicalize().map_err(|e| {
            Unusable::with_fix(
                format!("cannot read {}: {e}", dir.display()),
                "pass report directories of `cargo xtask chaos` runs",
            )
        })?;
        if let Some(first) = seen.insert(real.clone(), dir.clone()) {
            return Err(Unusable::new(format!(
                "{} and {} are the same directory: each report may be merged once",
                first.display(),
                dir.display()
            ))
            .into());
        }
        if out_real.as_ref() == Some(&real) {
            return Err(Unusable::new(format!(
                "{} is both an input and the output of the merge",
                dir.display()
            ))
            .into());
        }
        let path = dir.join("report.json");
        let meta = std::fs::metadata(&path).map_err(|e| {
            Unusable::with_fix(
                format!("cannot read {}: {e}", path.display()),
                "pass report directories of `cargo xtask chaos` runs",
            )
        })?;
        if !meta.is_file() {
            return Err(Unusable::new(format!("{} is not a regular file", path.display())).into());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Unusable::with_fix(
                format!("cannot read {}: {e}", path.display()),
                "pass report directories of `cargo xtask chaos` runs",
            )
        })?;
        let report: Report = serde_json::from_str(&text).map_err(|e| {
            Unusable::new(format!(
                "{} is not a schema {} report: {e}",
                path.display(),
                report::SCHEMA_VERSION
            ))
        })?;
        if report.schema_version != report::SCHEMA_VERSION {
            return Err(Unusable::new(format!(
                "{} has schema_version {}",
                path.display(),
                report.schema_version
            ))
            .into());
        }
        if let Some(stop) = &report.interrupted {
            return Err(Unusable::with_fix(
                format!(
                    "{} is an interrupted run ({} during {}: {} of {} experiments): merged, it would pass for a complete one",
                    path.display(),
                    stop.signal,
                    stop.phase,
                    stop.finished,
                    stop.planned
                ),
                "run that shard again",
            )
            .into());
        }
        reports.push((path, report));
    }
    Ok(reports)
}

/// One report from several (see [`merge`]).
pub fn merge_reports(mut reports: Vec<(PathBuf, Report)>) -> anyhow::Result<Report> {
    let (first_path, first) = reports.first().cloned().context("no reports to merge")?;
    for (path, report) in &reports[1..] {
        let differ = |what: &str, a: String, b: String| -> anyhow::Result<()> {
            if a != b {
                return Err(Unusable::new(format!(
                    "{} and {} are runs of different {what} ({a} and {b})",
                    first_path.display(),
                    path.display()
                ))
                .into());
            }
            Ok(())
        };
        differ(
            "chains",
            format!("{} {}", first.chain.kind, first.chain.id),
            format!("{} {}", report.chain.kind, report.chain.id),
        )?;
        differ("seeds", first.seed.to_string(), report.seed.to_string())?;
    }
    // Shards of one split, in shard order; or whole runs, in the order given.
    let shards: Vec<Option<report::ShardOf>> = reports.iter().map(|(_, r)| r.shard).collect();
    let split = if shards.iter().all(Option::is_some) {
        let count = first.shard.map(|s| s.count).unwrap_or_default();
        let mut indices = std::collections::BTreeSet::new();
        for (path, report) in &reports {
            let shard = report
                .shard
                .unwrap_or(report::ShardOf { index: 0, count: 0 });
            if shard.count != count {
                return Err(Unusable::new(format!(
                    "{} is shard {}/{} of another split than {} ({}/{count})",
                    path.display(),
                    shard.index,
                    shard.count,
                    first_path.display(),
                    first.shard.map(|s| s.index).unwrap_or_default()
                ))
                .into());
            }
            if !indices.insert(shard.index) {
                return Err(Unusable::new(format!(
                    "shard {}/{count} is given twice ({})",
                    shard.index,
                    path.display()
                ))
                .into());
            }
        }
        if let Some(missing) = (1..=count).find(|i| !indices.contains(i)) {
            return Err(Unusable::with_fix(
                format!("shard {missing}/{count} is missing: the merged report would lack its experiments"),
                "merge every shard of the split",
            )
            .into());
        }
        reports.sort_by_key(|(_, r)| r.shard.map(|s| s.index));
        Some(count)
    } else if shards.iter().any(Option::is_some) {
        return Err(Unusable::new(
            "some reports are shards and some are whole runs: merge the shards of one split, or whole runs",
        )
        .into());
    } else {
        None
    };

    // Every block once, with one hash; every (block, engine, experiment) once.
    let mut blocks: std::collections::BTreeMap<u64, Block> = std::collections::BTreeMap::new();
    let mut pairs = std::collections::BTreeSet::new();
    for (path, report) in &reports {
        for block in &report.blocks {
            let entry = blocks.entry(block.number).or_insert_with(|| Block {
                experiments: vec![],
                ..block.clone()
            });
            if entry.hash != block.hash {
                return Err(Unusable::new(format!(
                    "shards disagree on the hash of block {}: they forked different chains",
                    block.number
                ))
                .into());
            }
            for e in &block.experiments {
                if !pairs.insert((block.number, engine_label(e.engine), e.id.clone())) {
                    return Err(Unusable::new(format!(
                        "{} [{}] at block {} is in two of the reports ({} is one)",
                        e.id,
                        engine_label(e.engine),
                        block.number,
                        path.display()
                    ))
                    .into());
                }
            }
        }
    }
    match split {
        Some(count) => {
            // Deal the pairs back: position p of the whole run came from shard p % count.
            let mut queues: Vec<std::collections::VecDeque<(u64, Experiment)>> = reports
                .iter()
                .map(|(_, r)| {
                    r.blocks
                        .iter()
                        .flat_map(|b| b.experiments.iter().map(move |e| (b.number, e.clone())))
                        .collect()
                })
                .collect();
            let total: usize = queues.iter().map(|q| q.len()).sum();
            let count = count as usize;
            for position in 0..total {
                let (number, e) = queues[position % count].pop_front().ok_or_else(|| {
                    Unusable::new(
                        "the shards do not add up to one run (they ran different experiments or blocks)",
                    )
                })?;
                if let Some(block) = blocks.get_mut(&number) {
                    block.experiments.push(e);
                }
            }
        }
        None => {
            for (_, report) in &reports {
                for block in &report.blocks {
                    if let Some(entry) = blocks.get_mut(&block.number) {
                        entry.experiments.extend(block.experiments.iter().cloned());
                    }
                }
            }
        }
    }
    let mut reverts: Vec<report::RevertRecord> = reports
        .iter()
        .flat_map(|(_, r)| r.reverts.iter().cloned())
        .collect();
    reverts.sort_by_key(|r| r.block);
    Ok(Report {
        reverts,
        run_id: format!("{}-merged", first.run_id),
        started_at: reports
            .iter()
            .map(|(_, r)| r.started_at)
            .min()
            .unwrap_or_default(),
        duration_ms: reports
            .iter()
            .map(|(_, r)| r.duration_ms)
            .max()
            .unwrap_or_default(),
        blocks: blocks.into_values().collect(),
        shard: None,
        interrupted: None,
        ..first
    }
    .finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_split_every_pair_exactly_once() {
        assert!(parse_shard("0/3").is_err());
        assert!(parse_shard("4/3").is_err());
        assert!(parse_shard("3").is_err());
        let shards: Vec<Shard> = (1..=3)
            .map(|i| parse_shard(&format!("{i}/3")).unwrap())
            .collect();
        for position in 0..50 {
            assert_eq!(shards.iter().filter(|s| s.keeps(position)).count(), 1);
        }
    }

    #[test]
    fn unknown_scenarios_are_bad_input_and_engines_filter() {
        let c = Catalogue {
            in_evm: vec!["a".into(), "b".into()],
            live: vec!["k".into()],
        };
        assert!(c
            .select(&["nope".into()], EngineChoice::All)
            .unwrap_err()
            .cause
            .contains("unknown scenario `nope`"));
        assert_eq!(
            c.select(&[], EngineChoice::All).unwrap(),
            (vec!["a".into(), "b".into()], vec!["k".into()])
        );
        assert_eq!(
            c.select(&["b".into()], EngineChoice::All).unwrap(),
            (vec!["b".into()], vec![])
        );
        assert_eq!(
            c.select(&[], EngineChoice::LiveFork).unwrap(),
            (vec![], vec!["k".into()])
        );
        assert!(c
            .select(&["a".into()], EngineChoice::LiveFork)
            .unwrap_err()
            .cause
            .contains("`a` is an in-EVM experiment"));
        assert!(c.select(&["k".into()], EngineChoice::InEvm).is_err());
    }

    #[test]
    fn run_ids_differ_within_one_second_and_one_process() {
        let ids: std::collections::BTreeSet<String> =
            (0..1000).map(|_| new_run_id(1_796_000_000, 42)).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id
            .starts_with(&format!("1796000000-{}-", std::process::id()))
            && id.ends_with("-seed42")));
    }
}
