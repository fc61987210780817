// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReplicaToken} from "../../contracts/replicas/tokens/ReplicaToken.sol";
import {WBNB} from "../../contracts/replicas/tokens/WBNB.sol";
import {PancakeFactory} from "../../contracts/replicas/pancake/PancakeFactory.sol";
import {PancakePair} from "../../contracts/replicas/pancake/PancakePair.sol";
import {PancakeRouter} from "../../contracts/replicas/pancake/PancakeRouter.sol";
import {AsterDiamondReplica} from "../../contracts/replicas/aster/AsterDiamondReplica.sol";
import {AlpToken} from "../../contracts/replicas/aster/AlpToken.sol";
import {ChainlinkFeedReplica} from "../../contracts/replicas/chainlink/ChainlinkFeedReplica.sol";

/// @title LocalEnvironment
/// @notice Deploys the whole local BSC replica in one call, for tests (`setUp`) and for
/// `script/DeployLocal.s.sol` alike, so that both run against the same environment: USDT, BTCB,
/// WBNB, a PancakeSwap V2 factory and router with three seeded pairs, the Aster diamond replica
/// with ALP liquidity and two mark prices, and the BNB/USD and BTC/USD Chainlink feeds.
/// @dev All functions are internal: they run in the caller's context, so every deployment and
/// every seeding call is made by the contract (test) or the broadcaster (script) that calls
/// `deploy`. `admin` must therefore be that account (`address(this)` in a test, the broadcaster
/// in a script): it owns and mints the tokens, pays the seed liquidity (including native BNB for
/// WBNB), holds the LP tokens and the ALP, and is the Aster keeper and the feeds' admin.
library LocalEnvironment {
    /// @notice Market at deployment. Prices are whole USD; amounts are in whole tokens.
    struct Config {
        uint256 btcPriceUsd; // BTC/USD for the pools, Aster's BTC mark price and the BTC feed
        uint256 bnbPriceUsd; // BNB/USD likewise
        uint256 lpPairBtcb; // BTCB in the BTCB/USDT pair (the vault's LP leg), priced at btcPriceUsd
        uint256 flashPairWbnb; // WBNB in the WBNB/USDT pair (the flash-borrow source)
        uint256 crossPairBtcb; // BTCB in the BTCB/WBNB pair (0: no such pair)
        uint256 alpLiquidityUsdt; // USDT minted into ALP by admin (the pool that pays PnL)
        uint256 alpPrice; // initial ALP price, 8 decimals
    }

    /// @notice Every deployed contract. Field names match the address-book keys
    /// (deployments/README.md).
    struct Environment {
        ReplicaToken usdt;
        ReplicaToken btcb;
        WBNB wbnb;
        PancakeFactory pancakeFactory;
        PancakeRouter pancakeRouter;
        PancakePair lpPair; // BTCB/USDT
        PancakePair flashPair; // WBNB/USDT
        PancakePair btcbWbnbPair; // BTCB/WBNB, address(0) when crossPairBtcb == 0
        AsterDiamondReplica asterDiamond;
        AlpToken alp;
        ChainlinkFeedReplica bnbUsdFeed;
        ChainlinkFeedReplica btcUsdFeed;
        address admin;
    }

    uint8 internal constant FEED_DECIMALS = 8;

    /// @notice BTC 90,000 USD and BNB 900 USD; a 9M USDT BTCB/USDT pool (100 BTCB), a 2.7M USDT
    /// WBNB/USDT pool (3,000 WBNB), a 1,000-WBNB BTCB/WBNB pool and 5M USDT of ALP at 1.00.
    /// Native BNB needed by admin: 4,000 BNB (an anvil dev account holds 10,000).
    function defaultConfig() internal pure returns (Config memory) {
        return Config({
            btcPriceUsd: 90_000,
            bnbPriceUsd: 900,
            lpPairBtcb: 100,
            flashPairWbnb: 3000,
            crossPairBtcb: 10,
            alpLiquidityUsdt: 5_000_000,
            alpPrice: 1e8
        });
    }

    function deploy(address admin) internal returns (Environment memory env) {
        return deploy(defaultConfig(), admin);
    }

    function deploy(Config memory cfg, address admin) internal returns (Environment memory env) {
        env.admin = admin;
        env.usdt = new ReplicaToken("Tether USD", "USDT", 18, admin);
        env.btcb = new ReplicaToken("BTCB Token", "BTCB", 18, admin);
        env.wbnb = new WBNB();
        env.pancakeFactory = new PancakeFactory(admin);
        env.pancakeRouter = new PancakeRouter(address(env.pancakeFactory), address(env.wbnb));
        env.asterDiamond = new AsterDiamondReplica(address(env.usdt), admin, cfg.alpPrice);
        env.alp = AlpToken(env.asterDiamond.alp());
        env.bnbUsdFeed = new ChainlinkFeedReplica(
            FEED_DECIMALS, "BNB / USD", int256(cfg.bnbPriceUsd * 10 ** FEED_DECIMALS), admin
        );
        env.btcUsdFeed = new ChainlinkFeedReplica(
            FEED_DECIMALS, "BTC / USD", int256(cfg.btcPriceUsd * 10 ** FEED_DECIMALS), admin
        );
        seedPools(env, cfg);
        seedAster(env, cfg);
    }

    /// @notice Creates and funds the pairs at the configured prices through the router, so the
    /// seeding itself goes through the same code path as any user.
    function seedPools(Environment memory env, Config memory cfg) internal {
        uint256 lpUsdt = cfg.lpPairBtcb * cfg.btcPriceUsd * 1e18;
        uint256 flashUsdt = cfg.flashPairWbnb * cfg.bnbPriceUsd * 1e18;
        uint256 crossWbnb = cfg.crossPairBtcb * cfg.btcPriceUsd * 1e18 / cfg.bnbPriceUsd;
        uint256 wbnbNeeded = cfg.flashPairWbnb * 1e18 + crossWbnb;

        env.usdt.mint(env.admin, lpUsdt + flashUsdt);
        env.btcb.mint(env.admin, (cfg.lpPairBtcb + cfg.crossPairBtcb) * 1e18);
        env.wbnb.deposit{value: wbnbNeeded}();

        env.usdt.approve(address(env.pancakeRouter), type(uint256).max);
        env.btcb.approve(address(env.pancakeRouter), type(uint256).max);
        env.wbnb.approve(address(env.pancakeRouter), type(uint256).max);

        env.lpPair = _addLiquidity(env, address(env.btcb), address(env.usdt), cfg.lpPairBtcb * 1e18, lpUsdt);
        env.flashPair =
            _addLiquidity(env, address(env.wbnb), address(env.usdt), cfg.flashPairWbnb * 1e18, flashUsdt);
        if (cfg.crossPairBtcb != 0) {
            env.btcbWbnbPair =
                _addLiquidity(env, address(env.btcb), address(env.wbnb), cfg.crossPairBtcb * 1e18, crossWbnb);
        }
    }

    /// @notice Lists BTC/USD (pairBase BTCB) and BNB/USD (pairBase WBNB) at the configured mark
    /// prices, as Aster keys its pairs by the base token's address, and fills the ALP pool.
    function seedAster(Environment memory env, Config memory cfg) internal {
        env.asterDiamond.listPair(address(env.btcb), "BTC/USD", uint64(cfg.btcPriceUsd * 1e8));
        env.asterDiamond.listPair(address(env.wbnb), "BNB/USD", uint64(cfg.bnbPriceUsd * 1e8));
        if (cfg.alpLiquidityUsdt != 0) {
            uint256 amount = cfg.alpLiquidityUsdt * 1e18;
            env.usdt.mint(env.admin, amount);
            env.usdt.approve(address(env.asterDiamond), amount);
            env.asterDiamond.mintAlp(address(env.usdt), amount, 0, false);
        }
    }

    function _addLiquidity(
        Environment memory env,
        address tokenA,
        address tokenB,
        uint256 amountA,
        uint256 amountB
    ) private returns (PancakePair pair) {
        // A broadcast transaction lands in a later block than the simulation saw, so the deadline
        // must leave room; an hour is plenty for a local chain.
        uint256 deadline = block.timestamp + 1 hours;
        env.pancakeRouter
            .addLiquidity(tokenA, tokenB, amountA, amountB, amountA, amountB, env.admin, deadline);
        pair = PancakePair(env.pancakeFactory.getPair(tokenA, tokenB));
    }
}
