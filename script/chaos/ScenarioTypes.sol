// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice One steady-state check as the xtask reports it: `observed` compared with `bound` by
/// `relation` (one of "<=", ">=", "==", "!=", "<", ">"), and whether it held. Values are raw
/// integers in the unit the name states (for example `S1_nav_loss_beyond_bounty_wei`,
/// `S8_abs_delta_bps`). Names, units and bounds: docs/steady-state.md. Checks are made only by
/// `SteadyState.check`, which takes a typed `Relation` and computes `passed` from it.
/// @dev This ABI is decoded by the xtask from forge's `returned` bytes with the artifact's ABI:
/// change it only together with `xtask/src/chaos/scenario.rs`.
struct Check {
    string name;
    int256 observed;
    int256 bound;
    string relation;
    bool passed;
}

/// @notice The outcome of one scenario at one forked block.
struct ScenarioResult {
    /// Scenario id from the catalogue (`oracle_divergence`, ...).
    string id;
    /// The fault injected, in words, for the report.
    string fault;
    /// Every check held.
    bool held;
    Check[] checks;
    /// `YieldVault.stateDigest()` before the fault and at the end of the scenario.
    bytes32 digestBefore;
    bytes32 digestAfter;
    /// Gas used by the scenario's `cycle()` calls, summed.
    uint256 cycleGas;
    /// Number of `cycle()` calls the scenario made (successful or reverted).
    uint256 cycles;
}
