//! The proxy at the wire level: a real anvil upstream, a raw HTTP client, each fault.

use crate::support;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{anvil, anvil_with, call, raw_exchange, raw_get, raw_post, redacted, rpc_body, End};
use xtask::foundry::anvil::Anvil;
use xtask::rpc::proxy::{Limits, Proxy, ProxyConfig, ProxyHandle, ProxyStats};

fn proxy(upstream: &Anvil, faults: &[&str]) -> ProxyHandle {
    proxy_seeded(upstream, faults, 7)
}

fn proxy_seeded(upstream: &Anvil, faults: &[&str], seed: u64) -> ProxyHandle {
    let mut config = ProxyConfig::new(redacted(&upstream.url())).seed(seed);
    for fault in faults {
        config = config.fault(fault.parse().expect("valid spec"));
    }
    Proxy::start(config).expect("proxy starts")
}

fn block_number(url: &str) -> u64 {
    let value = call(url, "eth_blockNumber", json!([])).expect("eth_blockNumber");
    xtask::rpc::parse_quantity(value.as_str().expect("string")).expect("quantity")
}

fn mine(anvil: &Anvil, blocks: u64) {
    call(&anvil.url(), "anvil_mine", json!([format!("{blocks:#x}")])).expect("anvil_mine");
}

#[test]
fn pass_through_serves_singles_batches_and_keep_alive() {
    let anvil = anvil();
    let proxy = proxy(&anvil, &[]);
    let mut stream = TcpStream::connect(proxy.addr()).unwrap();
    // Two requests on one connection: keep-alive works.
    for _ in 0..2 {
        let raw = raw_exchange(
            &mut stream,
            "/",
            &rpc_body("eth_chainId", json!([])),
            Duration::from_secs(5),
        );
        assert_eq!(raw.status, Some(200));
        assert_eq!(raw.end, End::Complete);
        assert_eq!(raw.json().unwrap()["result"], "0x38");
    }
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "net_version", "params": []},
    ]);
    let raw = raw_exchange(&mut stream, "/", &batch.to_string(), Duration::from_secs(5));
    let answers = raw.json().unwrap();
    assert_eq!(answers.as_array().map(Vec::len), Some(2), "{answers}");
    let stats = proxy.stats();
    assert_eq!((stats.http_requests, stats.batches, stats.calls), (3, 1, 4));
}

#[test]
fn truncate_cuts_the_body_below_its_declared_length() {
    let anvil = anvil();
    let proxy = proxy(&anvil, &["truncate:0.5"]);
    let raw = raw_post(
        proxy.addr(),
        &rpc_body("eth_getBlockByNumber", json!(["0x0", false])),
        Duration::from_secs(5),
    );
    assert_eq!(raw.status, Some(200));
    let declared = raw.content_length().expect("Content-Length");
    assert!(
        raw.body.len() < declared,
        "{} of {declared} bytes",
        raw.body.len()
    );
    assert!(!raw.body.is_empty());
    assert!(matches!(raw.end, End::Closed | End::Reset), "{:?}", raw.end);
    assert!(raw.json().is_err(), "a cut body must not parse");
    // The first half of the real answer, byte for byte.
    let upstream: std::net::SocketAddr = format!("127.0.0.1:{}", anvil.port()).parse().unwrap();
    let whole = raw_post(
        upstream,
        &rpc_body("eth_getBlockByNumber", json!(["0x0", false])),
        Duration::from_secs(5),
    );
    assert_eq!(whole.body.len(), declared);
    assert_eq!(raw.body, whole.body[..declared / 2]);
}

#[test]
fn hang_holds_the_connection_until_the_client_gives_up() {
    let anvil = anvil();
    let proxy = proxy(&anvil, &["hang@method=eth_call"]);
    let deadline = Duration::from_millis(800);
    let raw = raw_post(
        proxy.addr(),
        &rpc_body("eth_call", json!([{}, "latest"])),
        deadline,
    );
    assert_eq!(raw.end, End::Deadline, "{raw:?}");
    assert!(raw.status.is_none() && raw.body.is_empty(), "{raw:?}");
    assert!(raw.elapsed >= deadline, "{:?}", raw.elapsed);
    // Other methods still pass.
    assert_eq!(block_number(&proxy.url()), 0);
}

#[test]
fn hang_ends_at_its_maximum_and_when_the_proxy_stops() {
    let anvil = anvil();
    let proxy = proxy(&anvil, &["hang:300ms"]);
    let raw = raw_post(
        proxy.addr(),
        &rpc_body("eth_chainId", json!([])),
        Duration::from_secs(5),
    );
    assert_eq!(raw.end, End::Closed);
    assert!(raw.elapsed >= Duration::from_millis(300) && raw.elapsed < Duration::from_secs(3));

    let proxy_forever = {
        let config = ProxyConfig::new(redacted(&anvil.url())).fault("hang".parse().unwrap());
        Proxy::start(config).unwrap()
    };
    let addr = proxy_forever.addr();
    let client = std::thread::spawn(move || {
        raw_post(
            addr,
            &rpc_body("eth_chainId", json!([])),
            Duration::from_secs(10),
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    let stopped = Instant::now();
    drop(proxy_forever);
    let raw = client.join().unwrap();
    assert!(matches!(raw.end, End::Closed | End::Reset), "{raw:?}");
    assert!(
        stopped.elapsed() < Duration::from_secs(2),
        "{:?}",
        stopped.elapsed()
    );
    assert!(TcpStream::connect(addr).is_err(), "the listener is gone");
    drop(proxy);
}

#[test]
fn reset_sends_a_tcp_reset() {
    let anvil = anvil();
    let proxy = proxy(&anvil, &["reset@method=eth_getStorageAt"]);
    let raw = raw_post(
        proxy.addr(),
        &rpc_body(
            "eth_getStorageAt",
            json!([
                "0x0000000000000000000000000000000000000000",
                "0x0",
                "latest"
            ]),
        ),
        Duration::from_secs(5),
    );
    assert_eq!(raw.end, End::Reset, "{raw:?}");
    assert!(raw.status.is_none() && raw.body.is_empty());
    assert_eq!(proxy.stats().faults[0].injected, 1);
}

#[test]
fn http_429_carries_retry_after_and_first_n_counts() {
    let anvil = anvil();
    let proxy = proxy(
        &anvil,
        &[
            "http:429,retry-after=2@first=2",
            "http:503@method=eth_getCode",
        ],
    );
    let body = rpc_body("eth_chainId", json!([]));
    for _ in 0..2 {
        let raw = raw_post(proxy.addr(), &body, Duration::from_secs(5));
        assert_eq!(raw.status, Some(429));
        assert_eq!(raw.header("retry-after"), Some("2"));
    }
    let raw = raw_post(proxy.addr(), &body, Duration::from_secs(5));
    assert_eq!(raw.status, Some(200), "the third request passes");
    let raw = raw_post(
        proxy.addr(),
        &rpc_body(
            "eth_getCode",
            json!(["0x0000000000000000000000000000000000000000", "latest"]),
        ),
        Duration::from_secs(5),
    );
    assert_eq!(raw.status, Some(503));
    assert_eq!(raw.header("retry-after"), None);
}

#[test]
fn rpc_error_every_kth_call_inside_a_batch() {
    let anvil = anvil();
    let proxy = proxy(&anvil, &["rpc-error:-32005@every=2"]);
    let batch: Vec<Value> = (1..=4)
        .map(|id| json!({"jsonrpc": "2.0", "id": id, "method": "eth_chainId", "params": []}))
        .collect();
    let raw = raw_post(
        proxy.addr(),
        &Value::Array(batch).to_string(),
        Duration::from_secs(5),
    );
    let answers = raw.json().unwrap();
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), 4);
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer["id"], json!(i + 1), "order and ids kept");
        if (i + 1) % 2 == 0 {
            assert_eq!(answer["error"]["code"], -32005, "{answer}");
        } else {
            assert_eq!(answer["result"], "0x38", "{answer}");
        }
    }
}

#[test]
fn stale_head_freezes_the_number_and_rewrites_latest() {
    let anvil = anvil();
    mine(&anvil, 20);
    let proxy = proxy(&anvil, &["stale-head:5"]);
    assert_eq!(block_number(&proxy.url()), 15);
    mine(&anvil, 3);
    assert_eq!(block_number(&anvil.url()), 23);
    assert_eq!(
        block_number(&proxy.url()),
        15,
        "frozen, not following the head"
    );
    let latest = call(
        &proxy.url(),
        "eth_getBlockByNumber",
        json!(["latest", false]),
    )
    .unwrap();
    assert_eq!(
        latest["number"], "0xf",
        "latest rewritten to the frozen head"
    );
    let direct = call(&anvil.url(), "eth_getBlockByNumber", json!(["0xf", false])).unwrap();
    assert_eq!(latest["hash"], direct["hash"]);
    // Explicit numbers are left alone.
    let block = call(&proxy.url(), "eth_getBlockByNumber", json!(["0x16", false])).unwrap();
    assert_eq!(block["number"], "0x16");
}

#[test]
fn regress_head_walks_backwards() {
    let anvil = anvil();
    mine(&anvil, 10);
    let proxy = proxy(&anvil, &["regress-head:3"]);
    let heads: Vec<u64> = (0..6).map(|_| block_number(&proxy.url())).collect();
    assert_eq!(heads, [10, 9, 8, 7, 7, 7]);
}

#[test]
fn wrong_chain_answers_chain_id_and_net_version() {
    let anvil = anvil();
    let proxy = proxy(&anvil, &["wrong-chain:97"]);
    assert_eq!(
        call(&proxy.url(), "eth_chainId", json!([])).unwrap(),
        "0x61"
    );
    assert_eq!(call(&proxy.url(), "net_version", json!([])).unwrap(), "97");
    assert_eq!(
        call(&anvil.url(), "eth_chainId", json!([])).unwrap(),
        "0x38"
    );
}

#[test]
fn latency_with_jitter_stays_within_its_bounds() {
    let anvil = anvil();
    let proxy = proxy(&anvil, &["latency:300ms~100ms@method=eth_chainId"]);
    for _ in 0..3 {
        let started = Instant::now();
        call(&proxy.url(), "eth_chainId", json!([])).unwrap();
        let took = started.elapsed();
        // 200..=400 ms injected; the upper bound leaves room for a loaded machine.
        assert!(
            took >= Duration::from_millis(200) && took < Duration::from_millis(1500),
            "{took:?}"
        );
    }
    call(&proxy.url(), "eth_blockNumber", json!([])).unwrap();
    let fault = &proxy.stats().faults[0];
    assert_eq!(
        (fault.candidates, fault.injected),
        (3, 3),
        "other methods are not delayed"
    );
}

#[test]
fn probability_is_deterministic_for_a_seed() {
    let anvil = anvil();
    let pattern = |seed| {
        let proxy = proxy_seeded(&anvil, &["rpc-error:-32000@p=0.5"], seed);
        (0..24)
            .map(|_| call(&proxy.url(), "eth_chainId", json!([])).is_err())
            .collect::<Vec<bool>>()
    };
    let first = pattern(42);
    assert_eq!(first, pattern(42));
    assert_ne!(first, pattern(43));
    let hits = first.iter().filter(|h| **h).count();
    assert!((4..=20).contains(&hits), "{hits} of 24");
}

#[test]
fn counts_methods_and_distinct_state_keys() {
    let anvil = anvil();
    let proxy = proxy(&anvil, &[]);
    let zero = "0x0000000000000000000000000000000000000000";
    for _ in 0..3 {
        call(&proxy.url(), "eth_getBalance", json!([zero, "latest"])).unwrap();
    }
    call(&proxy.url(), "eth_getBalance", json!([zero, "0x0"])).unwrap();
    call(
        &proxy.url(),
        "eth_getStorageAt",
        json!([zero, "0x0", "latest"]),
    )
    .unwrap();
    call(
        &proxy.url(),
        "eth_getStorageAt",
        json!([zero, "0x1", "latest"]),
    )
    .unwrap();
    call(&proxy.url(), "eth_chainId", json!([])).unwrap();
    let raw = raw_get(proxy.addr(), "/__proxy/stats");
    assert_eq!(raw.status, Some(200));
    let served: ProxyStats = serde_json::from_slice(&raw.body).unwrap();
    assert_eq!(served, proxy.stats());
    assert_eq!(served.methods["eth_getBalance"], 4);
    assert_eq!(served.methods["eth_getStorageAt"], 2);
    assert_eq!(served.methods["eth_chainId"], 1);
    assert_eq!(served.distinct_state_keys, 4);
    assert_eq!(served.distinct_state_keys_by_method["eth_getBalance"], 2);
    assert_eq!(served.calls, 7);
}

#[test]
fn bodies_over_the_limit_are_refused() {
    let anvil = anvil();
    let config = ProxyConfig {
        limits: Limits {
            max_body_bytes: 1024,
            ..Limits::default()
        },
        ..ProxyConfig::new(redacted(&anvil.url()))
    };
    let proxy = Proxy::start(config).unwrap();
    let big = rpc_body(
        "eth_call",
        json!([{"data": format!("0x{}", "00".repeat(2048))}, "latest"]),
    );
    let raw = raw_post(proxy.addr(), &big, Duration::from_secs(5));
    assert_eq!(raw.status, Some(413));
    // The answer of a block with its full transactions is small here; an upstream answer
    // over the limit is a 502.
    let small_upstream_limit = ProxyConfig {
        limits: Limits {
            max_body_bytes: 100,
            ..Limits::default()
        },
        ..ProxyConfig::new(redacted(&anvil.url()))
    };
    let proxy = Proxy::start(small_upstream_limit).unwrap();
    let raw = raw_post(
        proxy.addr(),
        &rpc_body("eth_getBlockByNumber", json!(["0x0", false])),
        Duration::from_secs(5),
    );
    assert_eq!(raw.status, Some(502));
    assert!(String::from_utf8_lossy(&raw.body).contains("larger than"));
}

#[test]
fn upstream_failures_become_502_and_504() {
    let dead = support::closed_port();
    let proxy = Proxy::start(ProxyConfig::new(redacted(&format!(
        "http://127.0.0.1:{dead}/"
    ))))
    .unwrap();
    let raw = raw_post(
        proxy.addr(),
        &rpc_body("eth_chainId", json!([])),
        Duration::from_secs(5),
    );
    assert_eq!(raw.status, Some(502));

    let silent = support::NeverAnswers::start();
    let config = ProxyConfig {
        limits: Limits {
            upstream_timeout: Duration::from_millis(300),
            ..Limits::default()
        },
        ..ProxyConfig::new(redacted(&silent.url()))
    };
    let proxy = Proxy::start(config).unwrap();
    let raw = raw_post(
        proxy.addr(),
        &rpc_body("eth_chainId", json!([])),
        Duration::from_secs(5),
    );
    assert_eq!(raw.status, Some(504));
    assert!(raw.elapsed < Duration::from_secs(2), "{:?}", raw.elapsed);
    assert_eq!(proxy.stats().upstream_errors, 1);
}

#[test]
fn anvil_guard_kills_anvil_on_drop() {
    let anvil = anvil_with(Anvil::builder());
    let url = anvil.url();
    assert_eq!(block_number(&url), 0);
    let pid = anvil.pid();
    drop(anvil);
    assert!(call(&url, "eth_blockNumber", json!([])).is_err());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "anvil {pid} reaped"
    );
}

#[test]
fn a_client_giving_up_on_a_hang_frees_its_connection_slot() {
    let anvil = anvil();
    let config = ProxyConfig {
        limits: Limits {
            max_connections: 1,
            ..Limits::default()
        },
        ..ProxyConfig::new(redacted(&anvil.url())).fault("hang@method=eth_call".parse().unwrap())
    };
    let proxy = Proxy::start(config).unwrap();
    let raw = raw_post(
        proxy.addr(),
        &rpc_body("eth_call", json!([{}, "latest"])),
        Duration::from_millis(300),
    );
    assert_eq!(raw.end, End::Deadline);
    // raw_post dropped its socket: the only slot must come back for the next client.
    let started = Instant::now();
    let raw = raw_post(
        proxy.addr(),
        &rpc_body("eth_chainId", json!([])),
        Duration::from_secs(5),
    );
    assert_eq!(raw.status, Some(200), "{raw:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

const FUNDED: &str = "0x00000000000000000000000000000000c0ffee00";

/// An upstream with 13 blocks where FUNDED holds 0x1234 wei at block 13.
fn funded_upstream() -> Anvil {
    let upstream = anvil();
    mine(&upstream, 12);
    call(
        &upstream.url(),
        "anvil_setBalance",
        json!([FUNDED, "0x1234"]),
    )
    .unwrap();
    mine(&upstream, 1);
    upstream
}

fn fork_through(proxy: &ProxyHandle, block: u64) -> Anvil {
    anvil_with(
        Anvil::builder()
            .arg("--fork-url")
            .arg(proxy.url())
            .arg("--fork-block-number")
            .arg(block.to_string())
            .arg("--no-storage-caching")
            .arg("--fork-retry-backoff")
            .arg("10"),
    )
}

#[test]
fn a_forking_anvil_reads_its_state_through_the_proxy() {
    let upstream = funded_upstream();
    let proxy = proxy(&upstream, &["latency:2ms~1ms"]);
    let fork = fork_through(&proxy, 13);
    let balance = call(&fork.url(), "eth_getBalance", json!([FUNDED, "latest"])).unwrap();
    assert_eq!(balance, "0x1234");
    let direct = call(&upstream.url(), "eth_getBalance", json!([FUNDED, "0xd"])).unwrap();
    assert_eq!(balance, direct);
    let stats = proxy.stats();
    assert!(stats.calls >= 2, "{stats:#?}");
    assert!(stats.distinct_state_keys >= 1, "{stats:#?}");
    assert_eq!(stats.upstream_errors, 0);
    eprintln!(
        "fork through the proxy: {}",
        xtask::rpc::serve::summary(&stats)
    );
    eprintln!("methods: {:?}", stats.methods);
}

#[test]
fn a_forking_anvil_retries_through_rate_limits() {
    let upstream = funded_upstream();
    let proxy = proxy(&upstream, &["http:429,retry-after=0@first=2"]);
    let fork = fork_through(&proxy, 13);
    let balance = call(&fork.url(), "eth_getBalance", json!([FUNDED, "latest"])).unwrap();
    assert_eq!(
        balance, "0x1234",
        "a rate-limited read must not come back different"
    );
    let stats = proxy.stats();
    assert_eq!(stats.faults[0].injected, 2, "{stats:#?}");
    eprintln!("fork through 429s: {}", xtask::rpc::serve::summary(&stats));
}
