// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {YieldVault} from "../../contracts/vault/YieldVault.sol";
import {CycleModule} from "../../contracts/vault/CycleModule.sol";
import {Config, VaultAddresses, Weights} from "../../contracts/vault/VaultTypes.sol";

/// @title DeployVault
/// @notice The one way the vault is deployed: by the local environment (DeployLocal) and by the
/// chaos scenarios on a BSC fork. `defaultConfig()` is the configuration the team would ship.
library DeployVault {
    /// @notice Parameters for BSC: cycles every 10 minutes, a 30-minute TWAP, 2% guards.
    /// @dev Volatility thresholds are per observation interval (twapWindow / 4 = 7.5 minutes):
    /// BTC at ~2%/day is ~14 bps per interval; 100 bps per interval is a storm.
    function defaultConfig() internal pure returns (Config memory c) {
        c.minCycleInterval = 10 minutes;
        c.twapWindow = 30 minutes;
        c.maxTwapAge = 2 hours;
        c.maxOracleAge = 1 hours;
        c.pendingHedgeTimeout = 1 hours;
        c.rebalanceThresholdBps = 500;
        c.deltaBandBps = 200;
        c.maxDeviationBps = 200;
        c.maxNavDropBps = 300;
        c.safeCycleThreshold = 3;
        c.calmVolBps = 15;
        c.stormVolBps = 100;
        c.calm = Weights({lpBps: 6000, alpBps: 3000, bufferBps: 1000});
        c.normal = Weights({lpBps: 5000, alpBps: 3000, bufferBps: 2000});
        c.storm = Weights({lpBps: 2000, alpBps: 3000, bufferBps: 5000});
        c.flashCapBps = 1000;
        c.minFlashStepBps = 2500;
        c.swapSlippageBps = 100;
        c.maxBountyBps = 10;
        c.profitBountyBps = 1000;
        c.maxGasPrice = 5 gwei;
        c.bountyGasUnits = 1_500_000;
        c.bufferTargetBps = 1000;
        c.hedgeLeverage = 5;
    }

    /// @notice Deploys the keeper module and the vault bound to it (the vault's constructor
    /// deploys its TWAP oracle and validates `cfg`). `a` comes from an address book
    /// (`AddressBook.vaultAddresses`).
    function deploy(VaultAddresses memory a, Config memory cfg) internal returns (YieldVault vault) {
        CycleModule module = new CycleModule(a);
        vault = new YieldVault(a, cfg, address(module));
    }
}
