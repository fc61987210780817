// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReplicaFixture} from "./ReplicaFixture.sol";
import {LocalEnvironment} from "../../script/lib/LocalEnvironment.sol";
import {IPancakeV2Pair} from "../../contracts/replicas/pancake/IPancakeV2.sol";

/// @notice What either local environment holds after `deploy`: the same market on the
/// hand-written replicas and on the registry-built PancakeSwap V2 and Chainlink proxies.
abstract contract LocalEnvironmentSuite is ReplicaFixture {
    /// @dev Price of `base` in `quote` (whole units) from a pair's reserves.
    function _price(IPancakeV2Pair pair, address base) internal view returns (uint256) {
        (uint112 r0, uint112 r1,) = pair.getReserves();
        return pair.token0() == base ? uint256(r1) / r0 : uint256(r0) / r1;
    }

    function test_env_lpPairIsBtcbUsdtAtNinetyThousand() public view {
        assertEq(env.pancakeFactory.getPair(address(env.btcb), address(env.usdt)), address(env.lpPair));
        assertEq(_price(env.lpPair, address(env.btcb)), 90_000);
        assertEq(env.usdt.balanceOf(address(env.lpPair)), 9_000_000e18);
    }

    function test_env_flashPairIsADifferentUsdtPairAtNineHundred() public view {
        assertEq(env.pancakeFactory.getPair(address(env.wbnb), address(env.usdt)), address(env.flashPair));
        assertTrue(address(env.flashPair) != address(env.lpPair));
        assertEq(_price(env.flashPair, address(env.wbnb)), 900);
        assertEq(env.usdt.balanceOf(address(env.flashPair)), 2_700_000e18);
    }

    function test_env_crossPairPricesBtcbAtOneHundredBnb() public view {
        assertEq(_price(env.btcbWbnbPair, address(env.btcb)), 100);
    }

    function test_env_asterHasAlpLiquidityAndMarkPrices() public view {
        assertEq(env.asterDiamond.poolBalance(), 5_000_000e18);
        assertEq(env.alp.balanceOf(env.admin), 5_000_000e18);
        assertEq(env.asterDiamond.alpPrice(), 1e8);
        assertEq(env.asterDiamond.markPrice(address(env.btcb)), 90_000e8);
        assertEq(env.asterDiamond.markPrice(address(env.wbnb)), 900e8);
        assertEq(env.asterDiamond.coolingDuration(), 48 hours);
    }

    function test_env_feedsAgreeWithThePools() public view {
        (, int256 bnb,,,) = env.bnbUsdFeed.latestRoundData();
        (, int256 btc,,,) = env.btcUsdFeed.latestRoundData();
        assertEq(bnb, int256(_price(env.flashPair, address(env.wbnb)) * 1e8));
        assertEq(btc, int256(_price(env.lpPair, address(env.btcb)) * 1e8));
        (, int256 readBnb,,,) = IFeedRead(LocalEnvironment.readBnbUsd(env)).latestRoundData();
        (, int256 readBtc,,,) = IFeedRead(LocalEnvironment.readBtcUsd(env)).latestRoundData();
        assertEq(readBnb, bnb);
        assertEq(readBtc, btc);
    }

    function test_env_adminHoldsTheLpTokensAndAllRoles() public view {
        assertEq(env.admin, address(this));
        assertGt(env.lpPair.balanceOf(address(this)), 0);
        assertEq(env.usdt.owner(), address(this));
        assertEq(env.pancakeFactory.feeToSetter(), address(this));
        assertEq(env.asterDiamond.admin(), address(this));
        assertEq(env.bnbUsdFeed.admin(), address(this));
    }
}

interface IFeedRead {
    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80);
}

/// @notice Chainlink's proxy as far as the local environment uses it (EACAggregatorProxy).
interface IEacProxy {
    function aggregator() external view returns (address);
    function phaseId() external view returns (uint16);
    function owner() external view returns (address);
    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80);
}

contract LocalEnvironmentHandTest is LocalEnvironmentSuite {
    function test_env_hand_consumersReadTheAggregatorsDirectly() public view {
        assertEq(uint256(env.replicas), uint256(LocalEnvironment.Replicas.HAND));
        assertEq(address(env.bnbUsdProxy), address(0));
        assertEq(LocalEnvironment.readBnbUsd(env), address(env.bnbUsdFeed));
        assertEq(LocalEnvironment.readBtcUsd(env), address(env.btcUsdFeed));
    }
}

contract LocalEnvironmentRealTest is LocalEnvironmentSuite {
    function _config() internal pure override returns (LocalEnvironment.Config memory) {
        return LocalEnvironment.defaultConfig();
    }

    /// The factory, router and pairs run the registry-built code, and the factory's pairs are
    /// exactly the pair artifact that the router's init-code hash was computed from.
    function test_env_real_pancakeIsTheRegistryBuild() public view {
        assertEq(uint256(env.replicas), uint256(LocalEnvironment.Replicas.REAL));
        bytes memory pairCreation = vm.getCode(LocalEnvironment.PANCAKE_PAIR_ARTIFACT);
        assertEq(env.pancakeFactory.INIT_CODE_PAIR_HASH(), keccak256(pairCreation));
        bytes32 runtime = keccak256(vm.getDeployedCode(LocalEnvironment.PANCAKE_PAIR_ARTIFACT));
        assertEq(keccak256(address(env.lpPair).code), runtime, "lpPair");
        assertEq(keccak256(address(env.flashPair).code), runtime, "flashPair");
        assertEq(keccak256(address(env.btcbWbnbPair).code), runtime, "btcbWbnbPair");
        assertEq(
            keccak256(address(env.pancakeFactory).code),
            keccak256(vm.getDeployedCode(LocalEnvironment.PANCAKE_FACTORY_ARTIFACT))
        );
        // The router has immutables (factory, WETH): compare it with the artifact minus them.
        assertGt(address(env.pancakeRouter).code.length, 0);
        assertEq(env.pancakeRouter.factory(), address(env.pancakeFactory));
        assertEq(env.pancakeRouter.WETH(), address(env.wbnb));
    }

    /// The router finds the pairs with the CREATE2 formula and the patched init-code hash: a
    /// router bound to another hash would compute other addresses and every quote would revert.
    function test_env_real_routerIsBoundToThePairInitCodeHash() public view {
        address[] memory path = new address[](2);
        path[0] = address(env.usdt);
        path[1] = address(env.btcb);
        uint256[] memory amounts = env.pancakeRouter.getAmountsOut(1000e18, path);
        (uint112 r0, uint112 r1,) = env.lpPair.getReserves();
        (uint256 rIn, uint256 rOut) = env.lpPair.token0() == address(env.usdt) ? (r0, r1) : (r1, r0);
        assertEq(amounts[1], 1000e18 * 9975 * rOut / (rIn * 10_000 + 1000e18 * 9975));
        (address t0, address t1) = address(env.usdt) < address(env.btcb)
            ? (address(env.usdt), address(env.btcb))
            : (address(env.btcb), address(env.usdt));
        assertEq(
            vm.computeCreate2Address(
                keccak256(abi.encodePacked(t0, t1)),
                env.pancakeFactory.INIT_CODE_PAIR_HASH(),
                address(env.pancakeFactory)
            ),
            address(env.lpPair)
        );
    }

    /// Each feed is Chainlink's EACAggregatorProxy in phase 1 in front of its aggregator: round
    /// ids carry the phase in their top bits, as on BSC.
    function test_env_real_feedsAreChainlinkProxiesWithPhaseEncodedRounds() public view {
        IEacProxy proxy = IEacProxy(address(env.bnbUsdProxy));
        assertEq(proxy.aggregator(), address(env.bnbUsdFeed));
        assertEq(proxy.phaseId(), 1);
        assertEq(proxy.owner(), address(this));
        (uint80 id,,,, uint80 answeredIn) = proxy.latestRoundData();
        (uint80 aggregatorId,,,,) = env.bnbUsdFeed.latestRoundData();
        assertEq(id, (uint80(1) << 64) | aggregatorId);
        assertEq(answeredIn, id);
        assertEq(
            keccak256(address(proxy).code),
            keccak256(vm.getDeployedCode(LocalEnvironment.CHAINLINK_PROXY_ARTIFACT))
        );
        assertEq(IEacProxy(address(env.btcUsdProxy)).aggregator(), address(env.btcUsdFeed));
    }
}
