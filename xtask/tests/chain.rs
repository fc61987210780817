//! The local BSC replica chain against the real anvil and forge: built twice with one seed, it
//! is the same chain; with another seed it is not.

use crate::support;

use alloy::providers::Provider as _;
use xtask::chain::{self, ChainOptions};
use xtask::project::Project;
use xtask::toolchain::Toolchain;

fn block_hash(url: &str, number: u64) -> alloy::primitives::B256 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let provider = chain::connect(url).unwrap();
        provider
            .get_block_by_number(number.into())
            .await
            .unwrap()
            .expect("block exists")
            .header
            .hash
    })
}

#[test]
fn the_same_seed_gives_the_same_chain_and_another_seed_does_not() {
    let project = Project::locate();
    let toolchain = Toolchain::ensure(&project).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let build = |seed: u64, name: &str| {
        chain::build(
            &toolchain,
            &ChainOptions {
                seed,
                days: 1,
                out_dir: dir.path().join(name),
                port: 0,
                cache: xtask::chain::cache::Mode::Off,
            },
        )
        .unwrap()
    };

    let a = build(7, "a");
    let head = a.info.head;
    let crash = a
        .info
        .landmarks
        .iter()
        .find(|m| m.label == "crash")
        .unwrap()
        .block;
    let (a_head, a_crash) = (
        block_hash(&a.info.url, head),
        block_hash(&a.info.url, crash),
    );
    assert!(
        a.info.samples.iter().any(|s| s.risk_mode == 1),
        "the crash puts the vault into ONLY_UNWIND"
    );
    assert!(a.info.samples.iter().filter(|s| s.cycled).count() > a.info.samples.len() / 2);
    drop(a);

    let b = build(7, "b");
    assert_eq!(b.info.head, head);
    assert_eq!(
        block_hash(&b.info.url, crash),
        a_crash,
        "same seed, same block {crash}"
    );
    assert_eq!(
        block_hash(&b.info.url, head),
        a_head,
        "same seed, same head"
    );
    drop(b);

    let c = build(8, "c");
    assert_ne!(
        block_hash(&c.info.url, crash.min(c.info.head)),
        a_crash,
        "another seed, another history"
    );
}

/// `cargo xtask chain --port N` with N taken: the cause is the port, said at once (not a
/// start-up timeout), exit 2, and nothing left running.
#[test]
fn a_busy_port_is_named_at_once() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let output = support::xtask()
        .args(["chain", "--days", "1", "--port", &port.to_string(), "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("port {port} is in use")),
        "{stderr}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    drop(listener);
}
