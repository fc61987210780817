//! The proxy's resilient upstream layer against real faults: a faulty proxy between it and a
//! real anvil (resets, cut bodies, 5xx, 429 with Retry-After, slow answers), a scripted
//! upstream that answers with the wrong id or the wrong block, recordings served with the
//! upstream gone, a stalled-upload attack on the proxy, and the live-fork keeper's transport.

use crate::support;

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;
use xtask::rpc::ledger::{Ledger, Unit};
use xtask::rpc::proxy::{Proxy, ProxyConfig, ProxyHandle};
use xtask::rpc::record::{Meta, Recorder, Replay, MISSING_CODE};
use xtask::rpc::retry::Policy;
use xtask::rpc::Class;

/// A proxy injecting `faults` in front of `url` (the "provider side" faults).
fn faulty(url: &str, faults: &[&str], seed: u64) -> ProxyHandle {
    let mut config = ProxyConfig::new(redacted(url)).seed(seed);
    for fault in faults {
        config = config.fault(fault.parse().unwrap());
    }
    Proxy::start(config).unwrap()
}

fn resilient(url: &str, policy: Policy) -> ProxyHandle {
    Proxy::start(ProxyConfig::new(redacted(url)).resilient(policy)).unwrap()
}

/// A fast policy for tests: the same logic, shorter waits.
fn quick() -> Policy {
    Policy {
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        attempt_timeout: Duration::from_secs(3),
        deadline: Duration::from_secs(8),
        ..Policy::seeded(1)
    }
}

fn balance_at(url: &str, block: u64) -> Result<Value, xtask::rpc::client::Failure> {
    call(
        url,
        "eth_getBalance",
        json!([
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
            format!("{block:#x}")
        ]),
    )
}

fn mine(anvil: &xtask::foundry::anvil::Anvil, blocks: u64) {
    call(&anvil.url(), "anvil_mine", json!([format!("{blocks:#x}")])).unwrap();
}

#[test]
fn resets_cut_bodies_and_5xx_upstream_are_absorbed() {
    let anvil = anvil();
    mine(&anvil, 5);
    let expected = balance_at(&anvil.url(), 3).unwrap();
    let faults = faulty(
        &anvil.url(),
        &["reset@p=0.1", "truncate@p=0.1", "http:503@p=0.1"],
        11,
    );
    let proxy = resilient(&faults.url(), quick());
    for _ in 0..100 {
        assert_eq!(balance_at(&proxy.url(), 3).unwrap(), expected);
    }
    let injected: u64 = faults.stats().faults.iter().map(|f| f.injected).sum();
    let stats = proxy.stats();
    let counters = &stats.resilience["eth_getBalance"];
    assert!(
        injected >= 10,
        "too few faults to mean anything: {injected}"
    );
    // Every failed attempt was retried, every retry was caused by a fault (two faults can
    // land on one attempt: a cut 503).
    assert_eq!(faults.stats().http_requests, 100 + counters.retries);
    assert!(counters.retries >= 10 && counters.retries <= injected);
    assert_eq!(counters.give_ups, 0);
    assert_eq!(stats.retry_budget_spent, counters.retries);

    // The same faults without the layer reach the client.
    let bare = faulty(
        &anvil.url(),
        &["reset@p=0.1", "truncate@p=0.1", "http:503@p=0.1"],
        11,
    );
    let failures = (0..100)
        .filter(|_| balance_at(&bare.url(), 3).is_err())
        .count();
    assert!(failures >= 15, "{failures} {:?}", bare.stats());
}

#[test]
fn a_429_is_honoured_for_its_retry_after() {
    let anvil = anvil();
    let faults = faulty(&anvil.url(), &["http:429,retry-after=1@first=1"], 0);
    let proxy = resilient(&faults.url(), quick());
    let started = Instant::now();
    assert_eq!(
        call(&proxy.url(), "eth_chainId", json!([])).unwrap(),
        json!("0x38")
    );
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_eq!(proxy.stats().resilience["eth_chainId"].retries, 1);
    // A Retry-After beyond the policy's maximum is a give-up, at once.
    let faults = faulty(&anvil.url(), &["http:429,retry-after=60"], 0);
    let proxy = resilient(&faults.url(), quick());
    let started = Instant::now();
    let err = call(&proxy.url(), "eth_chainId", json!([])).unwrap_err();
    assert_eq!(err.class, Class::RateLimited, "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(proxy.stats().resilience["eth_chainId"].give_ups, 1);
}

#[test]
fn a_dead_upstream_is_given_up_within_the_deadline_and_the_ledger_says_why() {
    let anvil = anvil();
    let faults = faulty(&anvil.url(), &["http:503"], 0);
    let ledger = Arc::new(Ledger::default());
    ledger.enter(Some(7), Unit::InEvm);
    let mut config = ProxyConfig::new(redacted(&faults.url())).resilient(quick());
    config.ledger = Some(Arc::clone(&ledger));
    let proxy = Proxy::start(config).unwrap();
    let err = call(&proxy.url(), "eth_blockNumber", json!([])).unwrap_err();
    assert_eq!(err.class, Class::HttpError, "{err:?}");
    let stats = proxy.stats();
    let counters = &stats.resilience["eth_blockNumber"];
    assert_eq!(
        (counters.retries, counters.give_ups),
        (7, 1),
        "8 attempts, then a give-up"
    );
    assert_eq!(faults.stats().http_requests, 8);
    let cause = ledger
        .cause(7, "gas_spike", true)
        .expect("a give-up in the ledger");
    assert_eq!(cause.class, Class::HttpError);
    assert!(
        cause.what.contains("gave up on eth_blockNumber after 8"),
        "{}",
        cause.what
    );
}

#[test]
fn a_hanging_upstream_is_given_up_at_the_request_deadline() {
    let anvil = anvil();
    let faults = faulty(&anvil.url(), &["hang:30s"], 0);
    let ledger = Arc::new(Ledger::default());
    ledger.enter(Some(9), Unit::LiveSetup);
    let policy = Policy {
        attempt_timeout: Duration::from_millis(400),
        deadline: Duration::from_millis(1_500),
        ..quick()
    };
    let mut config = ProxyConfig::new(redacted(&faults.url())).resilient(policy);
    config.ledger = Some(Arc::clone(&ledger));
    let proxy = Proxy::start(config).unwrap();
    let started = Instant::now();
    let err = call(&proxy.url(), "eth_chainId", json!([])).unwrap_err();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1_100), "{waited:?}");
    assert!(waited < Duration::from_millis(2_500), "{waited:?}");
    assert_eq!(err.class, Class::HttpError, "a 504: {err:?}");
    let counters = &proxy.stats().resilience["eth_chainId"];
    assert_eq!(counters.give_ups, 1);
    assert!(counters.retries >= 2, "{counters:?}");
    assert_eq!(
        ledger.cause(9, "keeper_x", false).unwrap().class,
        Class::Timeout
    );
}

#[test]
fn the_retry_budget_bounds_retries_over_the_whole_run() {
    let anvil = anvil();
    let faults = faulty(&anvil.url(), &["http:503"], 0);
    let policy = Policy {
        budget_floor: 3,
        budget_ratio: 0.0,
        ..quick()
    };
    let proxy = resilient(&faults.url(), policy);
    for _ in 0..4 {
        assert!(call(&proxy.url(), "eth_chainId", json!([])).is_err());
    }
    let stats = proxy.stats();
    assert_eq!(stats.retry_budget_spent, 3);
    assert_eq!(stats.resilience["eth_chainId"].retries, 3);
    assert_eq!(stats.resilience["eth_chainId"].give_ups, 4);
    assert_eq!(faults.stats().http_requests, 7);
}

#[test]
fn sends_are_never_retried() {
    let anvil = anvil();
    let faults = faulty(&anvil.url(), &["reset@first=1"], 0);
    let proxy = resilient(&faults.url(), quick());
    let raw = "0xf86480843b9aca008252089490f79bf6eb2c4f870365e785982e1f101e93b90601808193a0d49d2ef23ac45d91238fbbe53f59e6a09b028d51541cb33bc6eac7921813e6d5a01f17ddceaafe60f809d6c18d899b4693882bc7589a80da004c5db984c9042c53";
    let err = call(&proxy.url(), "eth_sendRawTransaction", json!([raw])).unwrap_err();
    assert_ne!(err.class, Class::Ok);
    assert_eq!(faults.stats().http_requests, 1, "a send went once");
    assert!(proxy.stats().resilience.is_empty());
}

#[test]
fn a_slow_answer_is_hedged() {
    let anvil = anvil();
    let faults = faulty(&anvil.url(), &["latency:3s@first=1"], 0);
    let policy = Policy {
        hedge_after: Some(Duration::from_millis(200)),
        ..quick()
    };
    let proxy = resilient(&faults.url(), policy);
    let started = Instant::now();
    assert_eq!(
        call(&proxy.url(), "eth_chainId", json!([])).unwrap(),
        json!("0x38")
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let stats = proxy.stats();
    assert_eq!(stats.resilience["eth_chainId"].hedges, 1);
    assert_eq!(stats.resilience["eth_chainId"].retries, 0);
}

/// A bad answer to a call.
type Wrong = fn(&Value) -> Value;

/// An upstream that answers the first `bad` calls with `wrong(call)`, then correctly.
fn scripted(bad: u64, wrong: Wrong) -> (Scripted, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&count);
    let hash = format!("0x{}", "ab".repeat(32));
    let server = Scripted::start(move |call| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        let answer = if n < bad {
            wrong(call)
        } else {
            chain_answer(call, 100, &hash)
        };
        // A JSON string stands for raw bytes: the answer that is not JSON at all.
        let body = match answer {
            Value::String(raw) => raw,
            other => other.to_string(),
        };
        (200, body)
    });
    (server, count)
}

#[test]
fn answers_with_the_wrong_id_or_block_are_retried_never_forwarded() {
    let cases: [(&str, Wrong); 4] = [
        (
            "wrong id",
            |call| json!({"jsonrpc": "2.0", "id": 999, "result": chain_answer(call, 100, "0x")["result"]}),
        ),
        (
            "wrong block",
            |call| json!({"jsonrpc": "2.0", "id": call["id"], "result": {"number": "0x31", "hash": format!("0x{}", "cd".repeat(32))}}),
        ),
        ("not JSON-RPC", |call| json!({"id": call["id"], "value": 1})),
        ("not JSON", |_| json!("{\"jsonrpc\": \"2.0\", \"id\"")),
    ];
    for (what, wrong) in cases {
        let (upstream, count) = scripted(2, wrong);
        let proxy = resilient(&upstream.url(), quick());
        let block = call(&proxy.url(), "eth_getBlockByNumber", json!(["0x32", false]))
            .unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(block["number"], "0x32", "{what}");
        assert_eq!(
            count.load(Ordering::SeqCst),
            3,
            "{what}: two refused, one accepted"
        );
        assert_eq!(
            proxy.stats().resilience["eth_getBlockByNumber"].retries,
            2,
            "{what}"
        );
        // Without the layer the bad answer goes straight to the client.
        let (upstream, _) = scripted(1, wrong);
        let bare = Proxy::start(ProxyConfig::new(redacted(&upstream.url()))).unwrap();
        let passed = call(&bare.url(), "eth_getBlockByNumber", json!(["0x32", false]));
        assert!(
            passed.as_ref().map_or(true, |b| b["number"] != "0x32"),
            "{what}: the unchecked proxy passed a good answer? {passed:?}"
        );
    }
}

#[test]
fn a_pinned_block_that_changes_its_hash_is_refused() {
    let (upstream, _) = scripted(0, |_| Value::Null);
    let proxy = resilient(
        &upstream.url(),
        Policy {
            max_attempts: 2,
            ..quick()
        },
    );
    proxy.pin(0x32, &format!("0x{}", "11".repeat(32)));
    let err = call(&proxy.url(), "eth_getBlockByNumber", json!(["0x32", false])).unwrap_err();
    assert_eq!(
        err.class,
        Class::HttpError,
        "given up after 2 attempts: {err:?}"
    );
    assert_eq!(proxy.stats().resilience["eth_getBlockByNumber"].give_ups, 1);
}

#[test]
fn a_recording_serves_the_same_answers_with_the_upstream_gone() {
    let anvil = anvil();
    mine(&anvil, 3);
    let ledger = Arc::new(Ledger::default());
    let recorder = Arc::new(Recorder::default());
    let mut config = ProxyConfig::new(redacted(&anvil.url())).resilient(quick());
    config.recorder = Some(Arc::clone(&recorder));
    config.ledger = Some(Arc::clone(&ledger));
    let proxy = Proxy::start(config).unwrap();
    ledger.enter(Some(2), Unit::InEvm);
    let live_balance = balance_at(&proxy.url(), 2).unwrap();
    let live_block = call(&proxy.url(), "eth_getBlockByNumber", json!(["0x2", false])).unwrap();
    drop(proxy);
    drop(anvil);
    let dir = tempfile::tempdir().unwrap();
    let meta = Meta {
        chain_id: 56,
        kind: "local-replica".into(),
        seed: 1,
        days: 1,
        fresh_vault: false,
        head: 3,
        default_blocks: vec![(2, "calm".into())],
        pinned: vec![],
    };
    let manifest = recorder.write(dir.path(), meta, json!({})).unwrap();
    assert_eq!(manifest.answers, 2);
    let text = std::fs::read_to_string(dir.path().join("manifest.json")).unwrap();
    assert!(!text.contains("127.0.0.1"), "no URL in a recording: {text}");

    let replay = Arc::new(Replay::load(dir.path()).unwrap());
    let ledger = Arc::new(Ledger::default());
    ledger.enter(Some(2), Unit::InEvm);
    let mut config = ProxyConfig::new(redacted("http://127.0.0.1:9/")).resilient(quick());
    config.replay = Some(Arc::clone(&replay));
    config.ledger = Some(Arc::clone(&ledger));
    let proxy = Proxy::start(config).unwrap();
    assert_eq!(balance_at(&proxy.url(), 2).unwrap(), live_balance);
    assert_eq!(
        call(&proxy.url(), "eth_getBlockByNumber", json!(["0x2", false])).unwrap(),
        live_block
    );
    assert!(replay.missing().is_empty());
    let err = balance_at(&proxy.url(), 1).unwrap_err();
    assert!(err.detail.contains(&MISSING_CODE.to_string()), "{err:?}");
    let missing = replay.missing_error().unwrap().to_string();
    assert!(
        missing.contains("eth_getBalance")
            && missing.contains("\"0x1\"")
            && missing.contains("block 2"),
        "{missing}"
    );
}

/// Headers sent, body never: a connection that holds a slot until the proxy drops it.
fn stalled_upload(proxy: SocketAddr) -> Option<TcpStream> {
    use std::io::Write as _;
    let socket = socket2_connect_from([127, 0, 0, 2], proxy)?;
    let mut stream = socket;
    let head = "POST / HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{";
    stream.write_all(head.as_bytes()).ok()?;
    Some(stream)
}

/// A TCP connection from a given loopback address (the attacker is another peer).
fn socket2_connect_from(from: [u8; 4], to: SocketAddr) -> Option<TcpStream> {
    use std::os::fd::FromRawFd as _;
    // std cannot bind before connecting; libc can.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        if fd < 0 {
            return None;
        }
        let stream = TcpStream::from_raw_fd(fd);
        let local = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(from),
            },
            sin_zero: [0; 8],
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        if libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), len) != 0 {
            return None;
        }
        let SocketAddr::V4(to) = to else { return None };
        let remote = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: to.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(to.ip().octets()),
            },
            sin_zero: [0; 8],
        };
        if libc::connect(fd, (&remote as *const libc::sockaddr_in).cast(), len) != 0 {
            return None;
        }
        Some(stream)
    }
}

#[test]
fn stalled_uploads_from_one_peer_do_not_shut_out_the_others() {
    let anvil = anvil();
    let proxy = Proxy::start(ProxyConfig::new(redacted(&anvil.url()))).unwrap();
    let attack: Vec<TcpStream> = (0..256)
        .filter_map(|_| stalled_upload(proxy.addr()))
        .collect();
    assert!(
        attack.len() >= 200,
        "only {} stalled connections",
        attack.len()
    );
    std::thread::sleep(Duration::from_millis(300));
    // During the attack every other client is served within a second.
    for _ in 0..10 {
        let started = Instant::now();
        let answer = raw_post(
            proxy.addr(),
            &rpc_body("eth_chainId", json!([])),
            Duration::from_secs(5),
        );
        assert_eq!(answer.status, Some(200), "{answer:?}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
    drop(attack);
}

#[test]
fn a_stalled_body_is_cut_off_at_the_body_deadline() {
    use std::io::Read as _;
    let anvil = anvil();
    let config = ProxyConfig {
        limits: xtask::rpc::proxy::Limits {
            body_timeout: Duration::from_millis(300),
            ..Default::default()
        },
        ..ProxyConfig::new(redacted(&anvil.url()))
    };
    let proxy = Proxy::start(config).unwrap();
    let mut stream = stalled_upload(proxy.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 256];
    // The proxy closes the connection: read returns 0 (or an error), long before 5 s.
    let _ = stream.read(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn zero_and_contradictory_values_exit_2() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["rpc-probe", "--timeout", "0s"],
            "must be longer than zero",
        ),
        (
            &[
                "rpc-proxy",
                "--upstream",
                "http://127.0.0.1:1/",
                "--upstream-timeout",
                "0s",
            ],
            "must be longer than zero",
        ),
        (
            &[
                "rpc-proxy",
                "--upstream",
                "http://127.0.0.1:1/",
                "--max-connections",
                "0",
            ],
            "--max-connections",
        ),
        (
            &[
                "rpc-proxy",
                "--upstream",
                "http://127.0.0.1:1/",
                "--fault",
                "reset@p=0.5@p=0.1",
            ],
            "repeats p=",
        ),
        (
            &[
                "rpc-proxy",
                "--upstream",
                "http://127.0.0.1:1/",
                "--fault",
                "reset@first=2@every=5",
            ],
            "never fires",
        ),
        (
            &[
                "rpc-proxy",
                "--upstream",
                "http://127.0.0.1:1/",
                "--max-connections",
                "4",
                "--max-connections-per-peer",
                "8",
            ],
            "more than --max-connections 4",
        ),
    ];
    for (args, needle) in cases {
        let output = support::xtask().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

/// The live-fork keeper's transport against a real anvil behind a faulty proxy: reads are
/// retried, and a send or a mined block whose answer is lost is not repeated (the node took
/// it), so faults never make a second transaction or a second block.
mod keeper_transport {
    use std::sync::Arc;
    use std::time::Duration;

    use super::support::*;
    use alloy::network::TransactionBuilder as _;
    use alloy::primitives::{address, U256};
    use alloy::providers::ext::AnvilApi as _;
    use alloy::providers::Provider as _;
    use alloy::rpc::types::TransactionRequest;
    use xtask::rpc::keeper::{self, KeeperCounters};
    use xtask::rpc::ledger::{Ledger, Unit};
    use xtask::rpc::proxy::{Proxy, ProxyConfig, ProxyHandle};
    use xtask::rpc::retry::Policy;
    use xtask::rpc::Class;

    const FROM: alloy::primitives::Address = address!("3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
    const TO: alloy::primitives::Address = address!("90F79bf6EB2c4f870365E785982E1f101E93b906");

    fn faulty(url: &str, faults: &[&str]) -> ProxyHandle {
        let mut config = ProxyConfig::new(redacted(url)).seed(5);
        for fault in faults {
            config = config.fault(fault.parse().unwrap());
        }
        Proxy::start(config).unwrap()
    }

    fn quick() -> Policy {
        Policy {
            base_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(50),
            attempt_timeout: Duration::from_secs(3),
            deadline: Duration::from_secs(10),
            ..Policy::seeded(3)
        }
    }

    fn transfer() -> TransactionRequest {
        TransactionRequest::default()
            .with_from(FROM)
            .with_to(TO)
            .with_value(U256::from(1u64))
            .with_gas_limit(21_000)
            .with_gas_price(1_000_000_000)
    }

    #[test]
    fn cut_answers_to_sends_and_mining_do_not_repeat_them() {
        let anvil = anvil();
        // Every answer to a send and to evm_mine is cut after the node acted on it.
        let proxy = faulty(
            &anvil.url(),
            &["truncate@method=eth_sendRawTransactionSync|eth_sendRawTransaction|eth_sendTransactionSync|eth_sendTransaction|evm_mine@first=3"],
        );
        let counters = Arc::new(KeeperCounters::default());
        let provider = keeper::connect(&proxy.url(), quick(), None, Arc::clone(&counters)).unwrap();
        let direct = xtask::chain::connect(&anvil.url()).unwrap();
        runtime().block_on(async {
            let head = direct.get_block_number().await.unwrap();
            let receipt = provider
                .eth_send_transaction_sync(transfer())
                .await
                .unwrap();
            assert!(receipt.status());
            let hash = provider
                .send_transaction(transfer())
                .await
                .unwrap()
                .tx_hash()
                .to_owned();
            provider.evm_mine(None).await.unwrap();
            assert_eq!(
                direct.get_transaction_count(FROM).await.unwrap(),
                2,
                "two sends, two transactions"
            );
            assert!(direct
                .get_transaction_receipt(hash)
                .await
                .unwrap()
                .is_some());
            // Two automined transactions and one mined block.
            assert_eq!(direct.get_block_number().await.unwrap(), head + 3);
        });
        assert_eq!(proxy.stats().faults[0].injected, 3, "every cut happened");
    }

    #[test]
    fn a_send_lost_before_the_node_saw_it_is_sent_again_once() {
        let anvil = anvil();
        // Reset before forwarding: the node never saw the first copy.
        let proxy = faulty(
            &anvil.url(),
            &["reset@method=eth_sendRawTransactionSync|eth_sendRawTransaction@first=2"],
        );
        let provider = keeper::connect(&proxy.url(), quick(), None, Arc::default()).unwrap();
        let direct = xtask::chain::connect(&anvil.url()).unwrap();
        runtime().block_on(async {
            let receipt = provider
                .eth_send_transaction_sync(transfer())
                .await
                .unwrap();
            assert!(receipt.status());
            let _pending = provider.send_transaction(transfer()).await.unwrap();
            assert_eq!(direct.get_transaction_count(FROM).await.unwrap(), 2);
        });
        assert_eq!(proxy.stats().faults[0].injected, 2);
    }

    #[test]
    fn reads_are_retried_and_give_ups_go_to_the_ledger() {
        let anvil = anvil();
        let proxy = faulty(
            &anvil.url(),
            &[
                "reset@method=eth_chainId@p=0.5",
                "http:503@method=eth_blockNumber",
            ],
        );
        let counters = Arc::new(KeeperCounters::default());
        let ledger = Arc::new(Ledger::default());
        ledger.enter(Some(3), Unit::Live("keeper_x".into()));
        let provider = keeper::connect(
            &proxy.url(),
            quick(),
            Some(Arc::clone(&ledger)),
            Arc::clone(&counters),
        )
        .unwrap();
        runtime().block_on(async {
            for _ in 0..20 {
                assert_eq!(provider.get_chain_id().await.unwrap(), 56);
            }
            assert!(provider.get_block_number().await.is_err());
        });
        let counts = counters.snapshot();
        assert!(counts["eth_chainId"].retries >= 5, "{counts:?}");
        assert_eq!(counts["eth_chainId"].give_ups, 0);
        assert_eq!(counts["eth_blockNumber"].give_ups, 1);
        let cause = ledger.cause(3, "keeper_x", false).unwrap();
        assert_eq!(cause.class, Class::HttpError);
    }

    #[test]
    fn a_dropped_transaction_stays_dropped_when_the_answer_is_lost() {
        let anvil = anvil();
        let direct = xtask::chain::connect(&anvil.url()).unwrap();
        let proxy = faulty(
            &anvil.url(),
            &["truncate@method=anvil_dropTransaction@first=1"],
        );
        let provider = keeper::connect(&proxy.url(), quick(), None, Arc::default()).unwrap();
        runtime().block_on(async {
            direct.anvil_set_auto_mine(false).await.unwrap();
            let hash = provider
                .send_transaction(transfer())
                .await
                .unwrap()
                .tx_hash()
                .to_owned();
            let dropped = provider.anvil_drop_transaction(hash).await.unwrap();
            assert_eq!(
                dropped,
                Some(hash),
                "the lost answer is rebuilt from the node's state"
            );
            assert!(direct
                .get_transaction_by_hash(hash)
                .await
                .unwrap()
                .is_none());
        });
    }
}
