//! `cargo xtask rpc-proxy`: the proxy as a command. Prints its URL on stdout, serves until
//! Ctrl-C or SIGTERM, then prints what it counted on stderr.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use super::fault::FaultSpec;
use super::proxy::{Limits, Proxy, ProxyConfig, ProxyStats};
use super::redact::UrlArg;
use super::retry::Policy;
use crate::error::Unusable;
use crate::shell;

const AFTER_HELP: &str = "\
Fault specs: KIND[:ARGS]{@SELECTOR}
  latency:DUR[~JITTER]   hang[:MAX]   reset   truncate[:FRACTION]
  http:STATUS[,retry-after=SECS]   rpc-error:CODE[,message=TEXT]
  stale-head:N   regress-head:N   wrong-chain:ID
Selectors (all must match): method=NAME[|NAME...]  p=PROB  first=N  every=K
Examples: latency:200ms~50ms@method=eth_call  truncate@p=0.1  http:429,retry-after=2@first=3
          rpc-error:-32005@every=5  stale-head:12  wrong-chain:97  reset@method=eth_getStorageAt
Counters: GET /__proxy/stats on the proxy (loopback clients only).";

/// Arguments of `cargo xtask rpc-proxy`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct ProxyArgs {
    /// The JSON-RPC endpoint to forward to (http:// or https://); never printed unredacted.
    #[arg(long, value_name = "URL")]
    pub upstream: UrlArg,

    /// Address to listen on; port 0 picks a free port. The URL is printed on stdout.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,

    /// A fault to inject; repeat for several (applied in the order given).
    #[arg(long = "fault", value_name = "SPEC")]
    pub faults: Vec<FaultSpec>,

    /// Seed of the RNG behind `p=` selectors and latency jitter.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,

    /// Longest wait for the upstream's whole answer (then HTTP 504).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = positive_duration_arg)]
    pub upstream_timeout: Duration,

    /// Client connections served at once; more wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub max_connections: u64,

    /// Connections one client address may hold at once (at most --max-connections).
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub max_connections_per_peer: u64,

    /// Put the resilient layer in front of the upstream: idempotent reads are validated and
    /// retried on timeout, reset, cut body, malformed answer, 5xx and 429 (honouring
    /// Retry-After), with seeded backoff, a per-request deadline and a global retry budget.
    #[arg(long)]
    pub resilient: bool,

    /// With --resilient: send a second copy of a read that has not answered within this.
    #[arg(long, value_name = "DURATION", value_parser = positive_duration_arg, requires = "resilient")]
    pub hedge_after: Option<Duration>,
}

/// clap parser for `500ms`, `5s`, `2m`.
pub fn duration_arg(text: &str) -> Result<Duration, String> {
    super::fault::parse_duration(text).map_err(|reason| format!("`{text}` {reason}"))
}

/// clap parser for a duration that must be longer than zero (a timeout of 0 would fail
/// every call, silently).
pub fn positive_duration_arg(text: &str) -> Result<Duration, String> {
    let duration = duration_arg(text)?;
    if duration.is_zero() {
        return Err(format!("`{text}` must be longer than zero"));
    }
    Ok(duration)
}

pub fn run(args: ProxyArgs) -> anyhow::Result<ExitCode> {
    let upstream = args.upstream.parse("--upstream")?;
    if args.max_connections_per_peer > args.max_connections {
        return Err(Unusable::with_fix(
            format!(
                "--max-connections-per-peer {} is more than --max-connections {}",
                args.max_connections_per_peer, args.max_connections
            ),
            "give each peer at most the proxy's whole capacity",
        )
        .into());
    }
    let mut config = ProxyConfig::new(upstream.clone()).seed(args.seed);
    config.listen = args.listen;
    config.faults = args.faults;
    config.limits = Limits {
        upstream_timeout: args.upstream_timeout,
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        max_connections_per_peer: usize::try_from(args.max_connections_per_peer)
            .unwrap_or(usize::MAX),
        ..Limits::default()
    };
    if args.resilient {
        config = config.resilient(Policy {
            hedge_after: args.hedge_after,
            ..Policy::seeded(args.seed)
        });
    }
    let faults: Vec<String> = config.faults.iter().map(ToString::to_string).collect();
    let proxy = Proxy::start(config)?;
    shell::status("Proxying", format!("{} -> {upstream}", proxy.url()));
    for fault in &faults {
        shell::note("Fault", fault);
    }
    if faults.is_empty() {
        shell::note("Fault", "none (pass-through)");
    }
    if args.resilient {
        shell::note("Resilient", "idempotent reads are validated and retried");
    }
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", proxy.url())?;
        stdout.flush()?;
    }
    crate::signals::wait_for_termination()?;
    let stats = proxy.stats();
    drop(proxy);
    shell::status("Stopped", summary(&stats));
    Ok(ExitCode::SUCCESS)
}

/// One line: requests, calls, keys, faults injected.
pub fn summary(stats: &ProxyStats) -> String {
    let injected: Vec<String> = stats
        .faults
        .iter()
        .map(|f| format!("{} x{}", f.spec, f.injected))
        .collect();
    let mut line = format!(
        "{} requests ({} batches), {} calls, {} distinct state keys, {} upstream errors",
        stats.http_requests,
        stats.batches,
        stats.calls,
        stats.distinct_state_keys,
        stats.upstream_errors
    );
    if !injected.is_empty() {
        line.push_str("; injected: ");
        line.push_str(&injected.join(", "));
    }
    let (retries, hedges, give_ups) = stats.resilience.values().fold((0, 0, 0), |t, c| {
        (t.0 + c.retries, t.1 + c.hedges, t.2 + c.give_ups)
    });
    if retries + hedges + give_ups > 0 {
        line.push_str(&format!(
            "; resilient layer: {retries} retries, {hedges} hedges, {give_ups} give-ups"
        ));
    }
    line
}
