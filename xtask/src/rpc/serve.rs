//! `cargo xtask rpc-proxy`: the proxy as a command. Prints its URL on stdout, serves until
//! Ctrl-C or SIGTERM, then prints what it counted on stderr.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use super::fault::FaultSpec;
use super::proxy::{Limits, Proxy, ProxyConfig, ProxyStats};
use super::redact::UrlArg;
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
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration_arg)]
    pub upstream_timeout: Duration,

    /// Client connections served at once; more wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_connections: usize,
}

/// clap parser for `500ms`, `5s`, `2m`.
pub fn duration_arg(text: &str) -> Result<Duration, String> {
    super::fault::parse_duration(text).map_err(|reason| format!("`{text}` {reason}"))
}

pub fn run(args: ProxyArgs) -> anyhow::Result<ExitCode> {
    let upstream = args.upstream.parse("--upstream")?;
    let config = ProxyConfig {
        upstream: upstream.clone(),
        listen: args.listen,
        faults: args.faults,
        seed: args.seed,
        limits: Limits {
            upstream_timeout: args.upstream_timeout,
            max_connections: args.max_connections.max(1),
            ..Limits::default()
        },
    };
    let faults: Vec<String> = config.faults.iter().map(ToString::to_string).collect();
    let proxy = Proxy::start(config)?;
    shell::status("Proxying", format!("{} -> {upstream}", proxy.url()));
    for fault in &faults {
        shell::note("Fault", fault);
    }
    if faults.is_empty() {
        shell::note("Fault", "none (pass-through)");
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
    line
}
