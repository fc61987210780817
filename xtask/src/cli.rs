//! The command line: one subcommand per task, each a struct with a `run`.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::{Outcome, Unusable, EXIT_UNUSABLE};
use crate::project::Project;
use crate::toolchain::{doctor, Tool, Toolchain};
use crate::{chain, chaos, rpc, shell, suite};

/// Task runner for the BSC yield-vault chaos layer.
#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    version,
    about,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole test suite: Rust tests, forge tests, and the end-to-end checks.
    Test(suite::TestArgs),
    /// Run the chaos experiments on forks of pinned blocks (the local BSC replica chain, or real BSC with BSC_RPC_URL).
    Chaos(chaos::args::ChaosArgs),
    /// Mutation testing: single-point mutants of the vault judged by the chaos suite (score, kill matrix, survivors).
    Mutants(crate::mutants::MutantsArgs),
    /// Measure the chaos suite against the naive way, side by side (writes bench.json and bench.md).
    Bench(crate::bench::BenchArgs),
    /// Start the local BSC replica chain (deployed environment and market history) and keep it running.
    Chain(ChainArgs),
    /// Show every tool the project uses, where it comes from and what is missing.
    Doctor(doctor::DoctorArgs),
    /// Run the pinned forge with the project's compiler set-up (paths relative to the repository root).
    Forge(PassthroughArgs),
    /// Run the pinned anvil.
    Anvil(PassthroughArgs),
    /// Run the pinned cast.
    Cast(PassthroughArgs),
    /// Measure a JSON-RPC endpoint and classify what it does (exit 0 healthy, 1 degraded, 2 unusable).
    RpcProbe(rpc::probe::ProbeArgs),
    /// Serve a fault-injecting JSON-RPC proxy in front of an endpoint until Ctrl-C.
    RpcProxy(rpc::serve::ProxyArgs),
    /// Run Slither on the vault and compare its findings with slither.triage.json (exit 1 on a new one).
    Slither(crate::slither::SlitherArgs),
}

#[derive(Debug, clap::Args)]
pub struct ChainArgs {
    /// Seed of the market history: the same seed gives the same state at the same block.
    #[arg(long, default_value_t = chain::DEFAULT_SEED)]
    pub seed: u64,
    /// Days of market history to play.
    #[arg(long, default_value_t = chain::DEFAULT_DAYS, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub days: u32,
    /// Where the address book and chain.json are written.
    #[arg(long, value_name = "DIR", default_value = "reports/chain")]
    pub out: std::path::PathBuf,
    /// Port to serve on (`cargo xtask rpc-probe` looks at 8545 by default; 0: any free port).
    #[arg(long, default_value_t = 8545)]
    pub port: u16,
    /// PancakeSwap V2 and Chainlink: `real` (built from the npm registry's sources) or `hand`
    /// (the hand-written replicas, for comparison).
    #[arg(long, value_enum, default_value = "real")]
    pub replicas: chain::Replicas,
    /// Build the chain from scratch instead of loading it from the chain cache (a cached chain
    /// serves state only at its landmark and phase-boundary blocks; also XTASK_CHAIN_CACHE=off).
    #[arg(long)]
    pub no_chain_cache: bool,
    /// Remove every chain cache entry (cache/chain/) and exit.
    #[arg(long)]
    pub clear_cache: bool,
}

#[derive(Debug, clap::Args)]
pub struct PassthroughArgs {
    /// Arguments for the tool, after `--` (for example `cargo xtask forge -- build --sizes`).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<OsString>,
}

/// Parse the command line, run the command and turn the result into an exit code.
pub fn main() -> ExitCode {
    shell::init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints usage errors with exit code 2 and help/version with 0.
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(EXIT_UNUSABLE));
        }
    };
    let project = Project::locate();
    // One cancellation path for every command (see `signals`): a signal stops the run at its
    // next step, and the exit code is 130 (SIGINT) or 143 (SIGTERM), whatever it was doing.
    crate::signals::install();
    // The proxy starts no child and serves until a signal: that signal is its normal end.
    let serves_until_stopped = matches!(cli.command, Command::RpcProxy(_));
    let outcome = run(cli.command, &project);
    if let (Some(code), false) = (crate::signals::exit_code(), serves_until_stopped) {
        let phase = crate::signals::current_phase();
        match &outcome {
            Err(err) if err.downcast_ref::<crate::signals::Interrupted>().is_some() => {
                shell::error(format!("{err:#}"));
            }
            _ => shell::error(format!(
                "interrupted by {} during {phase}",
                crate::signals::signal_name(i32::from(code) - 128)
            )),
        }
        return ExitCode::from(code);
    }
    match outcome {
        Ok(code) => code,
        Err(err) => report_error(&err),
    }
}

fn run(command: Command, project: &Project) -> anyhow::Result<ExitCode> {
    match command {
        Command::Test(args) => suite::run(args, project).map(Outcome::exit_code),
        Command::Doctor(args) => doctor::run(args, project),
        Command::Chain(args) => run_chain(args, project),
        Command::Chaos(args) => chaos::run(args, project),
        Command::Mutants(args) => crate::mutants::run(args, project),
        Command::Bench(args) => crate::bench::run(args, project),
        Command::Forge(args) => passthrough(project, Tool::Forge, args),
        Command::Anvil(args) => passthrough(project, Tool::Anvil, args),
        Command::Cast(args) => passthrough(project, Tool::Cast, args),
        Command::RpcProbe(args) => rpc::probe::run(args),
        Command::RpcProxy(args) => rpc::serve::run(args),
        Command::Slither(args) => crate::slither::run(args, project),
    }
}

fn passthrough(project: &Project, tool: Tool, args: PassthroughArgs) -> anyhow::Result<ExitCode> {
    let toolchain = Toolchain::ensure(project)?;
    let code = crate::foundry::passthrough(&toolchain, tool, &args.args)?;
    Ok(ExitCode::from(
        u8::try_from(code.clamp(0, 255)).unwrap_or(1),
    ))
}

fn run_chain(args: ChainArgs, project: &Project) -> anyhow::Result<ExitCode> {
    if args.out.as_os_str().is_empty() {
        return Err(Unusable::new("--out is empty").into());
    }
    let cache_dir = crate::chain::cache::default_dir(project.root());
    if args.clear_cache {
        let n = crate::chain::cache::clear(&cache_dir)?;
        shell::status(
            "Cleared",
            format!("{n} chain cache entries from {}", cache_dir.display()),
        );
        return Ok(ExitCode::SUCCESS);
    }
    let toolchain = Toolchain::ensure(project)?;
    let out_dir = project.root().join(&args.out);
    let local = chain::build_with(
        &toolchain,
        &chain::ChainOptions {
            seed: args.seed,
            days: args.days,
            out_dir,
            port: args.port,
            cache: crate::chain::cache::Mode::new(cache_dir, args.no_chain_cache),
        },
        args.replicas,
    )?;
    println!("{}", local.info.url);
    shell::status(
        "Serving",
        format!("the local BSC replica at {} (chain id 56)", local.info.url),
    );
    shell::line(format!(
        "  address book: {}",
        local.info.address_book.display()
    ));
    for mark in &local.info.landmarks {
        shell::line(format!(
            "  {:<9} block {:>6}  time {}",
            mark.label, mark.block, mark.timestamp
        ));
    }
    if let Some(blocks) = &local.info.state_only_at {
        shell::line(format!(
            "  from the chain cache: state at blocks {} and the head only (--no-chain-cache: every block)",
            blocks
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    shell::line("  Ctrl-C stops it.");
    crate::signals::phase("serving")?;
    crate::signals::wait_for_termination()?;
    shell::status("Stopping", "the local chain");
    drop(local);
    Ok(ExitCode::SUCCESS)
}

/// Print an error that ended the run: the cause on one line, the fix on the next.
/// Every such run exits with 2: it could not be done.
pub fn report_error(err: &anyhow::Error) -> ExitCode {
    if let Some(unusable) = err.downcast_ref::<Unusable>() {
        shell::error(&unusable.cause);
        if let Some(fix) = &unusable.fix {
            shell::line(format!("  fix: {fix}"));
        }
    } else {
        shell::error(format!("{err:#}"));
    }
    ExitCode::from(EXIT_UNUSABLE)
}
