//! RPC degradation: a fault-injecting JSON-RPC proxy and a probe that measures an endpoint.
//!
//! - [`fault`]: the fault-spec grammar (documented there) and the seeded RNG;
//! - [`proxy`]: the proxy library ([`proxy::Proxy::start`] returns a handle whose Drop stops it);
//! - [`client`]: a JSON-RPC client over raw HTTP/1.1 that classifies every failure;
//! - [`probe`]: `cargo xtask rpc-probe`;
//! - [`serve`]: `cargo xtask rpc-proxy`;
//! - [`retry`]: the retry policy of the resilient layers (proxy and keeper);
//! - [`validate`]: what makes an upstream's answer acceptable;
//! - [`record`]: recordings of a run's upstream answers, and their replay;
//! - [`ledger`]: the run's record of RPC failures that reached a tool, by scope;
//! - [`keeper`]: the live-fork keeper's transport (retried reads, idempotent sends);
//! - [`redact`]: [`Redacted`], the only way an RPC URL is shown.
//!
//! Room: everything between a tool and an RPC endpoint. May depend on [`crate::rng`] and the
//! plumbing ([`crate::shell`], [`crate::signals`], [`crate::error`]); it knows nothing of
//! chains, experiments or reports.

pub mod client;
pub mod fault;
pub mod keeper;
pub mod ledger;
pub mod probe;
pub mod proxy;
pub mod record;
pub mod redact;
pub mod retry;
pub mod serve;
pub mod validate;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

pub use redact::Redacted;

/// What happened to a call or a check: exactly one of these, always.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Ok,
    /// No answer within the deadline.
    Timeout,
    /// No connection (refused, no route, name not resolved, TLS handshake failed).
    Unreachable,
    /// The connection was reset or closed before any answer.
    Reset,
    /// An answer started but ended before its declared length.
    PartialRead,
    /// An answer that is not HTTP, not JSON or not JSON-RPC.
    Malformed,
    /// HTTP 429 or JSON-RPC -32005 (or an error that says so).
    RateLimited,
    /// Any other HTTP status than 2xx.
    HttpError,
    /// A JSON-RPC error answer.
    RpcError,
    /// The chain id is not the expected one.
    WrongChain,
    /// The head is too old or went backwards.
    StaleHead,
    /// State at the pinned block is not served ("missing trie node").
    NotArchive,
    /// The pinned block is missing or changes between reads.
    InconsistentBlock,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Ok => "ok",
            Class::Timeout => "timeout",
            Class::Unreachable => "unreachable",
            Class::Reset => "reset",
            Class::PartialRead => "partial_read",
            Class::Malformed => "malformed",
            Class::RateLimited => "rate_limited",
            Class::HttpError => "http_error",
            Class::RpcError => "rpc_error",
            Class::WrongChain => "wrong_chain",
            Class::StaleHead => "stale_head",
            Class::NotArchive => "not_archive",
            Class::InconsistentBlock => "inconsistent_block",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A block number, given in decimal or `0x` hex, sent as a hex quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct BlockNumber(pub u64);

impl BlockNumber {
    /// The JSON-RPC quantity, e.g. `0x1b4`.
    pub fn to_quantity(self) -> String {
        format!("{:#x}", self.0)
    }

    /// Parse a JSON-RPC quantity (`0x...`).
    pub fn from_quantity(text: &str) -> Option<Self> {
        parse_quantity(text).map(Self)
    }
}

impl fmt::Display for BlockNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for BlockNumber {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let parsed = if s.starts_with("0x") {
            parse_quantity(s)
        } else {
            s.parse::<u64>().ok()
        };
        parsed
            .map(Self)
            .ok_or_else(|| format!("`{s}` is not a block number (decimal or 0x hex)"))
    }
}

/// A JSON-RPC hex quantity as u64.
pub fn parse_quantity(text: &str) -> Option<u64> {
    let digits = text.strip_prefix("0x")?;
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

/// The largest body either side of the proxy or the probe accepts.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_numbers() {
        assert_eq!("123".parse::<BlockNumber>(), Ok(BlockNumber(123)));
        assert_eq!("0x1b4".parse::<BlockNumber>(), Ok(BlockNumber(436)));
        assert!("-1".parse::<BlockNumber>().is_err());
        assert!("0x".parse::<BlockNumber>().is_err());
        assert_eq!(BlockNumber(436).to_quantity(), "0x1b4");
        assert_eq!(BlockNumber::from_quantity("0x0"), Some(BlockNumber(0)));
        assert_eq!(BlockNumber::from_quantity("12"), None);
    }
}
