//! Conformance of the two engines' steady state (docs/steady-state.md): the Solidity library
//! `script/chaos/SteadyState.sol` (in-EVM engine) and its Rust twin `xtask/src/chaos/steady/`
//! (live-fork engine) must report a check present in both with the same name, relation, bound
//! and verdict.
//!
//! 1. Same state: the live-fork experiments run on a fork of the local chain with the
//!    conformance witness on; at every judged cycle, deposit and S5 comparison, the library
//!    measures and judges the same blocks through `test/conformance/SteadyStateHarness.sol`
//!    (an `eth_call` state override, nothing mined), and every check, every tape point and the
//!    shadow's headline numbers must be identical to the Rust module's. Then the Rust module's
//!    `OP_ROUNDING_WEI` is moved by one wei (a test hook) and one experiment runs again: the
//!    comparison must report the bounds that moved, so a test that cannot see a changed bound
//!    fails here.
//! 2. Same names: a real `cargo xtask chaos` runs the in-EVM `gas_spike` and `call_delay` next to
//!    the live-fork `keeper_gas_spike` and `keeper_time_jump` at one block; for each case the two
//!    share (`_1gwei`, `_50gwei`, `_1000gwei`, `_7d`), the common cycle checks carry identical
//!    names in both, every check name both report has the same relation, and all four held.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};

use xtask::chain::vault::VaultReader;
use xtask::chain::{self, ChainOptions};
use xtask::chaos::engine::live::{witness::Witness, Fork};
use xtask::foundry::anvil::Anvil;
use xtask::project::Project;
use xtask::report::Verdict;
use xtask::toolchain::Toolchain;

/// The checks every successful cycle is held to in both engines (docs/steady-state.md,
/// "Common cycle checks").
const COMMON: [&str; 14] = [
    "cycle_succeeded",
    "S1_nav_loss_beyond_bounty_wei",
    "S2_bounty_paid_vs_reported_wei",
    "S2_bounty_vs_nav_cap_wei",
    "S2_bounty_vs_gas_cap_wei",
    "S3_flash_active",
    "S3_flash_borrowed_wei",
    "S3_flash_allowance_wei",
    "S3_flash_pair_k",
    "S6_share_price_drop_wei",
    "S6_share_price_rise_wei",
    "S6_total_supply",
    "S9_nav_vs_shadow_wei_before_cycle",
    "S9_nav_vs_shadow_wei",
];

/// What `call_delay` and `keeper_time_jump` both check after a week without cycles.
const AFTER_A_WEEK: [&str; 7] = [
    "S4_risk_mode",
    "S4_deposit_succeeded",
    "S4_deposit_reverted_DepositsPaused",
    "S4_max_deposit",
    "S7_max_withdraw_vs_liquid_share_wei",
    "S7_max_withdraw_wei",
    "S7_withdrawn_wei",
];

fn contracts_built(toolchain: &Toolchain) {
    let output = toolchain
        .command(xtask::toolchain::Tool::Forge)
        .arg("build")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn both_engines_judge_the_same_cycles_alike() {
    let project = Project::locate();
    let toolchain = Toolchain::ensure(&project).unwrap();
    contracts_built(&toolchain);
    let out = tempfile::tempdir().unwrap();
    let local = chain::build(
        &toolchain,
        &ChainOptions {
            seed: 42,
            days: 1,
            out_dir: out.path().to_path_buf(),
            port: 0,
            // The live engine reads the history at blocks a cached chain does not keep.
            cache: xtask::chain::cache::Mode::Off,
        },
    )
    .unwrap();
    let storm = local
        .info
        .landmarks
        .iter()
        .find(|l| l.label == "storm")
        .expect("a storm landmark")
        .block;
    let anvil = Anvil::builder()
        .arg("--fork-url")
        .arg(local.anvil.url())
        .arg("--fork-block-number")
        .arg(storm.to_string())
        .arg("--no-storage-caching")
        .spawn(&toolchain)
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let provider = chain::connect(&anvil.url()).unwrap();
    let vault = VaultReader::new(&project, local.book.vault, provider).unwrap();
    let mut fork = runtime
        .block_on(Fork::new(vault, local.book.clone(), false))
        .unwrap();
    fork.enable_witness(Witness::new(&project.forge_out()).unwrap());
    let mut verdicts = BTreeMap::new();
    for (id, _) in xtask::chaos::engine::live::EXPERIMENTS {
        let experiment = runtime.block_on(fork.run(id));
        verdicts.insert(id, (experiment.verdict, experiment.error.clone()));
    }
    let records = fork.witness().unwrap().records();
    let kinds: BTreeSet<&str> = records.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["cycle", "deposit", "unchanged"]),
        "the witness saw every kind of moment"
    );
    let cycles = records.iter().filter(|r| r.kind == "cycle").count();
    assert!(cycles >= 9, "only {cycles} cycles witnessed");
    let mut compared = 0;
    let mut differences = Vec::new();
    for r in &records {
        compared += r.rust.len();
        assert!(!r.rust.is_empty() && !r.solidity.is_empty());
        differences.extend(r.differences());
    }
    assert!(
        differences.is_empty(),
        "the engines disagree ({} of {compared} checks compared):\n{}",
        differences.len(),
        differences.join("\n")
    );
    // Both evaluated real work: a bounty was paid and the shadow NAV moved in some cycle.
    let paid = records
        .iter()
        .flat_map(|r| &r.rust)
        .filter(|c| c.name.starts_with("S2_bounty_paid_vs_reported_wei") && !c.bound().is_zero())
        .count();
    assert!(paid >= 5, "only {paid} witnessed cycles paid a bounty");
    for (id, (verdict, error)) in verdicts {
        assert_eq!(verdict, Verdict::Held, "{id}: {error:?}");
    }
    eprintln!(
        "conformance: {compared} checks of {} moments identical in both engines",
        records.len()
    );

    // One engine's bound changed: the live-fork engine's OP_ROUNDING_WEI one wei above the
    // library's. The same experiment run again must now be reported as a disagreement, on
    // bounds and the shadow's tolerance only (the observations and verdicts are unchanged);
    // then the bound is restored for what follows, which compares clean again.
    let seen = records.len();
    xtask::chaos::steady::skew_op_rounding_for_conformance_test(1);
    let skewed = runtime.block_on(fork.run("keeper_dropped_tx"));
    xtask::chaos::steady::skew_op_rounding_for_conformance_test(0);
    assert_eq!(skewed.verdict, Verdict::Held, "{:?}", skewed.error);
    let differences: Vec<String> = fork.witness().unwrap().records()[seen..]
        .iter()
        .flat_map(|r| r.differences())
        .collect();
    for check in ["S9_nav_vs_shadow_wei_before_cycle", "S9_nav_vs_shadow_wei"] {
        assert!(
            differences
                .iter()
                .any(|d| d.contains(&format!("`{check}` bound differs"))),
            "a 1-wei change of one engine's bound went unseen in {check}:\n{}",
            differences.join("\n")
        );
    }
    assert!(
        differences
            .iter()
            .all(|d| d.contains("bound differs") || d.contains("tolerance of snapshot")),
        "{}",
        differences.join("\n")
    );
    eprintln!(
        "conformance with OP_ROUNDING_WEI + 1 wei in the live-fork engine: {} differences, e.g. {}",
        differences.len(),
        differences[0]
    );

    // Aster's closeTrade now reverts (a fault proxy in front of the replica, as the in-EVM
    // close_trade_blocked does): after a week the unwind must close the short, so every cycle
    // reverts with HedgeCloseFailed. That is a disproved hypothesis with its reason, S5 holds,
    // and it is never an experiment error; both engines still agree on every check.
    runtime
        .block_on(block_close_trade(&project, &fork))
        .unwrap();
    let seen = fork.witness().unwrap().records().len();
    let experiment = runtime.block_on(fork.run("keeper_time_jump"));
    assert!(experiment.error.is_none(), "{:?}", experiment.error);
    // On the local chain (seed 42, one day) the vault holds no short at the pinned blocks: its
    // rebalance buys BTCB in one swap (~273k USDT into a pool with 9M), whose price impact is
    // beyond the TWAP-bounded minimum, so every rebalance until the storm phase is refused
    // (SwapRefused) and the vault stays in ALP and USDT; the day's only hedge trades are sent
    // at blocks 785 and 826, after the storm and crash landmarks, and the one short Aster opens
    // is closed by the chain's own unwind at block 833. A week's unwind from the storm landmark has nothing to close, so no cycle
    // calls closeTrade. That is only right while the
    // vault holds no position at the block: one held and not closed is a failure here. When a
    // cycle does revert, it must be a disproved hypothesis with its reason and S5 around it;
    // either way both engines must agree.
    let closed_nothing = experiment
        .checks
        .iter()
        .filter(|c| c.name.starts_with("cycle_succeeded_"))
        .all(|c| c.passed());
    if closed_nothing {
        let (positions, lp) = runtime.block_on(holdings_at(&fork, storm)).unwrap();
        assert_eq!(
            positions, 0,
            "no keeper_time_jump cycle called closeTrade although the vault held {positions} Aster position(s) (and {lp} LP tokens) at block {storm}"
        );
        eprintln!(
            "conformance: the vault held no Aster position at block {storm} ({lp} LP tokens), so no keeper_time_jump cycle had a short to close; the revert path was not exercised"
        );
    } else {
        assert_eq!(experiment.verdict, Verdict::Disproved);
        let failed: Vec<&str> = experiment
            .checks
            .iter()
            .filter(|c| !c.passed())
            .map(|c| c.name.as_str())
            .collect();
        for name in ["cycle_succeeded_7d", "cycle_reverted_HedgeCloseFailed_7d"] {
            assert!(failed.contains(&name), "{name} not disproved: {failed:?}");
        }
        assert!(
            experiment
                .checks
                .iter()
                .filter(|c| c.name.starts_with("S5_"))
                .all(|c| c.passed()),
            "a reverted cycle changed the vault"
        );
    }
    let records = fork.witness().unwrap().records();
    let reverted = &records[seen..];
    if !closed_nothing {
        assert!(reverted.iter().any(|r| r
            .solidity
            .iter()
            .any(|c| c.name == "cycle_succeeded_7d" && !c.passed())));
    }
    let differences: Vec<String> = reverted.iter().flat_map(|r| r.differences()).collect();
    assert!(differences.is_empty(), "{}", differences.join("\n"));

    // The heartbeat of a feed without an admin (how real BSC is handled): the feed's last real
    // answer, restamped at each heartbeat with the next round id, trusted by the vault.
    runtime.block_on(heartbeat_by_code(&fork)).unwrap();
}

alloy::sol! {
    interface IFaultProxyAdmin {
        struct Fault {
            uint8 kind;
            uint32 nth;
            uint64 gasToBurn;
            bytes data;
        }
        function faultProxyArm(bytes4 selector, Fault calldata fault) external;
    }
}

/// `script/chaos/FaultProxy.sol` in front of Aster on the fork, `closeTrade` armed to revert
/// with a reason: the fault the in-EVM `close_trade_blocked` injects with cheatcodes, here with
/// anvil's `setCode` and a real deployment of the proxy (to render its immutable).
async fn block_close_trade(project: &Project, fork: &Fork) -> anyhow::Result<()> {
    use alloy::network::TransactionBuilder as _;
    use alloy::primitives::{keccak256, Address, Bytes, FixedBytes, U256};
    use alloy::providers::ext::AnvilApi as _;
    use alloy::providers::Provider as _;
    use alloy::rpc::types::TransactionRequest;
    use alloy::sol_types::{SolCall as _, SolValue as _};
    let provider = &fork.vault.provider;
    let aster = fork.book.aster_diamond;
    let shadow =
        Address::from_slice(&keccak256(("chaos.fault-proxy.shadow", aster).abi_encode())[12..]);
    provider
        .anvil_set_code(shadow, provider.get_code_at(aster).await?)
        .await?;
    let artifact = xtask::foundry::artifacts::Artifact::load(
        &project.forge_out(),
        "FaultProxy.sol",
        "FaultProxy",
    )?;
    let mut create = artifact.bytecode.clone().unwrap_or_default().to_vec();
    create.extend_from_slice(&shadow.abi_encode());
    let receipt = provider
        .send_transaction(
            TransactionRequest::default()
                .with_from(chain::accounts::ADMIN)
                .with_deploy_code(Bytes::from(create))
                .with_gas_limit(3_000_000),
        )
        .await?
        .get_receipt()
        .await?;
    let template = receipt
        .contract_address
        .ok_or_else(|| anyhow::anyhow!("FaultProxy not deployed"))?;
    provider
        .anvil_set_code(aster, provider.get_code_at(template).await?)
        .await?;
    let admin = Address::from_slice(&keccak256("chaos.fault-proxy.admin")[12..]);
    provider.anvil_impersonate_account(admin).await?;
    provider
        .anvil_set_balance(admin, U256::from(10u64).pow(U256::from(18u64)))
        .await?;
    let arm = IFaultProxyAdmin::faultProxyArmCall {
        selector: FixedBytes::<4>::from_slice(&keccak256("closeTrade(bytes32)")[..4]),
        fault: IFaultProxyAdmin::Fault {
            kind: 1, // REVERT_REASON
            nth: 0,
            gasToBurn: 0,
            data: Bytes::from_static(b"ASTER: trading paused"),
        },
    };
    let receipt = provider
        .send_transaction(
            TransactionRequest::default()
                .with_from(admin)
                .with_to(aster)
                .with_input(arm.abi_encode())
                .with_gas_limit(500_000),
        )
        .await?
        .get_receipt()
        .await?;
    anyhow::ensure!(receipt.status(), "arming the fault proxy failed");
    Ok(())
}

/// The vault's Aster positions in the BTC pair (`getPositionsV2`, the array's length) and its LP
/// tokens at `block`: what an unwind from that block could close.
async fn holdings_at(fork: &Fork, block: u64) -> anyhow::Result<(usize, alloy::primitives::U256)> {
    use alloy::primitives::{keccak256, U256};
    use alloy::providers::Provider as _;
    use alloy::rpc::types::TransactionRequest;
    use alloy::sol_types::SolValue as _;
    let provider = &fork.vault.provider;
    let book = &fork.book;
    let mut data = keccak256("getPositionsV2(address,address)")[..4].to_vec();
    data.extend_from_slice(&(book.vault, book.btcb).abi_encode_params());
    let raw = provider
        .call(
            TransactionRequest::default()
                .to(book.aster_diamond)
                .input(data.into()),
        )
        .block(block.into())
        .await?;
    anyhow::ensure!(
        raw.len() >= 64,
        "getPositionsV2 returned {} bytes",
        raw.len()
    );
    let positions = U256::from_be_slice(&raw[32..64]).saturating_to::<usize>();
    let mut data = keccak256("balanceOf(address)")[..4].to_vec();
    data.extend_from_slice(&book.vault.abi_encode());
    let raw = provider
        .call(
            TransactionRequest::default()
                .to(book.lp_pair)
                .input(data.into()),
        )
        .block(block.into())
        .await?;
    anyhow::ensure!(raw.len() >= 32, "balanceOf returned {} bytes", raw.len());
    Ok((positions, U256::from_be_slice(&raw[..32])))
}

async fn heartbeat_by_code(fork: &Fork) -> anyhow::Result<()> {
    use alloy::primitives::U256;
    use alloy::providers::Provider as _;
    let o = &fork.observer;
    let provider = &fork.vault.provider;
    let read = |n: u64| async move {
        let raw = provider
            .call(
                alloy::rpc::types::TransactionRequest::default()
                    .to(fork.book.bnb_usd_feed)
                    .input(vec![0xfe, 0xaf, 0x96, 0x8c].into()), // latestRoundData()
            )
            .block(n.into())
            .await?;
        anyhow::ensure!(
            raw.len() >= 128,
            "latestRoundData returned {} bytes",
            raw.len()
        );
        anyhow::Ok((
            U256::from_be_slice(&raw[..32]),
            U256::from_be_slice(&raw[32..64]),
            U256::from_be_slice(&raw[96..128]),
        ))
    };
    let head = provider.get_block_number().await?;
    let (round, answer, _) = read(head).await?;
    fork.wait_for_test(3 * 3_600).await?;
    let stale = provider.get_block_number().await?;
    assert_eq!(
        o.bnb_usd(stale, o.timestamp(stale).await?).await?,
        U256::ZERO,
        "three hours without a round: stale"
    );
    for i in 1..=2u64 {
        fork.heartbeat_by_code().await?;
        let n = provider.get_block_number().await?;
        let (r, a, updated) = read(n).await?;
        assert_eq!((r, a), (round + U256::from(i), answer), "round {i}");
        assert_eq!(updated, U256::from(o.timestamp(n).await?));
        let trusted = o.bnb_usd(n, o.timestamp(n).await?).await?;
        assert!(!trusted.is_zero());
        let vault_price = fork.vault.u256("bnbUsdPrice", &[], Some(n)).await?;
        assert_eq!(vault_price, trusted, "the vault trusts the restamped round");
    }
    Ok(())
}

/// `name` is `base` followed by exactly the tag `tag`.
fn has(names: &BTreeSet<String>, base: &str, tag: &str) -> bool {
    names.contains(&format!("{base}{tag}"))
}

#[test]
fn a_real_run_reports_the_common_checks_under_the_same_names() {
    let project = Project::locate();
    let toolchain = Toolchain::ensure(&project).unwrap();
    contracts_built(&toolchain);
    let reports = tempfile::tempdir().unwrap();
    let dir = reports.path().join("report");
    let output = support::xtask()
        .current_dir(project.root())
        .args([
            "chaos",
            "--days",
            "1",
            "--fork-block",
            "685",
            "--scenario",
            "gas_spike",
            "--scenario",
            "call_delay",
            "--scenario",
            "keeper_gas_spike",
            "--scenario",
            "keeper_time_jump",
            "--report-dir",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let experiments = report["blocks"][0]["experiments"].as_array().unwrap();
    let checks = |id: &str| -> BTreeMap<String, String> {
        let e = experiments
            .iter()
            .find(|e| e["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(e["verdict"], "held", "{id}");
        e["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["relation"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let gas_spike: Vec<&str> = COMMON
        .iter()
        .copied()
        .chain(["S2_bounty_paid_wei"])
        .collect();
    let week: Vec<&str> = COMMON.iter().copied().chain(AFTER_A_WEEK).collect();
    for (in_evm, live, tags, bases) in [
        (
            "gas_spike",
            "keeper_gas_spike",
            &["_1gwei", "_50gwei", "_1000gwei"][..],
            &gas_spike,
        ),
        ("call_delay", "keeper_time_jump", &["_7d"][..], &week),
    ] {
        let a = checks(in_evm);
        let b = checks(live);
        let (na, nb): (BTreeSet<String>, BTreeSet<String>) =
            (a.keys().cloned().collect(), b.keys().cloned().collect());
        for tag in tags {
            for base in bases.iter() {
                assert!(
                    has(&na, base, tag) && has(&nb, base, tag),
                    "{base}{tag}: {in_evm} has it: {}, {live} has it: {}",
                    has(&na, base, tag),
                    has(&nb, base, tag)
                );
            }
        }
        let shared: Vec<&String> = na.intersection(&nb).collect();
        assert!(shared.len() >= bases.len() * tags.len(), "{shared:?}");
        for name in shared {
            assert_eq!(a[name], b[name], "{name}: relation differs");
        }
    }
}
