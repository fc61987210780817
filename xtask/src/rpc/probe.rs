//! `cargo xtask rpc-probe`: measure an endpoint and classify what it does.
//!
//! Eight checks run in order, each with a hard budget of one `--timeout` (a check that makes
//! several calls shares that budget), so the whole probe ends within 8 × timeout plus start-up,
//! even against an endpoint that accepts connections and never answers. When reachability
//! fails with `timeout` or `unreachable`, the other checks are not run and carry the same
//! class (with "not run" in their detail).
//!
//! | check | calls | fails with |
//! | --- | --- | --- |
//! | `reachability` | `eth_blockNumber` | any transport class |
//! | `chain_id` | `eth_chainId` | `wrong_chain` |
//! | `head_freshness` | `eth_blockNumber`, `eth_getBlockByNumber(latest)` | `stale_head` (too old, or went back) |
//! | `latency` | `--samples` × `eth_blockNumber` | the first failure's class |
//! | `archive` | `eth_getBalance`/`eth_getCode`/`eth_getStorageAt` at the pinned block | `not_archive` |
//! | `pinned_block` | 3 × `eth_getBlockByNumber(pinned)` | `inconsistent_block` (missing, or hash changes) |
//! | `batch` | a 2-call batch | `rpc_error` (refused), `malformed` |
//! | `rate_limit` | 8 concurrent `eth_chainId` | `rate_limited` (HTTP 429, -32005) |
//!
//! The pinned block is `--fork-block` (a block beyond the head is bad input: exit 2), else
//! the head seen by `reachability`.
//!
//! Verdict: `unusable` (exit 2) when `reachability` or `chain_id` is not `ok`, or any check is
//! `unreachable`, `wrong_chain`, `not_archive` or `inconsistent_block`: experiments against
//! such an endpoint cannot run or cannot be trusted. Otherwise `degraded` (exit 1) when any
//! check is not `ok` (`timeout`, `reset`, `partial_read`, `malformed`, `rate_limited`,
//! `http_error`, `rpc_error`, `stale_head`): experiments can run, and are expected to meet
//! these faults. `healthy` (exit 0) when every check is `ok`.

use std::future::Future;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::json;

use super::client::{show_duration, Failure, RpcClient};
use super::redact::UrlArg;
use super::serve::{duration_arg, positive_duration_arg};
use super::{BlockNumber, Class, Redacted};
use crate::error::Unusable;
use crate::shell;

mod checks;
use checks::{
    archive_access, batch_support, head_freshness, pinned_block, quantity, rate_limit,
    sample_latency,
};

/// The endpoint used when neither `--rpc-url` nor `BSC_RPC_URL` is given: the local chain
/// that `cargo xtask chain` serves.
pub const LOCAL_CHAIN_URL: &str = "http://127.0.0.1:8545";

/// WBNB on BSC: state that every archive node has at any block since 2020.
const PROBE_ACCOUNT: &str = "0xbb4CdB9CBd36B01bD1cBaEBF2De08d9173bc095c";

/// Concurrent calls in the rate-limit check.
const BURST: usize = 8;

/// Reads of the pinned block in the hash-stability check.
const PINNED_READS: usize = 3;

const AFTER_HELP: &str = "\
Checks (each within one --timeout): reachability, chain_id, head_freshness, latency, archive,
pinned_block, batch, rate_limit. Each gets one class: ok, timeout, unreachable, reset,
partial_read, malformed, rate_limited, http_error, rpc_error, wrong_chain, stale_head,
not_archive, inconsistent_block.
Exit: 0 healthy; 1 degraded (some check not ok); 2 unusable (reachability or chain_id not ok, or
any unreachable, wrong_chain, not_archive, inconsistent_block) or bad input.";

/// Arguments of `cargo xtask rpc-probe`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct ProbeArgs {
    /// Endpoint to probe (http:// or https://) [default: $BSC_RPC_URL, else the local chain at
    /// http://127.0.0.1:8545]. Never printed unredacted.
    #[arg(long, value_name = "URL", env = "BSC_RPC_URL", hide_env_values = true)]
    pub rpc_url: Option<UrlArg>,

    /// The chain id the endpoint must serve.
    #[arg(long, value_name = "ID", default_value_t = 56)]
    pub expect_chain_id: u64,

    /// Block to check archive access and hash stability at (decimal or 0x hex)
    /// [default: $BSC_FORK_BLOCK, else the head].
    #[arg(long, value_name = "BLOCK", env = "BSC_FORK_BLOCK")]
    pub fork_block: Option<String>,

    /// Calls measured for the latency percentiles.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub samples: u32,

    /// Hard deadline of each call, and budget of each check (e.g. 500ms, 5s).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = positive_duration_arg)]
    pub timeout: Duration,

    /// Oldest acceptable head block (by its timestamp against this machine's clock).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration_arg)]
    pub max_head_age: Duration,

    /// Print the report as JSON on stdout instead of the table on stderr.
    #[arg(long)]
    pub json: bool,
}

/// What to probe and how.
#[derive(Debug, Clone)]
pub struct ProbeSettings {
    pub endpoint: Redacted,
    pub expect_chain_id: u64,
    pub fork_block: Option<BlockNumber>,
    pub samples: u32,
    pub timeout: Duration,
    pub max_head_age: Duration,
}

/// The checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeCheck {
    Reachability,
    ChainId,
    HeadFreshness,
    Latency,
    Archive,
    PinnedBlock,
    Batch,
    RateLimit,
}

impl ProbeCheck {
    pub const ALL: [ProbeCheck; 8] = [
        ProbeCheck::Reachability,
        ProbeCheck::ChainId,
        ProbeCheck::HeadFreshness,
        ProbeCheck::Latency,
        ProbeCheck::Archive,
        ProbeCheck::PinnedBlock,
        ProbeCheck::Batch,
        ProbeCheck::RateLimit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProbeCheck::Reachability => "reachability",
            ProbeCheck::ChainId => "chain_id",
            ProbeCheck::HeadFreshness => "head_freshness",
            ProbeCheck::Latency => "latency",
            ProbeCheck::Archive => "archive",
            ProbeCheck::PinnedBlock => "pinned_block",
            ProbeCheck::Batch => "batch",
            ProbeCheck::RateLimit => "rate_limit",
        }
    }

    /// Without these the endpoint's identity is unknown: anything else is moot.
    fn is_critical(self) -> bool {
        matches!(self, ProbeCheck::Reachability | ProbeCheck::ChainId)
    }
}

/// Classes that make an endpoint unusable wherever they appear.
pub const UNUSABLE_CLASSES: [Class; 4] = [
    Class::Unreachable,
    Class::WrongChain,
    Class::NotArchive,
    Class::InconsistentBlock,
];

/// One check's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: ProbeCheck,
    pub class: Class,
    pub detail: String,
    /// Wall time of the check; null when it was not run.
    pub latency_ms: Option<f64>,
}

/// Latency percentiles over the successful samples (nearest rank).
#[derive(Debug, Clone, Default, Serialize)]
pub struct LatencySummary {
    pub samples: usize,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

impl LatencySummary {
    pub fn from_samples(samples: &[Duration]) -> Self {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let rank = |p: f64| -> Option<f64> {
            if ms.is_empty() {
                return None;
            }
            let index = ((p / 100.0) * ms.len() as f64).ceil() as usize;
            Some(round_ms(ms[index.clamp(1, ms.len()) - 1]))
        };
        Self {
            samples: ms.len(),
            p50_ms: rank(50.0),
            p95_ms: rank(95.0),
            p99_ms: rank(99.0),
            max_ms: ms.last().copied().map(round_ms),
        }
    }
}

/// How usable the endpoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeVerdict {
    Healthy,
    Degraded,
    Unusable,
}

impl ProbeVerdict {
    pub fn exit_code(self) -> ExitCode {
        match self {
            ProbeVerdict::Healthy => ExitCode::SUCCESS,
            ProbeVerdict::Degraded => ExitCode::from(1),
            ProbeVerdict::Unusable => ExitCode::from(crate::error::EXIT_UNUSABLE),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProbeVerdict::Healthy => "healthy",
            ProbeVerdict::Degraded => "degraded",
            ProbeVerdict::Unusable => "unusable",
        }
    }

    /// See the module docs for the rule.
    pub fn of(checks: &[CheckResult]) -> Self {
        let unusable = checks.iter().any(|c| {
            UNUSABLE_CLASSES.contains(&c.class) || (c.name.is_critical() && c.class != Class::Ok)
        });
        if unusable {
            ProbeVerdict::Unusable
        } else if checks.iter().any(|c| c.class != Class::Ok) {
            ProbeVerdict::Degraded
        } else {
            ProbeVerdict::Healthy
        }
    }
}

/// The probe's report, as printed by `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub endpoint: Redacted,
    pub expected_chain_id: u64,
    pub pinned_block: Option<BlockNumber>,
    pub timeout_ms: u64,
    pub checks: Vec<CheckResult>,
    pub latency: LatencySummary,
    pub verdict: ProbeVerdict,
    pub duration_ms: f64,
}

impl ProbeReport {
    pub fn check(&self, name: ProbeCheck) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.name == name)
    }
}

pub fn run(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    let url = args
        .rpc_url
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| UrlArg::new(LOCAL_CHAIN_URL));
    let settings = ProbeSettings {
        endpoint: url.parse("--rpc-url")?,
        expect_chain_id: args.expect_chain_id,
        fork_block: fork_block(args.fork_block.as_deref())?,
        samples: args.samples,
        timeout: args.timeout,
        max_head_age: args.max_head_age,
    };
    if !args.json {
        shell::status(
            "Probing",
            format!(
                "{} (chain {} expected, timeout {}, {} samples)",
                settings.endpoint,
                settings.expect_chain_id,
                show_duration(settings.timeout),
                settings.samples
            ),
        );
    }
    let runtime = crate::runtime::shared().context("starting the probe's runtime")?;
    let report = runtime.block_on(probe(&settings))?;
    if args.json {
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, &report)?;
        writeln!(stdout)?;
    } else {
        print_table(&report);
    }
    Ok(report.verdict.exit_code())
}

/// `--fork-block` / `BSC_FORK_BLOCK`; empty means unset.
fn fork_block(text: Option<&str>) -> Result<Option<BlockNumber>, Unusable> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|reason| {
            Unusable::with_fix(
                format!("--fork-block (or BSC_FORK_BLOCK): {reason}"),
                "give a block number such as 45000000 or 0x2aea540",
            )
        }),
    }
}

/// The table on stderr: one line per check, then the percentiles and the verdict.
pub fn print_table(report: &ProbeReport) {
    shell::line(format!(
        "  {:<15} {:<19} {:>9}  detail",
        "check", "class", "time"
    ));
    for check in &report.checks {
        let time = check
            .latency_ms
            .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1}ms"));
        shell::line(format!(
            "  {:<15} {:<19} {:>9}  {}",
            check.name.as_str(),
            check.class.as_str(),
            time,
            check.detail
        ));
    }
    let l = &report.latency;
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}ms"));
    shell::line(format!(
        "  latency: p50 {}  p95 {}  p99 {}  max {}  ({} samples)",
        ms(l.p50_ms),
        ms(l.p95_ms),
        ms(l.p99_ms),
        ms(l.max_ms),
        l.samples
    ));
    let failing: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.class != Class::Ok)
        .map(|c| c.name.as_str())
        .collect();
    let took = format!("in {:.2}s", report.duration_ms / 1000.0);
    match report.verdict {
        ProbeVerdict::Healthy => shell::status("Healthy", format!("every check ok {took}")),
        ProbeVerdict::Degraded => shell::warn(format!("degraded: {} {took}", failing.join(", "))),
        ProbeVerdict::Unusable => shell::error(format!("unusable: {} {took}", failing.join(", "))),
    }
}

/// Run every check. `Err` only for bad input (a pinned block beyond the head).
pub async fn probe(settings: &ProbeSettings) -> Result<ProbeReport, Unusable> {
    let started = Instant::now();
    let client = RpcClient::new(settings.endpoint.clone());
    let t = settings.timeout;
    let mut checks = Vec::with_capacity(ProbeCheck::ALL.len());
    let mut latency = LatencySummary::default();

    let (reach, took) = bounded(t, client.call("eth_blockNumber", json!([]), t)).await;
    let head = reach.and_then(|v| quantity(&v, "eth_blockNumber"));
    checks.push(result(ProbeCheck::Reachability, &head, took, |h| {
        format!("head block {h}")
    }));
    if let Err(failure) = &head {
        if matches!(failure.class, Class::Timeout | Class::Unreachable) {
            for check in &ProbeCheck::ALL[1..] {
                checks.push(CheckResult {
                    name: *check,
                    class: failure.class,
                    detail: format!("not run: reachability failed ({})", failure.class),
                    latency_ms: None,
                });
            }
            return Ok(finish(settings, None, checks, latency, started));
        }
    }
    let head = head.ok().map(BlockNumber);
    let pinned = match (settings.fork_block, head) {
        (Some(fork), Some(head)) if fork > head => {
            return Err(Unusable::with_fix(
                format!("--fork-block {fork} is beyond the endpoint's head {head}"),
                "pin a block at or below the head (or unset BSC_FORK_BLOCK)",
            ));
        }
        (Some(fork), _) => Some(fork),
        (None, head) => head,
    };

    let (chain, took) = bounded(t, client.call("eth_chainId", json!([]), t)).await;
    let chain = chain
        .and_then(|v| quantity(&v, "eth_chainId"))
        .and_then(|id| {
            if id == settings.expect_chain_id {
                Ok(id)
            } else {
                Err(Failure::new(
                    Class::WrongChain,
                    format!("chain id {id}, expected {}", settings.expect_chain_id),
                ))
            }
        });
    checks.push(result(ProbeCheck::ChainId, &chain, took, |id| {
        format!("chain id {id}")
    }));

    let (fresh, took) = bounded(t, head_freshness(&client, head, settings)).await;
    checks.push(result(
        ProbeCheck::HeadFreshness,
        &fresh,
        took,
        Clone::clone,
    ));

    let (sampled, took) = bounded(t, sample_latency(&client, settings, &mut latency)).await;
    checks.push(result(ProbeCheck::Latency, &sampled, took, Clone::clone));

    match pinned {
        Some(block) => {
            let (archive, took) = bounded(t, archive_access(&client, block, t)).await;
            checks.push(result(ProbeCheck::Archive, &archive, took, Clone::clone));
            let (stable, took) = bounded(t, pinned_block(&client, block, head, t)).await;
            checks.push(result(ProbeCheck::PinnedBlock, &stable, took, Clone::clone));
        }
        None => {
            // No head and no --fork-block: reachability failed; say so rather than guess.
            for check in [ProbeCheck::Archive, ProbeCheck::PinnedBlock] {
                let class = checks[0].class;
                checks.push(CheckResult {
                    name: check,
                    class,
                    detail: format!("not run: no block to pin (reachability: {class})"),
                    latency_ms: None,
                });
            }
        }
    }

    let (batch, took) = bounded(t, batch_support(&client, t)).await;
    checks.push(result(ProbeCheck::Batch, &batch, took, Clone::clone));

    let (burst, took) = bounded(t, rate_limit(&client, t)).await;
    checks.push(result(ProbeCheck::RateLimit, &burst, took, Clone::clone));

    Ok(finish(settings, pinned, checks, latency, started))
}

fn finish(
    settings: &ProbeSettings,
    pinned: Option<BlockNumber>,
    checks: Vec<CheckResult>,
    latency: LatencySummary,
    started: Instant,
) -> ProbeReport {
    ProbeReport {
        endpoint: settings.endpoint.clone(),
        expected_chain_id: settings.expect_chain_id,
        pinned_block: pinned,
        timeout_ms: u64::try_from(settings.timeout.as_millis()).unwrap_or(u64::MAX),
        verdict: ProbeVerdict::of(&checks),
        checks,
        latency,
        duration_ms: round_ms(started.elapsed().as_secs_f64() * 1000.0),
    }
}

/// Run `check` within `budget`; the elapsed time comes back with the outcome.
async fn bounded<T>(
    budget: Duration,
    check: impl Future<Output = Result<T, Failure>>,
) -> (Result<T, Failure>, Duration) {
    let started = Instant::now();
    let outcome = match tokio::time::timeout(budget, check).await {
        Ok(outcome) => outcome,
        Err(_) => Err(Failure::new(
            Class::Timeout,
            format!("check did not finish within {}", show_duration(budget)),
        )),
    };
    (outcome, started.elapsed())
}

fn result<T>(
    name: ProbeCheck,
    outcome: &Result<T, Failure>,
    took: Duration,
    describe: impl Fn(&T) -> String,
) -> CheckResult {
    let (class, detail) = match outcome {
        Ok(value) => (Class::Ok, describe(value)),
        Err(failure) => (failure.class, failure.detail.clone()),
    };
    CheckResult {
        name,
        class,
        detail,
        latency_ms: Some(round_ms(took.as_secs_f64() * 1000.0)),
    }
}

fn round_ms(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests;
