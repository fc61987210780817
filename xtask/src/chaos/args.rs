//! The command line of `cargo xtask chaos`: its arguments, the `merge` subcommand, the engine
//! choice and `--shard`, and the checks on them that come before any work (exit code 2).

use crate::chaos::engine::in_evm::SCENARIO_SCRIPT;
use crate::chaos::pin;
use crate::chaos::pin::{Point, Step};
use crate::error::Unusable;
use std::path::PathBuf;

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

/// Flags that contradict each other or cannot do anything: exit 2 before any work.
pub(super) fn validate(args: &ChaosArgs) -> Result<(), Unusable> {
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
