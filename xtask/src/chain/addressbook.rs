//! The address books in `deployments/` (one JSON file per chain; layout in
//! `deployments/README.md`), read with the same keys the Solidity reader uses.

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// Every dependency of the vault on one chain. Missing optional keys read as the zero address,
/// as in `script/lib/AddressBook.sol`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressBook {
    pub chain_id: u64,
    pub network: String,
    pub usdt: Address,
    pub btcb: Address,
    pub wbnb: Address,
    pub pancake_factory: Address,
    pub pancake_router: Address,
    #[serde(default)]
    pub lp_pair: Address,
    #[serde(default)]
    pub flash_pair: Address,
    #[serde(default)]
    pub btcb_wbnb_pair: Address,
    pub aster_diamond: Address,
    pub alp: Address,
    pub bnb_usd_feed: Address,
    pub btc_usd_feed: Address,
    /// Local chains: where rounds are written (the aggregator behind the feed's proxy, or the
    /// feed itself); zero in `bsc.json`.
    #[serde(default)]
    pub bnb_usd_aggregator: Address,
    #[serde(default)]
    pub btc_usd_aggregator: Address,
    #[serde(default)]
    pub vault: Address,
    #[serde(default)]
    pub notes: String,
}

impl AddressBook {
    /// Where the local market writes BNB/USD rounds: the aggregator when the book names one,
    /// else the feed itself (a book written before the feeds had proxies).
    pub fn bnb_usd_writer(&self) -> Address {
        if self.bnb_usd_aggregator == Address::ZERO {
            self.bnb_usd_feed
        } else {
            self.bnb_usd_aggregator
        }
    }

    /// Where the local market writes BTC/USD rounds (see [`Self::bnb_usd_writer`]).
    pub fn btc_usd_writer(&self) -> Address {
        if self.btc_usd_aggregator == Address::ZERO {
            self.btc_usd_feed
        } else {
            self.btc_usd_aggregator
        }
    }

    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading address book {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("parsing address book {}", path.display()))
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        std::fs::write(path, text)
            .with_context(|| format!("writing address book {}", path.display()))
    }

    /// The canonical book of real BSC.
    pub fn bsc_path(root: &Path) -> PathBuf {
        root.join("deployments").join("bsc.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_books_parse_with_the_documented_keys() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let bsc = AddressBook::read(&AddressBook::bsc_path(root)).unwrap();
        assert_eq!(bsc.chain_id, 56);
        assert_eq!(
            bsc.usdt,
            "0x55d398326f99059fF775485246999027B3197955"
                .parse::<Address>()
                .unwrap()
        );
        assert_eq!(
            bsc.aster_diamond,
            "0x1b6F2d3844C6ae7D56ceb3C3643b9060ba28FEb0"
                .parse::<Address>()
                .unwrap()
        );
        let local = AddressBook::read(&root.join("deployments/local/bsc-replica.json")).unwrap();
        assert_ne!(local.vault, Address::ZERO);
        assert_eq!(local.network, "bsc-replica");
    }
}
