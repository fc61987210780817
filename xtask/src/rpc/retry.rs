//! The retry policy shared by the proxy's resilient upstream layer ([`super::proxy`]) and the
//! live-fork keeper's transport ([`super::keeper`]).
//!
//! What is retried: a request whose every call is *idempotent* ([`is_idempotent`]: reads;
//! never a send, never a state-changing `anvil_`/`evm_`/`hardhat_` call), after a failure of a
//! retryable [`Class`] ([`retryable`]: timeout, reset, cut body, malformed or invalid reply,
//! HTTP 5xx, HTTP 429 / JSON-RPC -32005, unreachable). Everything else (a JSON-RPC error that
//! is an answer, such as a revert; a 4xx) is passed on at once.
//!
//! How: at most [`Policy::max_attempts`] attempts, each within [`Policy::attempt_timeout`],
//! all within [`Policy::deadline`] of the request's arrival. Between attempts a backoff that
//! doubles from [`Policy::base_backoff`] up to [`Policy::max_backoff`], with "equal jitter"
//! (half fixed, half uniform) drawn from SplitMix64 seeded by the run's seed, the request's
//! content and the attempt number: the same run waits the same way every time, whatever the
//! order in which concurrent requests arrive. A 429's `Retry-After` is honoured for every
//! request to that upstream (a shared gate), up to [`Policy::max_retry_after`]; a longer one
//! is a give-up. Retries come out of one global [`Budget`]: at most
//! `budget_floor + budget_ratio × first attempts`, so a dead upstream is not hammered.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Class;
use crate::rng::SplitMix64;

/// Retry parameters. [`Policy::default`] is what `cargo xtask chaos` uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// One attempt (send, headers and body) must end within this.
    pub attempt_timeout: Duration,
    /// Every attempt and wait of one request must end within this of its arrival.
    pub deadline: Duration,
    /// The longest `Retry-After` waited for; a longer one ends the request.
    pub max_retry_after: Duration,
    /// Retries allowed per first attempt, over the whole run.
    pub budget_ratio: f64,
    /// Retries always allowed, whatever the ratio.
    pub budget_floor: u64,
    /// Send a second copy of an idempotent request that has not answered within this (the
    /// first answer that validates wins). `None`: no hedging.
    pub hedge_after: Option<Duration>,
    /// Seed of the backoff jitter.
    pub seed: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(25),
            max_retry_after: Duration::from_secs(10),
            budget_ratio: 0.5,
            budget_floor: 100,
            hedge_after: None,
            seed: 0,
        }
    }
}

impl Policy {
    pub fn seeded(seed: u64) -> Self {
        Self {
            seed,
            ..Self::default()
        }
    }

    /// The wait before attempt `attempt` (2 = the first retry) of a request whose content
    /// hashes to `key`: min(max, base × 2^(attempt-2)), half of it fixed, half jittered.
    pub fn backoff(&self, key: u64, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(2).min(20);
        let full = self
            .base_backoff
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        let mut rng = SplitMix64::new(self.seed ^ key.rotate_left(17) ^ u64::from(attempt));
        let jitter = rng.next_f64();
        full.mul_f64(0.5 + 0.5 * jitter)
    }
}

/// Whether a failure of this class is worth another attempt.
pub fn retryable(class: Class) -> bool {
    matches!(
        class,
        Class::Timeout
            | Class::Reset
            | Class::PartialRead
            | Class::Malformed
            | Class::RateLimited
            | Class::HttpError
            | Class::Unreachable
            | Class::InconsistentBlock
    )
}

/// Methods that send a transaction: never retried blindly (the keeper's transport makes
/// them idempotent by signing once and checking whether the transaction landed).
pub const SEND_METHODS: [&str; 5] = [
    "eth_sendTransaction",
    "eth_sendRawTransaction",
    "eth_sendTransactionSync",
    "eth_sendRawTransactionSync",
    "personal_sendTransaction",
];

/// State-changing node calls that are safe to repeat: they set a value, so a second call
/// after a lost answer leaves the same state as one.
const IDEMPOTENT_SETTERS: [&str; 12] = [
    "anvil_setNextBlockTimestamp",
    "evm_setNextBlockTimestamp",
    "anvil_setNextBlockBaseFeePerGas",
    "anvil_setAutomine",
    "evm_setAutomine",
    "anvil_setBalance",
    "anvil_setCode",
    "anvil_setNonce",
    "anvil_setStorageAt",
    "anvil_dealERC20",
    "anvil_setERC20Allowance",
    "anvil_removeBlockTimestampInterval",
];

/// Prefixes of methods that change a node's state.
const MUTATING_PREFIXES: [&str; 7] = [
    "anvil_",
    "evm_",
    "hardhat_",
    "miner_",
    "personal_",
    "admin_",
    "debug_set",
];

/// A read (or a setter that is safe to repeat): retrying it cannot change the outcome.
pub fn is_idempotent(method: &str) -> bool {
    if SEND_METHODS.contains(&method) || method.starts_with("eth_submit") {
        return false;
    }
    if IDEMPOTENT_SETTERS.contains(&method) {
        return true;
    }
    !MUTATING_PREFIXES.iter().any(|p| method.starts_with(p))
}

/// The global retry budget of one upstream.
#[derive(Debug, Default)]
pub struct Budget {
    first_attempts: AtomicU64,
    retries: AtomicU64,
}

impl Budget {
    pub fn first_attempt(&self) {
        self.first_attempts.fetch_add(1, Ordering::Relaxed);
    }

    /// Take one retry (or hedge) from the budget; false when it is spent.
    pub fn try_spend(&self, policy: &Policy) -> bool {
        let allowed = policy.budget_floor
            + (self.first_attempts.load(Ordering::Relaxed) as f64 * policy.budget_ratio) as u64;
        self.retries
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |spent| {
                (spent < allowed).then_some(spent + 1)
            })
            .is_ok()
    }

    pub fn spent(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
}

/// "Not before": set by a 429's `Retry-After`, honoured by every request to the upstream.
#[derive(Debug, Default)]
pub struct Gate(Mutex<Option<Instant>>);

impl Gate {
    pub fn close_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut gate = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if gate.is_none_or(|t| t < until) {
            *gate = Some(until);
        }
    }

    /// How long a request must still wait.
    pub fn wait(&self) -> Duration {
        let gate = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        gate.map_or(Duration::ZERO, |t| {
            t.saturating_duration_since(Instant::now())
        })
    }
}

/// A `Retry-After` header in seconds (HTTP dates are not used by RPC providers; they and
/// anything unreadable count as one second).
pub fn retry_after(header: Option<&str>) -> Duration {
    header
        .and_then(|h| h.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(1), |s| {
            Duration::from_secs_f64(s.min(3600.0))
        })
}

/// What the resilient layers did, per method.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MethodCounters {
    /// Attempts after the first.
    pub retries: u64,
    /// Second copies sent because the first was slow.
    pub hedges: u64,
    /// Requests that failed after every attempt (or with the budget or deadline spent).
    pub give_ups: u64,
}

impl MethodCounters {
    pub fn add(&mut self, other: &MethodCounters) {
        self.retries += other.retries;
        self.hedges += other.hedges;
        self.give_ups += other.give_ups;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_with_seeded_jitter() {
        let policy = Policy::seeded(42);
        for attempt in 2..12 {
            let full = Duration::from_millis(50)
                .saturating_mul(1 << (attempt - 2))
                .min(Duration::from_secs(2));
            let wait = policy.backoff(7, attempt);
            assert!(wait >= full / 2 && wait <= full, "{attempt}: {wait:?}");
            assert_eq!(
                wait,
                policy.backoff(7, attempt),
                "the same seed waits the same"
            );
        }
        assert_ne!(policy.backoff(7, 3), policy.backoff(8, 3));
        assert_ne!(policy.backoff(7, 3), Policy::seeded(43).backoff(7, 3));
    }

    #[test]
    fn reads_are_idempotent_sends_and_mining_are_not() {
        for read in [
            "eth_getStorageAt",
            "eth_call",
            "eth_getBlockByNumber",
            "eth_chainId",
            "eth_getAccountInfo",
            "anvil_setNextBlockTimestamp",
        ] {
            assert!(is_idempotent(read), "{read}");
        }
        for write in [
            "eth_sendTransaction",
            "eth_sendRawTransaction",
            "eth_sendTransactionSync",
            "evm_mine",
            "anvil_mine",
            "anvil_snapshot",
            "evm_revert",
            "anvil_dropTransaction",
        ] {
            assert!(!is_idempotent(write), "{write}");
        }
    }

    #[test]
    fn the_budget_is_a_floor_plus_a_share_of_first_attempts() {
        let policy = Policy {
            budget_floor: 2,
            budget_ratio: 0.5,
            ..Policy::default()
        };
        let budget = Budget::default();
        assert!(budget.try_spend(&policy) && budget.try_spend(&policy));
        assert!(!budget.try_spend(&policy));
        for _ in 0..4 {
            budget.first_attempt();
        }
        assert!(budget.try_spend(&policy) && budget.try_spend(&policy));
        assert!(!budget.try_spend(&policy));
        assert_eq!(budget.spent(), 4);
    }

    #[test]
    fn retry_after_reads_seconds() {
        assert_eq!(retry_after(Some("2")), Duration::from_secs(2));
        assert_eq!(retry_after(Some("0.5")), Duration::from_millis(500));
        assert_eq!(retry_after(None), Duration::from_secs(1));
        assert_eq!(retry_after(Some("soon")), Duration::from_secs(1));
        let gate = Gate::default();
        assert_eq!(gate.wait(), Duration::ZERO);
        gate.close_for(Duration::from_secs(5));
        assert!(gate.wait() > Duration::from_secs(4));
    }

    #[test]
    fn only_failures_that_another_attempt_can_fix_are_retried() {
        assert!(retryable(Class::Reset) && retryable(Class::PartialRead));
        assert!(retryable(Class::RateLimited) && retryable(Class::Malformed));
        assert!(!retryable(Class::RpcError) && !retryable(Class::WrongChain));
        assert!(!retryable(Class::NotArchive) && !retryable(Class::Ok));
    }
}
