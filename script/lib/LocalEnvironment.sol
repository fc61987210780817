// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {ReplicaToken} from "../../contracts/replicas/tokens/ReplicaToken.sol";
import {WBNB} from "../../contracts/replicas/tokens/WBNB.sol";
import {PancakeFactory} from "../../contracts/replicas/pancake/PancakeFactory.sol";
import {PancakeRouter} from "../../contracts/replicas/pancake/PancakeRouter.sol";
import {
    IPancakeV2Factory,
    IPancakeV2Pair,
    IPancakeV2Router
} from "../../contracts/replicas/pancake/IPancakeV2.sol";
import {AsterDiamondReplica} from "../../contracts/replicas/aster/AsterDiamondReplica.sol";
import {AlpToken} from "../../contracts/replicas/aster/AlpToken.sol";
import {ChainlinkFeedReplica} from "../../contracts/replicas/chainlink/ChainlinkFeedReplica.sol";
import {IAggregatorV2V3} from "../../contracts/replicas/chainlink/IAggregatorV2V3.sol";

/// @title LocalEnvironment
/// @notice Deploys the whole local BSC environment in one call, for tests (`setUp`) and for
/// `script/DeployLocal.s.sol` alike, so that both run against the same environment: USDT, BTCB,
/// WBNB, a PancakeSwap V2 factory and router with three seeded pairs, the Aster diamond replica
/// with ALP liquidity and two mark prices, and the BNB/USD and BTC/USD Chainlink feeds.
///
/// Two kinds of environment (`Config.replicas`):
/// - `REAL` (the default): PancakeSwap V2's factory, pairs and router are the registry's sources
///   compiled by `cargo xtask` with the project's V2 patch (`build/solc-0.5.16`,
///   `build/solc-0.6.6`, see tools/patches/README.md), and each feed is Chainlink's real
///   `EACAggregatorProxy` (Chainlink's npm package) in front of a `ChainlinkFeedReplica`
///   aggregator, so round ids carry the phase as on BSC. Deployed by artifact (`vm.getCode`).
/// - `HAND`: the hand-written replicas of `contracts/replicas/` only (the feeds are read
///   directly), kept for comparison and as the differential oracle of the real code.
/// Tokens and Aster are the hand-written replicas in both: no registry package ships them.
/// @dev All functions are internal: they run in the caller's context, so every deployment and
/// every seeding call is made by the contract (test) or the broadcaster (script) that calls
/// `deploy`. `admin` must therefore be that account (`address(this)` in a test, the broadcaster
/// in a script): it owns and mints the tokens, pays the seed liquidity (including native BNB for
/// WBNB), holds the LP tokens and the ALP, is the Aster keeper, the feeds' admin and the
/// proxies' owner.
library LocalEnvironment {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @notice Which code stands in for PancakeSwap and Chainlink.
    enum Replicas {
        REAL,
        HAND
    }

    /// @notice Market at deployment. Prices are whole USD; amounts are in whole tokens.
    struct Config {
        uint256 btcPriceUsd; // BTC/USD for the pools, Aster's BTC mark price and the BTC feed
        uint256 bnbPriceUsd; // BNB/USD likewise
        uint256 lpPairBtcb; // BTCB in the BTCB/USDT pair (the vault's LP leg), priced at btcPriceUsd
        uint256 flashPairWbnb; // WBNB in the WBNB/USDT pair (the flash-borrow source)
        uint256 crossPairBtcb; // BTCB in the BTCB/WBNB pair (0: no such pair)
        uint256 alpLiquidityUsdt; // USDT minted into ALP by admin (the pool that pays PnL)
        uint256 alpPrice; // initial ALP price, 8 decimals
        Replicas replicas; // REAL: registry-built PancakeSwap V2 and Chainlink proxies
    }

    /// @notice Every deployed contract, typed, for the tests and the deployer that drive them.
    /// Field names match the address-book keys (deployments/README.md), except the feeds: see
    /// `bnbUsdProxy`. Not a second record of the addresses: `AddressBook.fromEnvironment` turns
    /// it into the book, and everything that only needs addresses (the chaos World, the vault's
    /// `VaultAddresses`) is derived from that book.
    struct Environment {
        ReplicaToken usdt;
        ReplicaToken btcb;
        WBNB wbnb;
        IPancakeV2Factory pancakeFactory;
        IPancakeV2Router pancakeRouter;
        IPancakeV2Pair lpPair; // BTCB/USDT
        IPancakeV2Pair flashPair; // WBNB/USDT
        IPancakeV2Pair btcbWbnbPair; // BTCB/WBNB, address(0) when crossPairBtcb == 0
        AsterDiamondReplica asterDiamond;
        AlpToken alp;
        /// The aggregators: where the local market writes rounds (`updateAnswer`, ...).
        ChainlinkFeedReplica bnbUsdFeed;
        ChainlinkFeedReplica btcUsdFeed;
        /// REAL: the `EACAggregatorProxy` in front of each aggregator, what consumers read (the
        /// address book's `bnbUsdFeed` / `btcUsdFeed`); HAND: address(0), consumers read the
        /// aggregator. `readBnbUsd` / `readBtcUsd` give the one to read either way.
        IAggregatorV2V3 bnbUsdProxy;
        IAggregatorV2V3 btcUsdProxy;
        Replicas replicas;
        address admin;
    }

    uint8 internal constant FEED_DECIMALS = 8;

    /// Artifacts of the registry sources (xtask/src/chain/registry.rs builds them).
    string internal constant PANCAKE_FACTORY_ARTIFACT =
        "build/solc-0.5.16/out/PancakeFactory.sol/PancakeFactory.json";
    string internal constant PANCAKE_PAIR_ARTIFACT = "build/solc-0.5.16/out/PancakePair.sol/PancakePair.json";
    string internal constant PANCAKE_ROUTER_ARTIFACT =
        "build/solc-0.6.6/out/PancakeRouter.sol/PancakeRouter.json";
    string internal constant CHAINLINK_PROXY_ARTIFACT =
        "build/solc-0.6.6/out/EACAggregatorProxy.sol/EACAggregatorProxy.json";

    error RegistryArtifactMissing(string artifact, string fix);
    error DeploymentFailed(string artifact);

    /// @notice BTC 90,000 USD and BNB 900 USD; a 9M USDT BTCB/USDT pool (100 BTCB), a 2.7M USDT
    /// WBNB/USDT pool (3,000 WBNB), a 1,000-WBNB BTCB/WBNB pool and 5M USDT of ALP at 1.00, on
    /// the registry-built PancakeSwap V2 and Chainlink proxies.
    /// Native BNB needed by admin: 4,000 BNB (an anvil dev account holds 10,000).
    function defaultConfig() internal pure returns (Config memory) {
        return Config({
            btcPriceUsd: 90_000,
            bnbPriceUsd: 900,
            lpPairBtcb: 100,
            flashPairWbnb: 3000,
            crossPairBtcb: 10,
            alpLiquidityUsdt: 5_000_000,
            alpPrice: 1e8,
            replicas: Replicas.REAL
        });
    }

    /// @notice The default market on the hand-written replicas only.
    function handConfig() internal pure returns (Config memory cfg) {
        cfg = defaultConfig();
        cfg.replicas = Replicas.HAND;
    }

    function deploy(address admin) internal returns (Environment memory env) {
        return deploy(defaultConfig(), admin);
    }

    function deploy(Config memory cfg, address admin) internal returns (Environment memory env) {
        env.admin = admin;
        env.replicas = cfg.replicas;
        env.usdt = new ReplicaToken("Tether USD", "USDT", 18, admin);
        env.btcb = new ReplicaToken("BTCB Token", "BTCB", 18, admin);
        env.wbnb = new WBNB();
        if (cfg.replicas == Replicas.REAL) {
            env.pancakeFactory =
                IPancakeV2Factory(deployArtifact(PANCAKE_FACTORY_ARTIFACT, abi.encode(admin)));
            env.pancakeRouter = IPancakeV2Router(
                deployArtifact(
                    PANCAKE_ROUTER_ARTIFACT, abi.encode(address(env.pancakeFactory), address(env.wbnb))
                )
            );
        } else {
            env.pancakeFactory = new PancakeFactory(admin);
            env.pancakeRouter = new PancakeRouter(address(env.pancakeFactory), address(env.wbnb));
        }
        env.asterDiamond = new AsterDiamondReplica(address(env.usdt), admin, cfg.alpPrice);
        env.alp = AlpToken(env.asterDiamond.alp());
        env.bnbUsdFeed = new ChainlinkFeedReplica(
            FEED_DECIMALS, "BNB / USD", int256(cfg.bnbPriceUsd * 10 ** FEED_DECIMALS), admin
        );
        env.btcUsdFeed = new ChainlinkFeedReplica(
            FEED_DECIMALS, "BTC / USD", int256(cfg.btcPriceUsd * 10 ** FEED_DECIMALS), admin
        );
        if (cfg.replicas == Replicas.REAL) {
            env.bnbUsdProxy = deployFeedProxy(address(env.bnbUsdFeed));
            env.btcUsdProxy = deployFeedProxy(address(env.btcUsdFeed));
        }
        seedPools(env, cfg);
        seedAster(env, cfg);
    }

    /// @notice The BNB/USD feed a consumer reads: the proxy (REAL) or the aggregator (HAND).
    function readBnbUsd(Environment memory env) internal pure returns (address) {
        return address(env.bnbUsdProxy) != address(0) ? address(env.bnbUsdProxy) : address(env.bnbUsdFeed);
    }

    /// @notice The BTC/USD feed a consumer reads: the proxy (REAL) or the aggregator (HAND).
    function readBtcUsd(Environment memory env) internal pure returns (address) {
        return address(env.btcUsdProxy) != address(0) ? address(env.btcUsdProxy) : address(env.btcUsdFeed);
    }

    /// @notice Chainlink's `EACAggregatorProxy` (phase 1: `aggregator`) with no access
    /// controller, owned by the caller, as BSC's feeds are read by anyone.
    function deployFeedProxy(address aggregator) internal returns (IAggregatorV2V3) {
        return IAggregatorV2V3(deployArtifact(CHAINLINK_PROXY_ARTIFACT, abi.encode(aggregator, address(0))));
    }

    /// @notice CREATE of an artifact's creation code with ABI-encoded constructor arguments.
    function deployArtifact(string memory artifact, bytes memory args) internal returns (address deployed) {
        bytes memory code = creationCode(artifact);
        bytes memory initCode = bytes.concat(code, args);
        assembly {
            deployed := create(0, add(initCode, 0x20), mload(initCode))
        }
        if (deployed == address(0)) revert DeploymentFailed(artifact);
    }

    /// @notice An artifact's creation code; a clear error when the registry sources were not built.
    function creationCode(string memory artifact) internal view returns (bytes memory) {
        try vm.getCode(artifact) returns (bytes memory code) {
            return code;
        } catch {
            revert RegistryArtifactMissing(
                artifact, "run `cargo xtask forge -- build` (it builds the registry sources into build/)"
            );
        }
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
    ) private returns (IPancakeV2Pair pair) {
        // A broadcast transaction lands in a later block than the simulation saw, so the deadline
        // must leave room; an hour is plenty for a local chain.
        uint256 deadline = block.timestamp + 1 hours;
        env.pancakeRouter
            .addLiquidity(tokenA, tokenB, amountA, amountB, amountA, amountB, env.admin, deadline);
        pair = IPancakeV2Pair(env.pancakeFactory.getPair(tokenA, tokenB));
    }
}
