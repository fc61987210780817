// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "../interfaces/IERC20.sol";
import {IPancakePair, IPancakeRouter02, IPancakeCallee} from "../interfaces/IPancake.sol";
import {IAsterDiamond} from "../interfaces/IAster.sol";
import {AggregatorV3Interface} from "../interfaces/IChainlink.sol";
import {ShareToken} from "./ShareToken.sol";
import {TwapOracle} from "./TwapOracle.sol";
import {VaultMath} from "./VaultMath.sol";
import {
    Config,
    CyclePath,
    CycleRecord,
    Legs,
    Regime,
    RiskMode,
    VaultAddresses,
    Weights
} from "./VaultTypes.sol";
import {VaultCore} from "./VaultCore.sol";
import {CycleModule} from "./CycleModule.sol";

/// @title YieldVault
/// @notice A self-driving USDT vault on BNB Chain: Pancake BTCB/USDT liquidity hedged with an
/// Aster BTC short, Aster ALP, and an idle USDT buffer. ERC-4626 shares; a permissionless,
/// rate-limited `cycle()` observes a TWAP oracle, decides the risk mode, rebalances, re-hedges,
/// deleverages with a flash swap in STORM, funds the withdrawal queue and pays its caller.
/// @dev Only the interfaces of the real BSC contracts are used, so that the same bytecode runs
/// against local replicas and against a BSC fork.
contract YieldVault is VaultCore, ShareToken, IPancakeCallee {
    using VaultMath for uint256;

    error ModuleMismatch();
    error AmountTooLarge(uint256 amount);

    /// @notice The keeper logic, run by delegatecall (see CycleModule).
    address public immutable cycleModule;

    constructor(VaultAddresses memory a, Config memory cfg, address module)
        ShareToken("Chaos Yield Vault USDT", "cyvUSDT")
        VaultCore(a)
    {
        _validate(a, cfg);
        if (module == address(0) || CycleModule(module).binding() != keccak256(abi.encode(a))) {
            revert ModuleMismatch();
        }
        cycleModule = module;
        _cfg = cfg;
        _oracle = new TwapOracle(
            IPancakePair(a.lpPair), a.btcb, cfg.twapWindow, cfg.maxTwapAge, cfg.calmVolBps, cfg.stormVolBps
        );
    }

    function _validate(VaultAddresses memory a, Config memory c) private view {
        if (
            a.usdt == address(0) || a.btcb == address(0) || a.lpPair == address(0)
                || a.flashPair == address(0) || a.router == address(0) || a.aster == address(0)
                || a.alpToken == address(0) || a.bnbUsdFeed == address(0) || a.hedgePairBase == address(0)
        ) revert ZeroAddress();
        // The flash pair must be a different pair (the LP pair is locked during its own swap)
        // that holds USDT; the LP pair must be BTCB/USDT.
        if (a.flashPair == a.lpPair) revert PairMismatch();
        address l0 = IPancakePair(a.lpPair).token0();
        address l1 = IPancakePair(a.lpPair).token1();
        if (!((l0 == a.btcb && l1 == a.usdt) || (l0 == a.usdt && l1 == a.btcb))) revert PairMismatch();
        if (IPancakePair(a.flashPair).token0() != a.usdt && IPancakePair(a.flashPair).token1() != a.usdt) {
            revert PairMismatch();
        }
        if (c.minCycleInterval == 0) revert InvalidInterval("minCycleInterval");
        if (c.twapWindow < 4) revert InvalidInterval("twapWindow");
        if (c.maxTwapAge < c.twapWindow * 2) revert InvalidInterval("maxTwapAge");
        if (c.maxOracleAge == 0) revert InvalidInterval("maxOracleAge");
        if (c.pendingHedgeTimeout == 0) revert InvalidInterval("pendingHedgeTimeout");
        if (c.rebalanceThresholdBps == 0 || c.rebalanceThresholdBps > BPS) {
            revert InvalidBps("rebalanceThresholdBps");
        }
        if (c.deltaBandBps == 0 || c.deltaBandBps > BPS) revert InvalidBps("deltaBandBps");
        if (c.maxDeviationBps == 0 || c.maxDeviationBps > BPS) revert InvalidBps("maxDeviationBps");
        // A cycle may cost up to its bounty plus its slippage; that must not look like a NAV drop.
        if (c.maxNavDropBps <= c.maxBountyBps || c.maxNavDropBps > BPS) revert InvalidBps("maxNavDropBps");
        if (c.safeCycleThreshold == 0) revert InvalidParameter("safeCycleThreshold");
        if (c.calmVolBps >= c.stormVolBps) revert InvalidBps("calmVolBps");
        if (c.flashCapBps == 0 || c.flashCapBps > BPS) revert InvalidBps("flashCapBps");
        if (c.minFlashStepBps > BPS) revert InvalidBps("minFlashStepBps");
        // Slippage must leave room for Pancake's fee inside the flash repayment (see CycleModule._flashDeleverage).
        if (c.swapSlippageBps == 0 || c.swapSlippageBps > 1000) revert InvalidBps("swapSlippageBps");
        if (c.maxBountyBps > 500) revert InvalidBps("maxBountyBps");
        if (c.profitBountyBps > BPS) revert InvalidBps("profitBountyBps");
        if (c.maxGasPrice == 0) revert InvalidParameter("maxGasPrice");
        if (c.bountyGasUnits == 0) revert InvalidParameter("bountyGasUnits");
        if (c.bufferTargetBps > BPS) revert InvalidBps("bufferTargetBps");
        if (c.hedgeLeverage == 0 || c.hedgeLeverage > 50) revert InvalidParameter("hedgeLeverage");
        _validateWeights(c.calm, c.bufferTargetBps, Regime.CALM);
        _validateWeights(c.normal, c.bufferTargetBps, Regime.NORMAL);
        _validateWeights(c.storm, c.bufferTargetBps, Regime.STORM);
    }

    function _validateWeights(Weights memory w, uint16 bufferTarget, Regime r) private pure {
        if (uint256(w.lpBps) + w.alpBps + w.bufferBps != BPS || w.bufferBps < bufferTarget) {
            revert InvalidWeights(r);
        }
    }

    // ========================================================================================
    // ERC-4626
    // ========================================================================================

    function decimals() public pure override returns (uint8) {
        return 18 + DECIMALS_OFFSET;
    }

    function asset() external view returns (address) {
        return address(_usdt);
    }

    /// @notice NAV: every leg at manipulation-resistant prices, net of what claims are owed.
    function totalAssets() public view returns (uint256) {
        return _legs(_oracle.price()).nav;
    }

    function convertToShares(uint256 assets) public view returns (uint256) {
        return _toShares(assets, totalAssets(), false);
    }

    function convertToAssets(uint256 shares) public view returns (uint256) {
        return _toAssets(shares, totalAssets(), false);
    }

    /// @notice 0 in ONLY_UNWIND: deposits are paused while the vault may only reduce risk.
    function maxDeposit(address) public view returns (uint256) {
        return _riskMode == RiskMode.ONLY_UNWIND ? 0 : type(uint256).max;
    }

    function maxMint(address) public view returns (uint256) {
        return _riskMode == RiskMode.ONLY_UNWIND ? 0 : type(uint256).max;
    }

    /// @notice The owner's pro-rata share of the liquid buffer, paid at NAV, in every mode.
    /// The rest of a position exits through `requestRedeem`.
    function maxWithdraw(address owner) public view returns (uint256) {
        uint256 supply = _totalSupply;
        if (supply == 0) return 0;
        Legs memory l = _legs(_oracle.price());
        uint256 liquidShare = l.buffer.mulDiv(_balances[owner], supply);
        uint256 value = _toAssets(_balances[owner], l.nav, false);
        return liquidShare < value ? liquidShare : value;
    }

    function maxRedeem(address owner) public view returns (uint256) {
        uint256 shares = _toShares(maxWithdraw(owner), totalAssets(), false);
        uint256 bal = _balances[owner];
        return shares < bal ? shares : bal;
    }

    /// @notice Rounds down: the depositor never gets more shares than its assets are worth.
    function previewDeposit(uint256 assets) public view returns (uint256) {
        return _toShares(assets, totalAssets(), false);
    }

    /// @notice Rounds up: minting costs at least what the shares are worth.
    function previewMint(uint256 shares) public view returns (uint256) {
        return _toAssets(shares, totalAssets(), true);
    }

    /// @notice Rounds up: a withdrawal burns at least the shares the assets are worth.
    function previewWithdraw(uint256 assets) public view returns (uint256) {
        return _toShares(assets, totalAssets(), true);
    }

    /// @notice Rounds down: a redemption pays at most what the shares are worth.
    function previewRedeem(uint256 shares) public view returns (uint256) {
        return _toAssets(shares, totalAssets(), false);
    }

    function deposit(uint256 assets, address receiver) external nonReentrant returns (uint256 shares) {
        uint256 navNow = _navForDeposit();
        shares = _toShares(assets, navNow, false);
        if (shares == 0) revert ZeroShares();
        _pull(assets);
        // an ERC-20 amount is far below 2**255.
        // forge-lint: disable-next-line(unsafe-typecast)
        _userFlows += int256(assets);
        _mint(receiver, shares);
        emit Deposit(msg.sender, receiver, assets, shares);
    }

    function mint(uint256 shares, address receiver) external nonReentrant returns (uint256 assets) {
        uint256 navNow = _navForDeposit();
        assets = _toAssets(shares, navNow, true);
        if (assets == 0) revert ZeroAssets();
        _pull(assets);
        // an ERC-20 amount is far below 2**255.
        // forge-lint: disable-next-line(unsafe-typecast)
        _userFlows += int256(assets);
        _mint(receiver, shares);
        emit Deposit(msg.sender, receiver, assets, shares);
    }

    function withdraw(uint256 assets, address receiver, address owner)
        external
        nonReentrant
        returns (uint256 shares)
    {
        uint256 max = maxWithdraw(owner);
        if (assets > max) revert ExceedsMaxWithdraw(assets, max);
        shares = previewWithdraw(assets);
        _exit(owner, receiver, assets, shares);
    }

    function redeem(uint256 shares, address receiver, address owner)
        external
        nonReentrant
        returns (uint256 assets)
    {
        uint256 max = maxRedeem(owner);
        if (shares > max) revert ExceedsMaxRedeem(shares, max);
        assets = previewRedeem(shares);
        if (assets == 0) revert ZeroAssets();
        _exit(owner, receiver, assets, shares);
    }

    // ========================================================================================
    // Withdrawal queue (ERC-7540 style: shares burnt now, the illiquid part claimed later)
    // ========================================================================================

    /// @notice Exits `shares` completely: the pro-rata liquid buffer is paid at once; the
    /// pro-rata LP and hedge value (in USDT at the TWAP) and ALP (in ALP units, so the claimant
    /// keeps ALP's price risk until the burn) are owed through a claim that the next cycle after
    /// ALP's cooldown funds.
    function requestRedeem(uint256 shares, address receiver, address owner)
        external
        nonReentrant
        returns (uint256 assetsNow, uint256 claimId)
    {
        if (shares == 0) revert ZeroShares();
        uint256 supply = _totalSupply;
        Legs memory l = _legs(_oracle.price());
        if (msg.sender != owner) _spendAllowance(owner, msg.sender, shares);
        _burn(owner, shares);
        assetsNow = l.buffer.mulDiv(shares, supply);
        uint256 illiquid = l.nav - l.buffer - l.alp;
        uint256 usdtPart = illiquid.mulDiv(shares, supply);
        uint256 alpPart = _alpFree().mulDiv(shares, supply);
        uint256 epoch = _currentEpoch;
        claimId = _nextClaimId++;
        if (usdtPart != 0 || alpPart != 0) {
            Epoch storage e = _epochs[epoch];
            uint128 u = _u128(usdtPart);
            uint128 a = _u128(alpPart);
            e.usdtOwed += u;
            e.alpOwed += a;
            // one epoch per funded cycle: 2**64 epochs is beyond any chain's lifetime.
            // forge-lint: disable-next-line(unsafe-typecast)
            _claims[claimId] = Claim(receiver, uint64(epoch), u, a);
        }
        // an ERC-20 amount is far below 2**255.
        // forge-lint: disable-next-line(unsafe-typecast)
        _userFlows -= int256(assetsNow);
        if (assetsNow != 0) _push(receiver, assetsNow);
        emit RedeemRequested(claimId, owner, receiver, epoch, shares, assetsNow, usdtPart, alpPart);
    }

    /// @notice Pays a funded claim to its receiver (anyone may trigger it).
    function claim(uint256 claimId) external nonReentrant returns (uint256 assets) {
        Claim memory c = _claims[claimId];
        if (c.receiver == address(0)) revert UnknownClaim(claimId);
        Epoch memory e = _epochs[c.epoch];
        if (!e.funded) revert ClaimNotFunded(claimId);
        assets = c.usdt;
        if (e.alpOwed != 0) assets += uint256(c.alp).mulDiv(e.alpProceeds, e.alpOwed);
        delete _claims[claimId];
        _reservedUsdt -= assets;
        // an ERC-20 amount is far below 2**255.
        // forge-lint: disable-next-line(unsafe-typecast)
        _userFlows -= int256(assets);
        _push(c.receiver, assets);
        emit Claimed(claimId, c.receiver, assets);
    }

    function epochs(uint256 epoch) external view returns (Epoch memory) {
        return _epochs[epoch];
    }

    function claims(uint256 claimId) external view returns (Claim memory) {
        return _claims[claimId];
    }

    /// @notice What a claim pays once funded (0 while its epoch is unfunded).
    function claimable(uint256 claimId) external view returns (uint256) {
        Claim memory c = _claims[claimId];
        Epoch memory e = _epochs[c.epoch];
        if (c.receiver == address(0) || !e.funded) return 0;
        return c.usdt + (e.alpOwed == 0 ? 0 : uint256(c.alp).mulDiv(e.alpProceeds, e.alpOwed));
    }

    // ========================================================================================
    // cycle() and the flash callback: run in CycleModule by delegatecall
    // ========================================================================================

    /// @notice The keeper entry point, permissionless and rate-limited (docs/design.md, the five
    /// steps of "What cycle() does"):
    /// observe the oracle, evaluate risk, rebalance and re-hedge (NORMAL), deleverage with a
    /// flash swap (STORM), only reduce risk (ONLY_UNWIND), fund claims, pay the caller.
    function cycle() external nonReentrant returns (CyclePath path, uint256 bounty) {
        bytes memory ret = _delegate();
        (path, bounty) = abi.decode(ret, (CyclePath, uint256));
    }

    /// @notice Pancake flash-swap callback; the checks (caller is the flash pair, sender is this
    /// vault, a flash is active) are in CycleModule.pancakeCall.
    function pancakeCall(address, uint256, uint256, bytes calldata) external {
        _delegate();
    }

    /// @dev Delegates the current calldata to the module and bubbles its revert data verbatim,
    /// so typed errors such as HedgeCloseFailed reach the caller unchanged.
    function _delegate() private returns (bytes memory ret) {
        bool ok;
        (ok, ret) = cycleModule.delegatecall(msg.data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    /// @dev Deposits need NORMAL mode and a usable price whenever priced legs exist (a zero
    /// price would undervalue them and hand the depositor other holders' value).
    function _navForDeposit() private view returns (uint256) {
        if (_riskMode == RiskMode.ONLY_UNWIND) revert DepositsPaused();
        uint256 price = _oracle.price();
        if (price == 0 && (_lpPair.balanceOf(address(this)) != 0 || _btcb.balanceOf(address(this)) != 0)) {
            revert OracleUnavailable();
        }
        return _legs(price).nav;
    }

    // ========================================================================================
    // Views for the chaos layer (S1-S8)
    // ========================================================================================

    function usdt() external view returns (IERC20) {
        return _usdt;
    }

    function btcb() external view returns (IERC20) {
        return _btcb;
    }

    /// @notice The Pancake BTCB/USDT pair: the LP leg and the TWAP source.
    function lpPair() external view returns (IPancakePair) {
        return _lpPair;
    }

    /// @notice The different Pancake pair STORM flash borrows come from.
    function flashPair() external view returns (IPancakePair) {
        return _flashPair;
    }

    function router() external view returns (IPancakeRouter02) {
        return _router;
    }

    function aster() external view returns (IAsterDiamond) {
        return _aster;
    }

    function bnbUsdFeed() external view returns (AggregatorV3Interface) {
        return _bnbUsdFeed;
    }

    function hedgePairBase() external view returns (address) {
        return _hedgePairBase;
    }

    /// @notice NORMAL, or ONLY_UNWIND (deposits paused, risk may only go down).
    function riskMode() external view returns (RiskMode) {
        return _riskMode;
    }

    /// @notice Consecutive healthy cycles (reset by any unhealthy or unreadable signal).
    function healthyCycleCount() external view returns (uint256) {
        return _healthyCount;
    }

    /// @notice The TWAP oracle this vault created and alone writes.
    function oracle() external view returns (TwapOracle) {
        return _oracle;
    }

    /// @notice USDT held for funded, unclaimed withdrawal claims (not vault assets).
    function reservedUsdt() external view returns (uint256) {
        return _reservedUsdt;
    }

    function currentEpoch() external view returns (uint256) {
        return _currentEpoch;
    }

    function nextClaimId() external view returns (uint256) {
        return _nextClaimId;
    }

    function nav() external view returns (uint256) {
        return totalAssets();
    }

    /// @notice USDT (18 decimals) per whole share (10**decimals() units).
    function sharePrice() external view returns (uint256) {
        return convertToAssets(ONE_SHARE);
    }

    /// @notice bountyGasUnits * min(tx.gasprice, maxGasPrice) in USD (18 decimals); 0 when the
    /// BNB/USD feed is stale, zero, negative or unreadable.
    function gasRefundUsd() external view returns (uint256) {
        return _gasRefundUsd();
    }

    /// @notice Chainlink BNB/USD with 18 decimals, or 0 when it cannot be trusted right now.
    function bnbUsdPrice() external view returns (uint256) {
        return _bnbUsdPrice();
    }

    function getConfig() external view returns (Config memory) {
        return _cfg;
    }

    function lastCycle() external view returns (CycleRecord memory) {
        return _last;
    }

    /// @notice The legs at the oracle's price (see Legs).
    function legs() external view returns (Legs memory) {
        return _legs(_oracle.price());
    }

    /// @notice Net delta of LP BTCB minus the short (pending counted once), in bps of NAV.
    function hedgeDeltaBps() external view returns (int256) {
        Legs memory l = _legs(_oracle.price());
        if (l.nav == 0) return 0;
        int256 net = int256(l.btcExposure / 1e8) - int256(l.hedgeQty);
        // BTCB qty, a price and NAV are far below 2**255.
        // forge-lint: disable-next-line(unsafe-typecast)
        return net * int256(l.price / 1e10) * int256(BPS) / int256(l.nav);
    }

    /// @notice Hedge trades sent and not executed yet (what Aster executed since is deducted),
    /// counted once in legs() and hedgeDeltaBps().
    function pendingHedge() external view returns (bool pending, uint256 qty, uint256 margin, uint256 since) {
        PendingHedge memory p = _pending;
        (,, uint256 executed) = _positions(0);
        (qty, margin) = _outstanding(p, executed);
        // Refunded by Aster and not synced by a cycle yet: nothing is pending (as in legs()).
        if (qty != 0 && _refunded(p)) (qty, margin) = (0, 0);
        return (qty != 0, qty, margin, p.since);
    }

    /// @notice Must read (false, 0, 0) outside a cycle: no flash debt or borrowed USDT survives.
    function flashState()
        external
        view
        returns (bool active, uint256 borrowed, uint256 usdtAllowanceToFlashPair)
    {
        return (_flashActive, _flashBorrowed, _usdt.allowance(address(this), address(_flashPair)));
    }

    /// @notice Free USDT (the buffer minus what unfunded claims are owed).
    function liquidAssets() external view returns (uint256) {
        return _freeBuffer();
    }

    /// @notice Totals of the withdrawal queue.
    function claimQueue()
        external
        view
        returns (uint256 epoch, uint256 usdtOwed, uint256 alpOwed, uint256 reserved)
    {
        Epoch memory e = _epochs[_currentEpoch];
        return (_currentEpoch, e.usdtOwed, e.alpOwed, _reservedUsdt);
    }

    /// @notice keccak of every piece of state that a reverted cycle must leave unchanged: all
    /// vault storage that is not a mapping entry of a past epoch or claim, the balances the
    /// vault holds, and the oracle's storage.
    function stateDigest() external view returns (bytes32) {
        bytes32 config = keccak256(abi.encode(_cfg));
        bytes32 cycleState =
            keccak256(abi.encode(_riskMode, _healthyCount, _last, _pending, _usdtAtCycleEnd, _userFlows));
        bytes32 books = keccak256(
            abi.encode(
                _flashActive,
                _flashBorrowed,
                _reservedUsdt,
                _currentEpoch,
                _nextClaimId,
                _epochs[_currentEpoch],
                _totalSupply
            )
        );
        bytes32 balances = keccak256(
            abi.encode(
                _usdt.balanceOf(address(this)),
                _btcb.balanceOf(address(this)),
                _lpPair.balanceOf(address(this)),
                alp.balanceOf(address(this))
            )
        );
        return keccak256(abi.encode(config, cycleState, books, balances, _oracle.digest()));
    }

    // ========================================================================================
    // Token plumbing
    // ========================================================================================

    function _exit(address owner, address receiver, uint256 assets, uint256 shares) private {
        if (msg.sender != owner) _spendAllowance(owner, msg.sender, shares);
        _burn(owner, shares);
        // an ERC-20 amount is far below 2**255.
        // forge-lint: disable-next-line(unsafe-typecast)
        _userFlows -= int256(assets);
        _push(receiver, assets);
        emit Withdraw(msg.sender, receiver, owner, assets, shares);
    }

    /// @dev Checked narrowing for the claim book (reverts instead of truncating).
    function _u128(uint256 x) private pure returns (uint128) {
        if (x > type(uint128).max) revert AmountTooLarge(x);
        // checked on the line above.
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint128(x);
    }

    function _pull(uint256 amount) private {
        _call(address(_usdt), abi.encodeCall(IERC20.transferFrom, (msg.sender, address(this), amount)));
    }
}
