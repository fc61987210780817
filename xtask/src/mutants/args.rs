//! The command line of `cargo xtask mutants`: its arguments, subcommands and engine choice.

use super::config;
use crate::chaos::args::{parse_shard, Shard};
use std::path::PathBuf;
use std::time::Duration;

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

pub(super) fn parse_percent(text: &str) -> Result<f64, String> {
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
