//! The run's own record of the RPC failures that reached a tool: faults the proxies injected
//! in front of forge and anvil, requests the resilient layers gave up on, each with its
//! [`Class`] and the *scope* it happened in (which block, which engine or experiment).
//!
//! The chaos run moves the scope along as it goes ([`Ledger::enter`]); every proxy and the
//! keeper's transport of the run write to the same ledger. The degraded-run comparison
//! ([`crate::chaos::degraded`]) classifies an experiment that could not run by what the ledger holds
//! for its scope, never by reading its error message. Faults that a resilient layer absorbed
//! never reached a tool and are not written here (they are counted in the proxies' stats).

use std::sync::Mutex;

use serde::Serialize;

use super::Class;

/// Where the run is: a pinned block (none while pinning) and a unit of work at it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Scope {
    pub block: Option<u64>,
    pub unit: Unit,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Unit {
    /// Connecting, pinning, pre-flight, the window picture.
    Run,
    /// The in-EVM batch of a block (one forge process for all its scenarios).
    InEvm,
    /// Starting the live fork of a block (anvil, vault deployment, warm-up).
    LiveSetup,
    /// One live-fork experiment.
    Live(String),
}

impl Scope {
    pub const RUN: Scope = Scope {
        block: None,
        unit: Unit::Run,
    };
}

/// One failure that reached a tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub scope: Scope,
    pub class: Class,
    /// What happened, e.g. `fault reset@p=0.03 on eth_getStorageAt`.
    pub what: String,
}

/// Shared by every proxy of a run and the keeper's transport.
#[derive(Debug)]
pub struct Ledger {
    scope: Mutex<Scope>,
    events: Mutex<Vec<Event>>,
}

impl Default for Ledger {
    fn default() -> Self {
        Self {
            scope: Mutex::new(Scope::RUN),
            events: Mutex::new(Vec::new()),
        }
    }
}

/// Events kept at most; beyond, only the count goes on (a run with a fault on every request
/// must not grow without bound).
const MAX_EVENTS: usize = 100_000;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Ledger {
    pub fn enter(&self, block: Option<u64>, unit: Unit) {
        *lock(&self.scope) = Scope { block, unit };
    }

    pub fn scope(&self) -> Scope {
        lock(&self.scope).clone()
    }

    pub fn note(&self, class: Class, what: impl Into<String>) {
        let scope = self.scope();
        let mut events = lock(&self.events);
        if events.len() < MAX_EVENTS {
            events.push(Event {
                scope,
                class,
                what: what.into(),
            });
        }
    }

    pub fn events(&self) -> Vec<Event> {
        lock(&self.events).clone()
    }

    /// The last failure that reached the experiment `id` of engine `in_evm` at `block`:
    /// in its own scope, or in what it depended on (the block's in-EVM batch for a scenario;
    /// the live fork's set-up for a live experiment).
    pub fn cause(&self, block: u64, id: &str, in_evm: bool) -> Option<Event> {
        lock(&self.events)
            .iter()
            .rev()
            .find(|e| {
                e.scope.block == Some(block)
                    && match &e.scope.unit {
                        Unit::InEvm => in_evm,
                        Unit::LiveSetup => !in_evm,
                        Unit::Live(x) => !in_evm && x == id,
                        Unit::Run => false,
                    }
            })
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_found_in_the_experiments_own_scope_only() {
        let ledger = Ledger::default();
        ledger.note(Class::Reset, "while pinning");
        ledger.enter(Some(7), Unit::InEvm);
        ledger.note(Class::PartialRead, "cut");
        ledger.enter(Some(7), Unit::LiveSetup);
        ledger.enter(Some(7), Unit::Live("keeper_a".into()));
        ledger.note(Class::RateLimited, "429");
        ledger.note(Class::Timeout, "slow");
        ledger.enter(Some(8), Unit::Live("keeper_b".into()));
        assert_eq!(
            ledger.cause(7, "gas_spike", true).map(|e| e.class),
            Some(Class::PartialRead)
        );
        assert_eq!(
            ledger.cause(7, "keeper_a", false).map(|e| e.class),
            Some(Class::Timeout)
        );
        assert_eq!(ledger.cause(7, "keeper_b", false), None);
        assert_eq!(ledger.cause(8, "keeper_b", false), None);
        assert_eq!(ledger.cause(8, "gas_spike", true), None);
        assert_eq!(ledger.events().len(), 4);
    }
}
