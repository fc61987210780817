//! The live-fork keeper's transport against a real anvil behind a faulty proxy: reads are
//! retried, and a send or a mined block whose answer is lost is not repeated (the node took
//! it), so faults never make a second transaction or a second block.

mod support;

use std::sync::Arc;
use std::time::Duration;

use alloy::network::TransactionBuilder as _;
use alloy::primitives::{address, U256};
use alloy::providers::ext::AnvilApi as _;
use alloy::providers::Provider as _;
use alloy::rpc::types::TransactionRequest;
use support::*;
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
