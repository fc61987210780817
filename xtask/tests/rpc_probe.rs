//! `rpc-probe` against a healthy anvil, against each proxy fault, against an endpoint that
//! never answers; secrets never printed.

use crate::support;
use support::xtask;

use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use support::{anvil, anvil_with, call, redacted, NeverAnswers};
use xtask::foundry::anvil::Anvil;
use xtask::rpc::probe::{probe, ProbeCheck, ProbeReport, ProbeSettings, ProbeVerdict};
use xtask::rpc::proxy::{Proxy, ProxyConfig, ProxyHandle};
use xtask::rpc::{BlockNumber, Class};

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn settings(url: &str, timeout: Duration) -> ProbeSettings {
    ProbeSettings {
        endpoint: redacted(url),
        expect_chain_id: 56,
        fork_block: None,
        samples: 5,
        timeout,
        max_head_age: Duration::from_secs(60),
    }
}

fn run_probe(settings: &ProbeSettings) -> (ProbeReport, Duration) {
    let started = Instant::now();
    let report = support::runtime()
        .block_on(probe(settings))
        .expect("probe runs");
    let took = started.elapsed();
    let bound = settings.timeout * ProbeCheck::ALL.len() as u32 + Duration::from_secs(1);
    assert!(took <= bound, "probe took {took:?}, bound {bound:?}");
    (report, took)
}

fn proxy(upstream: &Anvil, faults: &[&str]) -> ProxyHandle {
    let mut config = ProxyConfig::new(redacted(&upstream.url())).seed(1);
    for fault in faults {
        config = config.fault(fault.parse().expect("valid spec"));
    }
    Proxy::start(config).expect("proxy starts")
}

fn class_of(report: &ProbeReport, check: ProbeCheck) -> Class {
    report.check(check).expect("check present").class
}

#[test]
fn healthy_anvil_is_healthy_with_exit_0() {
    let anvil = anvil();
    let output = xtask()
        .args([
            "rpc-probe",
            "--rpc-url",
            &anvil.url(),
            "--json",
            "--samples",
            "5",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["verdict"], "healthy");
    assert_eq!(report["endpoint"], anvil.url());
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 8);
    for check in checks {
        assert_eq!(check["class"], "ok", "{check}");
        assert!(check["latency_ms"].as_f64().is_some(), "{check}");
        assert!(check["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    assert_eq!(report["latency"]["samples"], 5);
    for key in ["p50_ms", "p95_ms", "p99_ms", "max_ms"] {
        assert!(report["latency"][key].as_f64().is_some(), "{key}");
    }
    // Without --json: the table on stderr, nothing on stdout.
    let output = xtask()
        .args(["rpc-probe", "--rpc-url", &anvil.url(), "--fork-block", "0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stdout.is_empty());
    let table = String::from_utf8_lossy(&output.stderr);
    assert!(
        table.contains("reachability    ok") && table.contains("Healthy"),
        "{table}"
    );
}

#[test]
fn each_proxy_fault_gets_its_class_within_the_bound() {
    let anvil = anvil();
    let t = Duration::from_millis(600);
    let cases: [(&str, ProbeCheck, Class, ProbeVerdict); 11] = [
        (
            "truncate@method=eth_chainId",
            ProbeCheck::ChainId,
            Class::PartialRead,
            ProbeVerdict::Unusable,
        ),
        (
            "reset@method=eth_getBalance",
            ProbeCheck::Archive,
            Class::Reset,
            ProbeVerdict::Degraded,
        ),
        (
            "hang@method=eth_getCode",
            ProbeCheck::Archive,
            Class::Timeout,
            ProbeVerdict::Degraded,
        ),
        (
            "latency:900ms@method=eth_getStorageAt",
            ProbeCheck::Archive,
            Class::Timeout,
            ProbeVerdict::Degraded,
        ),
        (
            "http:429,retry-after=3@method=eth_getBlockByNumber",
            ProbeCheck::PinnedBlock,
            Class::RateLimited,
            ProbeVerdict::Degraded,
        ),
        (
            "http:502@method=eth_getBlockByNumber",
            ProbeCheck::PinnedBlock,
            Class::HttpError,
            ProbeVerdict::Degraded,
        ),
        (
            "rpc-error:-32005@method=eth_chainId@first=1",
            ProbeCheck::ChainId,
            Class::RateLimited,
            ProbeVerdict::Unusable,
        ),
        (
            "rpc-error:-32601@method=eth_getStorageAt",
            ProbeCheck::Archive,
            Class::RpcError,
            ProbeVerdict::Degraded,
        ),
        (
            "rpc-error:-32000,message=missing trie node 4a2b@method=eth_getStorageAt",
            ProbeCheck::Archive,
            Class::NotArchive,
            ProbeVerdict::Unusable,
        ),
        (
            "wrong-chain:97",
            ProbeCheck::ChainId,
            Class::WrongChain,
            ProbeVerdict::Unusable,
        ),
        (
            "http:429@method=eth_chainId@every=3",
            ProbeCheck::RateLimit,
            Class::RateLimited,
            ProbeVerdict::Degraded,
        ),
    ];
    for (fault, check, class, verdict) in cases {
        let proxy = proxy(&anvil, &[fault]);
        let (report, took) = run_probe(&settings(&proxy.url(), t));
        assert_eq!(class_of(&report, check), class, "{fault}: {report:#?}");
        assert_eq!(report.verdict, verdict, "{fault}: {report:#?}");
        assert!(took < Duration::from_secs(3), "{fault}: {took:?}");
    }
}

#[test]
fn rate_limit_burst_reports_retry_after() {
    let anvil = anvil();
    let proxy = proxy(
        &anvil,
        &["http:429,retry-after=2@method=eth_chainId@every=4"],
    );
    let (report, _) = run_probe(&settings(&proxy.url(), Duration::from_secs(1)));
    let check = report.check(ProbeCheck::RateLimit).unwrap();
    assert_eq!(check.class, Class::RateLimited, "{report:#?}");
    assert!(check.detail.contains("Retry-After: 2"), "{}", check.detail);
}

#[test]
fn truncated_reachability_is_partial_read_and_unusable() {
    let anvil = anvil();
    let proxy = proxy(&anvil, &["truncate"]);
    let (report, _) = run_probe(&settings(&proxy.url(), Duration::from_millis(500)));
    assert_eq!(
        class_of(&report, ProbeCheck::Reachability),
        Class::PartialRead
    );
    assert_eq!(report.verdict, ProbeVerdict::Unusable);
}

/// An anvil whose head is 20 blocks and 20 × 50 s old history; the head itself is recent.
fn anvil_with_history() -> Anvil {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let anvil = anvil_with(Anvil::builder().timestamp(now - 1000));
    call(&anvil.url(), "anvil_mine", json!(["0x14", "0x32"])).unwrap();
    anvil
}

#[test]
fn stale_and_regressing_heads_are_stale_head() {
    let anvil = anvil_with_history();
    let t = Duration::from_millis(600);
    let (clean, _) = run_probe(&settings(&anvil.url(), t));
    assert_eq!(clean.verdict, ProbeVerdict::Healthy, "{clean:#?}");

    let stale = proxy(&anvil, &["stale-head:12"]);
    let (report, _) = run_probe(&settings(&stale.url(), t));
    let check = report.check(ProbeCheck::HeadFreshness).unwrap();
    assert_eq!(check.class, Class::StaleHead, "{report:#?}");
    assert!(check.detail.contains("head block 8 is"), "{}", check.detail);
    assert_eq!(report.verdict, ProbeVerdict::Degraded);

    let regressing = proxy(&anvil, &["regress-head:3"]);
    let (report, _) = run_probe(&settings(&regressing.url(), t));
    let check = report.check(ProbeCheck::HeadFreshness).unwrap();
    assert_eq!(check.class, Class::StaleHead, "{report:#?}");
    assert!(
        check.detail.contains("went back from block 20 to 19"),
        "{}",
        check.detail
    );
}

#[test]
fn never_answering_endpoint_ends_within_the_bound() {
    let silent = NeverAnswers::start();
    let started = Instant::now();
    let output = xtask()
        .args([
            "rpc-probe",
            "--rpc-url",
            &silent.url(),
            "--timeout",
            "500ms",
            "--json",
        ])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(8 * 500 + 1000), "{took:?}");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["verdict"], "unusable");
    for check in report["checks"].as_array().unwrap() {
        assert_eq!(check["class"], "timeout", "{check}");
    }
    assert!(silent.connections() >= 1);
    eprintln!("never-answering endpoint: probe ended in {took:?}");
}

#[test]
fn every_check_meets_its_deadline_when_all_but_block_number_hang() {
    let anvil = anvil();
    let proxy = proxy(
        &anvil,
        &["hang@method=eth_chainId|eth_getBlockByNumber|eth_getBalance|eth_getCode|eth_getStorageAt"],
    );
    let t = Duration::from_millis(400);
    let (report, took) = run_probe(&settings(&proxy.url(), t));
    let timed_out: Vec<ProbeCheck> = report
        .checks
        .iter()
        .filter(|c| c.class == Class::Timeout)
        .map(|c| c.name)
        .collect();
    assert_eq!(
        timed_out,
        [
            ProbeCheck::ChainId,
            ProbeCheck::HeadFreshness,
            ProbeCheck::Archive,
            ProbeCheck::PinnedBlock,
            ProbeCheck::Batch,
            ProbeCheck::RateLimit
        ],
        "{report:#?}"
    );
    assert_eq!(class_of(&report, ProbeCheck::Latency), Class::Ok);
    assert!(took >= t * 6, "{took:?}");
    eprintln!("six hanging checks at {t:?} each: probe ended in {took:?}");
}

#[test]
fn refused_connection_is_unreachable() {
    let port = support::closed_port();
    let output = xtask()
        .args([
            "rpc-probe",
            "--rpc-url",
            &format!("http://127.0.0.1:{port}/"),
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["checks"][0]["class"], "unreachable");
}

#[test]
fn fork_block_beyond_the_head_is_bad_input() {
    let anvil = anvil();
    let output = xtask()
        .args([
            "rpc-probe",
            "--rpc-url",
            &anvil.url(),
            "--fork-block",
            "1000",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--fork-block 1000 is beyond the endpoint's head 0"),
        "{stderr}"
    );
    assert!(stderr.contains("fix:"), "{stderr}");
    let report = support::runtime().block_on(probe(&ProbeSettings {
        fork_block: Some(BlockNumber(0)),
        ..settings(&anvil.url(), Duration::from_secs(1))
    }));
    assert_eq!(report.unwrap().pinned_block, Some(BlockNumber(0)));
}

#[test]
fn bad_arguments_exit_2_naming_the_bad_part() {
    let cases: [(&[&str], &str); 4] = [
        (&["rpc-probe", "--timeout", "5"], "has no unit"),
        (
            &["rpc-probe", "--fork-block", "latest"],
            "`latest` is not a block number",
        ),
        (
            &[
                "rpc-proxy",
                "--upstream",
                "http://127.0.0.1:1/",
                "--fault",
                "latency:200ms@p=2",
            ],
            "`p=2` needs a probability",
        ),
        (
            &[
                "rpc-proxy",
                "--upstream",
                "http://127.0.0.1:1/",
                "--fault",
                "jam",
            ],
            "`jam` is not a fault kind",
        ),
    ];
    for (args, expected) in cases {
        let output = xtask().args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

const SECRETS: [&str; 4] = ["SECRETKEY", "SECRETQ", "SECRETUSER", "SECRETPW"];

fn assert_no_secret(output: &Output, what: &str) {
    let all = text(output);
    for secret in SECRETS {
        assert!(!all.contains(secret), "{what} printed {secret}:\n{all}");
    }
}

fn secret_url(port: u16) -> String {
    format!("http://SECRETUSER:SECRETPW@127.0.0.1:{port}/v3/SECRETKEY?key=SECRETQ")
}

#[test]
fn rpc_probe_never_prints_secrets() {
    let anvil = anvil();
    // The proxy ignores the client's path and query, so a secret URL reaches anvil.
    let proxy = proxy(
        &anvil,
        &[
            "truncate@method=eth_getCode",
            "reset@method=eth_getStorageAt",
        ],
    );
    let url = secret_url(proxy.addr().port());
    for args in [vec!["--json"], vec![]] {
        let output = xtask()
            .args(["rpc-probe", "--rpc-url", &url])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{}", text(&output));
        assert_no_secret(&output, "rpc-probe");
        assert!(
            text(&output).contains("http://***:***@127.0.0.1:"),
            "{}",
            text(&output)
        );
    }
    // From the environment, refused, and unparsable.
    let refused = secret_url(support::closed_port());
    let output = xtask()
        .arg("rpc-probe")
        .env("BSC_RPC_URL", &refused)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_no_secret(&output, "rpc-probe (refused)");
    let silent = NeverAnswers::start();
    let port = silent
        .url()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let output = xtask()
        .args([
            "rpc-probe",
            "--timeout",
            "200ms",
            "--rpc-url",
            &secret_url(port),
        ])
        .output()
        .unwrap();
    assert_no_secret(&output, "rpc-probe (silent)");
    for bad in [
        "http://[SECRETKEY/",
        "https://h/v3/SECRETKEY",
        "ftp://SECRETUSER@h/",
    ] {
        let output = xtask()
            .args(["rpc-probe", "--rpc-url", bad])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad}");
        assert_no_secret(&output, "rpc-probe (bad URL)");
    }
    let output = xtask()
        .args(["rpc-probe", "--help"])
        .env("BSC_RPC_URL", secret_url(1))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_no_secret(&output, "rpc-probe --help");
}

#[test]
fn rpc_proxy_never_prints_secrets_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    // The upstream refuses: the proxy's 502 bodies and its own output must stay clean.
    let upstream = secret_url(support::closed_port());
    let mut child = xtask()
        .args([
            "rpc-proxy",
            "--upstream",
            &upstream,
            "--fault",
            "latency:1ms",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut url = String::new();
    stdout.read_line(&mut url).unwrap();
    let url = url.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let addr: std::net::SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let raw = support::raw_post(
        addr,
        &support::rpc_body("eth_chainId", json!([])),
        Duration::from_secs(5),
    );
    assert_eq!(raw.status, Some(502));
    let body = String::from_utf8_lossy(&raw.body).into_owned();
    for secret in SECRETS {
        assert!(!body.contains(secret), "502 body: {body}");
    }
    let started = Instant::now();
    // SIGTERM to the child this test started, by its pid.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_no_secret(&output, "rpc-proxy");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("-> http://***:***@127.0.0.1:") && stderr.contains("1 upstream errors"),
        "{stderr}"
    );

    let output = xtask()
        .args(["rpc-proxy", "--upstream", "http://[SECRETKEY/"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_no_secret(&output, "rpc-proxy (bad URL)");
}

/// Answers like a chain, but `eth_getBlockByNumber` gives a new hash on every read and
/// `eth_chainId` sometimes answers something that is not JSON.
fn shifty_endpoint(garbled_chain_id: bool) -> support::Scripted {
    let reads = std::sync::atomic::AtomicU64::new(0);
    support::Scripted::start(move |request| {
        let answer = |call: &Value| {
            let n = reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            support::chain_answer(call, 16, &format!("0x{n:064x}"))
        };
        if garbled_chain_id && request["method"] == "eth_chainId" {
            return (200, "<html>upstream error</html>".to_owned());
        }
        match request {
            Value::Array(calls) => (
                200,
                Value::Array(calls.iter().map(answer).collect()).to_string(),
            ),
            call => (200, answer(call).to_string()),
        }
    })
}

#[test]
fn changing_block_hash_is_inconsistent_block() {
    let shifty = shifty_endpoint(false);
    let (report, _) = run_probe(&ProbeSettings {
        fork_block: Some(BlockNumber(10)),
        ..settings(&shifty.url(), Duration::from_secs(1))
    });
    let check = report.check(ProbeCheck::PinnedBlock).unwrap();
    assert_eq!(check.class, Class::InconsistentBlock, "{report:#?}");
    assert!(
        check.detail.contains("hash changed between reads"),
        "{}",
        check.detail
    );
    assert_eq!(report.verdict, ProbeVerdict::Unusable);
}

#[test]
fn non_json_answer_is_malformed() {
    let shifty = shifty_endpoint(true);
    let (report, _) = run_probe(&settings(&shifty.url(), Duration::from_secs(1)));
    assert_eq!(
        class_of(&report, ProbeCheck::ChainId),
        Class::Malformed,
        "{report:#?}"
    );
    assert_eq!(class_of(&report, ProbeCheck::Reachability), Class::Ok);
}

#[test]
fn https_to_a_plain_http_endpoint_fails_the_tls_handshake_without_leaking() {
    let anvil = anvil();
    let url = secret_url(anvil.port()).replacen("http://", "https://", 1);
    let output = xtask()
        .args(["rpc-probe", "--rpc-url", &url, "--json", "--timeout", "2s"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert_no_secret(&output, "rpc-probe (https)");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["checks"][0]["class"], "unreachable", "{report}");
    let detail = report["checks"][0]["detail"].as_str().unwrap();
    assert!(detail.starts_with("TLS handshake failed"), "{detail}");
    assert!(report["endpoint"]
        .as_str()
        .unwrap()
        .starts_with("https://***:***@127.0.0.1:"));

    // The proxy in front of the same "https" upstream answers 502, scrubbed.
    let config = ProxyConfig::new(redacted(&url));
    let proxy = Proxy::start(config).unwrap();
    let raw = support::raw_post(
        proxy.addr(),
        &support::rpc_body("eth_chainId", json!([])),
        Duration::from_secs(5),
    );
    assert_eq!(raw.status, Some(502));
    let body = String::from_utf8_lossy(&raw.body).into_owned();
    assert!(SECRETS.iter().all(|s| !body.contains(s)), "{body}");
}
