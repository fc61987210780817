// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEIP20} from "../tokens/IEIP20.sol";
import {IAsterAlpManager, IAsterBook, IAsterTradingPortal, IAsterTradingReader} from "./IAsterFacets.sol";
import {IAsterReplica} from "./IAsterReplica.sol";
import {AlpToken} from "./AlpToken.sol";

/// @title AsterDiamondReplica
/// @notice A single-contract stand-in for the Aster (formerly ApolloX) diamond on BSC
/// (0x1b6F2d3844C6ae7D56ceb3C3643b9060ba28FEb0) with the facet signatures the vault calls, and
/// the behaviour that matters to it:
/// - ALP is minted with USDT at `alpPrice()` (8 decimals) and burnt back to USDT; a burn before
///   `lastMintedTimestamp[account] + coolingDuration` reverts (48 hours by default);
/// - `openMarketTrade` only records a *pending* trade and takes the margin; a keeper later
///   executes it at its mark price, or refunds it as Aster's TradingCheckerFacet does: when the
///   mark is worse than the trader's `price` (a long above it, a short below it; `price` is the
///   worst acceptable price, there is no "no limit" value) or when more than
///   `feedDelayBlocks` (Aster: FEED_DELAY_BLOCK = 100) blocks passed since submission. The
///   pending trade keeps its hash when it becomes a position, as on Aster;
/// - `closeTrade` settles at once at the mark price and pays margin + PnL - close fee in USDT;
/// - `getPositionsV2` lists open positions (never pending trades), prices 8 and qty 10 decimals.
/// Where Aster reverts with a string the replica uses the same string ("LibAlpManager: Cooling
/// duration not yet passed", "TradingPortalFacet: Can only be updated by yourself", ...), so a
/// scenario that matches on a revert reason behaves alike on the replica and on forked BSC.
/// @dev Choices where the real protocol differs or is unknown here, stated so nobody mistakes
/// them for mainnet facts:
/// - Only USDT is accepted for ALP and as margin, valued at exactly 1 USD. USDT and ALP both
///   have 18 decimals: alpOut = netUsdt * 1e8 / alpPrice and usdtOut = alp * alpPrice / 1e8.
/// - `alpPrice` is set by the keeper (the local market history drifts it); it is not derived
///   from the pool, so the pool stays solvent by accounting instead: ALP burns and trader
///   profits are paid only from `poolBalance` (USDT backing ALP, which also earns all fees and
///   trader losses) and revert with `InsufficientPoolLiquidity` when it cannot pay.
/// - `mintAlp(..., stake = true)` reverts (`StakeNotSupported`): the replica has no ALP staking,
///   and silently ignoring the flag would hide a difference from BSC.
/// - `closeTrade` settles synchronously. On Aster it requests a price and a keeper closes in the
///   price callback; a vault must not rely on either, since it sees the payout in the same
///   transaction here and later there. Losses are capped at the margin (no negative payout, no
///   liquidation engine); stop loss and take profit are recorded and reported but not
///   triggered; holding and execution fees are zero; the checks at submission are only
///   listing, token, amounts and `maxLeverage` (Aster also checks notional limits, open
///   interest, take profit).
/// - Funding accrues per pair at a keeper-set rate (`setFundingRate`, default 0): per second,
///   a long pays `rate` x its notional at the mark in force (1e18 = all of it) and a short
///   receives as much; a negative rate reverses the flow. The pair keeps the funding one unit of
///   qty has paid since listing (settled whenever the rate or the mark changes); a position's
///   `fundingFee` is what it has paid since it opened (negative: received), reported by
///   `getPositionsV2` and settled by `closeTrade` (a payment goes to the pool, a receipt comes
///   from it). Aster's own funding formula (from open interest imbalance) is not reproduced.
/// - Trade hashes are keccak256(abi.encode(user, input, salt, "trade", block.number,
///   block.timestamp)), the same ingredients as Aster's, so two identical trades differ.
contract AsterDiamondReplica is IAsterReplica {
    error NotAdmin(address caller);
    error NotKeeper(address caller);
    // Replica-only conditions (Aster's own conditions revert with Aster's strings, below).
    error ZeroAmount();
    error UnsupportedToken(address token);
    error StakeNotSupported();
    error InsufficientPoolLiquidity(uint256 needed, uint256 available);
    error PairNotListed(address pairBase);
    error InvalidPrice();
    error InvalidQty();
    error LeverageTooHigh(uint256 notional, uint256 margin, uint256 maxLeverage);
    error UnknownPendingTrade(bytes32 tradeHash);
    error FeeTooHigh(uint16 bps);

    // Aster's revert strings (AlpManagerFacet, LibAlpManager, TradingPortalFacet).
    string internal constant ERR_INVALID_AMOUNT = "AlpManagerFacet: invalid amount";
    string internal constant ERR_INVALID_ALP_AMOUNT = "AlpManagerFacet: invalid alpAmount";
    string internal constant ERR_ALP_OUTPUT = "AlpManagerFacet: insufficient ALP output";
    string internal constant ERR_TOKEN_OUTPUT = "AlpManagerFacet: insufficient token output";
    string internal constant ERR_TOKEN_MISSING = "LibAlpManager: Token does not exist";
    string internal constant ERR_COOLING = "LibAlpManager: Cooling duration not yet passed";
    string internal constant ERR_TOKEN_OUT_BALANCE = "LibAlpManager: tokenOut balance is insufficient";
    string internal constant ERR_NO_TRADE = "TradingPortalFacet: Trade information does not exist";
    string internal constant ERR_NOT_OWNER = "TradingPortalFacet: Can only be updated by yourself";

    /// @dev qty has 10 decimals and prices 8, so qty * price is in 1e-18 USD: USDT wei.
    uint256 private constant ALP_PRICE_ONE = 1e8;
    uint256 private constant BPS = 10_000;

    struct OpenPosition {
        address user;
        address pairBase;
        bool isLong;
        uint96 margin;
        uint80 qty;
        uint64 entryPrice;
        uint64 stopLoss;
        uint64 takeProfit;
        uint96 openFee;
        uint32 timestamp;
        /// @dev The pair's funding per unit of qty (1e18-scaled USDT wei) when it opened.
        int256 fundingAtOpen;
    }

    struct PairInfo {
        string name;
        uint64 markPrice;
        bool listed;
        /// @dev Share of a long's notional it pays per second (1e18 = all); shorts receive it.
        int256 fundingRate;
        /// @dev Funding one unit of long qty has paid since listing, 1e18-scaled USDT wei,
        /// settled at `fundingUpdatedAt`.
        int256 fundingPerQty;
        uint64 fundingUpdatedAt;
    }

    address public immutable usdt;
    address public immutable alp;
    address public admin;
    mapping(address account => bool) public isKeeper;

    uint256 public alpPrice;
    uint256 public coolingDuration = 48 hours;
    mapping(address account => uint256) public lastMintedTimestamp;
    /// @notice USDT owned by ALP holders: deposits, fees and trader losses in; burns and trader
    /// profits out. Margins of pending and open trades are held apart from it.
    uint256 public poolBalance;

    uint16 public mintFeeBps;
    uint16 public burnFeeBps;
    uint16 public openFeeBps = 8; // 0.08% of notional
    uint16 public closeFeeBps = 8;
    uint256 public maxLeverage = 100;
    /// @notice A pending trade executed more than this many blocks after submission is refunded
    /// (Aster's FEED_DELAY_BLOCK); 0 disables the check.
    uint256 public feedDelayBlocks = 100;

    mapping(address pairBase => PairInfo) private pairs;

    uint256 private salt;
    mapping(bytes32 tradeHash => PendingTrade) private pendings;
    bytes32[] private pendingList; // FIFO order of submission, swap-and-pop on removal
    mapping(bytes32 tradeHash => uint256) private pendingIndexPlusOne;

    mapping(bytes32 tradeHash => OpenPosition) private positions;
    mapping(address user => bytes32[]) private userPositions;
    mapping(bytes32 tradeHash => uint256) private positionIndexPlusOne;

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        _;
    }

    modifier onlyKeeper() {
        if (!isKeeper[msg.sender] && msg.sender != admin) revert NotKeeper(msg.sender);
        _;
    }

    /// @param usdt_ the only pool and margin token.
    /// @param admin_ admin and first keeper (the deployer of the local chain).
    /// @param alpPrice_ initial ALP price, 8 decimals.
    constructor(address usdt_, address admin_, uint256 alpPrice_) {
        if (alpPrice_ == 0) revert InvalidPrice();
        usdt = usdt_;
        admin = admin_;
        isKeeper[admin_] = true;
        alpPrice = alpPrice_;
        alp = address(new AlpToken(address(this)));
        emit KeeperSet(admin_, true);
        emit AlpPriceSet(alpPrice_);
    }

    // ------------------------------------------------------------------ ALP (AlpManagerFacet)

    /// @inheritdoc IAsterAlpManager
    function mintAlp(address tokenIn, uint256 amount, uint256 minAlp, bool stake) external {
        require(amount > 0, ERR_INVALID_AMOUNT);
        require(tokenIn == usdt, ERR_TOKEN_MISSING);
        if (stake) revert StakeNotSupported();
        uint256 net = amount - amount * mintFeeBps / BPS;
        uint256 alpOut = net * ALP_PRICE_ONE / alpPrice; // rounds down: against the minter
        require(alpOut >= minAlp, ERR_ALP_OUTPUT);

        _pull(usdt, msg.sender, amount);
        poolBalance += amount; // the mint fee stays with the ALP holders
        lastMintedTimestamp[msg.sender] = block.timestamp;
        AlpToken(alp).mint(msg.sender, alpOut);
        emit MintAlp(msg.sender, tokenIn, amount, alpOut);
    }

    /// @inheritdoc IAsterAlpManager
    /// @dev Reverts with "LibAlpManager: Cooling duration not yet passed" until
    /// `lastMintedTimestamp + coolingDuration`: any mint by the same account restarts the clock
    /// for all of its ALP, as on Aster. The pool check comes before the minimum, as there.
    function burnAlp(address tokenOut, uint256 alpAmount, uint256 minOut, address receiver) external {
        require(alpAmount > 0, ERR_INVALID_ALP_AMOUNT);
        // The cooldown is defined in wall-clock time on Aster too.
        // forge-lint: disable-next-line(block-timestamp)
        require(lastMintedTimestamp[msg.sender] + coolingDuration <= block.timestamp, ERR_COOLING);
        require(tokenOut == usdt, ERR_TOKEN_MISSING);

        uint256 gross = alpAmount * alpPrice / ALP_PRICE_ONE; // rounds down: against the burner
        require(gross <= poolBalance, ERR_TOKEN_OUT_BALANCE);
        uint256 amountOut = gross - gross * burnFeeBps / BPS;
        require(amountOut >= minOut, ERR_TOKEN_OUTPUT);

        AlpToken(alp).burnFrom(msg.sender, alpAmount);
        poolBalance -= amountOut;
        _push(usdt, receiver, amountOut);
        emit BurnAlp(msg.sender, receiver, tokenOut, alpAmount, amountOut);
    }

    // ------------------------------------------------------------ trading (TradingPortalFacet)

    /// @inheritdoc IAsterTradingPortal
    /// @dev Takes `amountIn` USDT now and records a pending trade; nothing is open until a keeper
    /// calls `executePendingTrade`. `price` is the trader's worst acceptable price.
    function openMarketTrade(IAsterBook.OpenDataInput calldata data) external {
        PairInfo storage pair = pairs[data.pairBase];
        if (!pair.listed) revert PairNotListed(data.pairBase);
        if (data.tokenIn != usdt) revert UnsupportedToken(data.tokenIn);
        if (data.amountIn == 0) revert ZeroAmount();
        if (data.qty == 0) revert InvalidQty();
        uint256 notional = uint256(data.qty) * pair.markPrice;
        if (notional > uint256(data.amountIn) * maxLeverage) {
            revert LeverageTooHigh(notional, data.amountIn, maxLeverage);
        }

        _pull(usdt, msg.sender, data.amountIn);
        bytes32 tradeHash =
            keccak256(abi.encode(msg.sender, data, salt++, "trade", block.number, block.timestamp));
        pendings[tradeHash] = PendingTrade({
            user: msg.sender,
            blockNumber: uint64(block.number),
            timestamp: uint32(block.timestamp),
            data: data
        });
        pendingList.push(tradeHash);
        pendingIndexPlusOne[tradeHash] = pendingList.length;
        emit MarketPendingTrade(msg.sender, tradeHash, data);
    }

    /// @inheritdoc IAsterTradingPortal
    /// @dev Settles synchronously at the current mark price: pays max(0, margin + PnL - close
    /// fee) in USDT; the rest of the margin (a loss) goes to the pool, a profit comes from it.
    function closeTrade(bytes32 tradeHash) external {
        OpenPosition memory position = positions[tradeHash];
        require(position.user != address(0), ERR_NO_TRADE);
        require(position.user == msg.sender, ERR_NOT_OWNER);

        uint64 price = pairs[position.pairBase].markPrice;
        int256 pnl = _pnl(position, price);
        uint256 closeFee = uint256(position.qty) * price * closeFeeBps / BPS;
        // closeFee < 2^144 (qty 80 bits, price 64 bits) and margin < 2^96: both fit in int256;
        // a positive value is a non-negative int256, so its uint256 cast is exact.
        // forge-lint: disable-next-line(unsafe-typecast)
        int256 value = int256(uint256(position.margin)) + pnl - int256(closeFee) - _fundingFee(position);
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 payout = value > 0 ? uint256(value) : 0;

        uint256 available = poolBalance + position.margin;
        if (payout > available) revert InsufficientPoolLiquidity(payout, available);
        poolBalance = available - payout;
        _removePosition(tradeHash, position.user);
        _push(usdt, position.user, payout);
        emit TradeClosed(position.user, tradeHash, price, pnl, closeFee, payout);
    }

    // ----------------------------------------------------------- reading (TradingReaderFacet)

    /// @inheritdoc IAsterTradingReader
    /// @dev `pairBase == address(0)` lists the user's positions on every pair.
    function getPositionsV2(address user, address pairBase) external view returns (Position[] memory result) {
        bytes32[] storage hashes = userPositions[user];
        uint256 count;
        for (uint256 i; i < hashes.length; i++) {
            if (pairBase == address(0) || positions[hashes[i]].pairBase == pairBase) count++;
        }
        result = new Position[](count);
        uint256 j;
        for (uint256 i; i < hashes.length; i++) {
            OpenPosition storage p = positions[hashes[i]];
            if (pairBase != address(0) && p.pairBase != pairBase) continue;
            Position memory out = result[j++];
            out.positionHash = hashes[i];
            out.pair = pairs[p.pairBase].name;
            out.pairBase = p.pairBase;
            out.marginToken = usdt;
            out.isLong = p.isLong;
            out.margin = p.margin;
            out.qty = p.qty;
            out.entryPrice = p.entryPrice;
            out.stopLoss = p.stopLoss;
            out.takeProfit = p.takeProfit;
            out.openFee = p.openFee;
            out.timestamp = p.timestamp;
            out.fundingFee = _fundingFee(p);
        }
    }

    // ------------------------------------------------------------------ keeper (replica only)

    /// @notice Executes one pending trade at the pair's current mark price, or refunds its
    /// margin, checking in Aster's order: feed delay, the trader's price, then leverage after
    /// the open fee.
    /// @return opened true when a position was opened, false when the trade was refunded.
    function executePendingTrade(bytes32 tradeHash) public onlyKeeper returns (bool opened) {
        PendingTrade memory pending = pendings[tradeHash];
        if (pending.user == address(0)) revert UnknownPendingTrade(tradeHash);
        _removePending(tradeHash);

        IAsterBook.OpenDataInput memory data = pending.data;
        uint64 price = pairs[data.pairBase].markPrice;
        uint256 notional = uint256(data.qty) * price;
        uint256 openFee = notional * openFeeBps / BPS;
        Refund refund;
        if (feedDelayBlocks != 0 && pending.blockNumber + feedDelayBlocks < block.number) {
            refund = Refund.FEED_DELAY;
        } else if (data.isLong ? price > data.price : price < data.price) {
            refund = Refund.USER_PRICE;
        } else if (openFee >= data.amountIn || notional > (data.amountIn - openFee) * maxLeverage) {
            refund = Refund.MAX_LEVERAGE;
        } else {
            _openPosition(tradeHash, pending, price, openFee);
            return true;
        }
        _push(usdt, pending.user, data.amountIn);
        emit PendingTradeRefund(pending.user, tradeHash, refund);
        return false;
    }

    function _openPosition(bytes32 tradeHash, PendingTrade memory pending, uint64 price, uint256 openFee)
        private
    {
        IAsterBook.OpenDataInput memory data = pending.data;

        // openFee < amountIn (a uint96) was checked above, so both fit in 96 bits.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint96 margin = uint96(data.amountIn - openFee);
        poolBalance += openFee;
        positions[tradeHash] = OpenPosition({
            user: pending.user,
            pairBase: data.pairBase,
            isLong: data.isLong,
            margin: margin,
            qty: data.qty,
            entryPrice: price,
            stopLoss: data.stopLoss,
            takeProfit: data.takeProfit,
            // forge-lint: disable-next-line(unsafe-typecast)
            openFee: uint96(openFee),
            timestamp: uint32(block.timestamp),
            fundingAtOpen: _fundingPerQty(data.pairBase)
        });
        userPositions[pending.user].push(tradeHash);
        positionIndexPlusOne[tradeHash] = userPositions[pending.user].length;
        emit PendingTradeExecuted(pending.user, tradeHash, price, margin);
    }

    /// @notice Executes every pending trade in submission order.
    function executePendingTrades() external onlyKeeper returns (uint256 opened, uint256 cancelled) {
        // Take a copy: executing removes from the list (swap-and-pop) while we iterate.
        bytes32[] memory hashes = pendingList;
        for (uint256 i; i < hashes.length; i++) {
            if (executePendingTrade(hashes[i])) opened++;
            else cancelled++;
        }
    }

    /// @notice Drops a pending trade and refunds its margin (a keeper that gives up on it).
    function cancelPendingTrade(bytes32 tradeHash) external onlyKeeper {
        PendingTrade memory pending = pendings[tradeHash];
        if (pending.user == address(0)) revert UnknownPendingTrade(tradeHash);
        _removePending(tradeHash);
        _push(usdt, pending.user, pending.data.amountIn);
        emit PendingTradeRefund(pending.user, tradeHash, Refund.KEEPER);
    }

    function setMarkPrice(address pairBase, uint64 price) external onlyKeeper {
        if (!pairs[pairBase].listed) revert PairNotListed(pairBase);
        if (price == 0) revert InvalidPrice();
        _settleFunding(pairBase);
        pairs[pairBase].markPrice = price;
        emit MarkPriceSet(pairBase, price);
    }

    /// @notice Funding from now on: per second a long pays `rate` x its notional (1e18 = all of
    /// it) to the shorts; negative, the shorts pay the longs. What accrued so far is settled at
    /// the old rate first.
    function setFundingRate(address pairBase, int256 rate) external onlyKeeper {
        if (!pairs[pairBase].listed) revert PairNotListed(pairBase);
        _settleFunding(pairBase);
        pairs[pairBase].fundingRate = rate;
        emit FundingRateSet(pairBase, rate);
    }

    /// @notice Moves the ALP price (8 decimals), as the pool's AUM would on Aster.
    function setAlpPrice(uint256 price) external onlyKeeper {
        if (price == 0) revert InvalidPrice();
        alpPrice = price;
        emit AlpPriceSet(price);
    }

    // ------------------------------------------------------------------- admin (replica only)

    function listPair(address pairBase, string calldata name, uint64 price) external onlyAdmin {
        if (price == 0) revert InvalidPrice();
        pairs[pairBase] = PairInfo({
            name: name,
            markPrice: price,
            listed: true,
            fundingRate: 0,
            fundingPerQty: 0,
            fundingUpdatedAt: uint64(block.timestamp)
        });
        emit PairListed(pairBase, name, price);
    }

    function setCoolingDuration(uint256 duration) external onlyAdmin {
        coolingDuration = duration;
        emit CoolingDurationSet(duration);
    }

    /// @notice Fees in basis points; each at most 10%.
    function setFees(uint16 mintFee, uint16 burnFee, uint16 openFee, uint16 closeFee) external onlyAdmin {
        if (mintFee > 1000) revert FeeTooHigh(mintFee);
        if (burnFee > 1000) revert FeeTooHigh(burnFee);
        if (openFee > 1000) revert FeeTooHigh(openFee);
        if (closeFee > 1000) revert FeeTooHigh(closeFee);
        (mintFeeBps, burnFeeBps, openFeeBps, closeFeeBps) = (mintFee, burnFee, openFee, closeFee);
        emit FeesSet(mintFee, burnFee, openFee, closeFee);
    }

    function setMaxLeverage(uint256 leverage) external onlyAdmin {
        maxLeverage = leverage;
        emit MaxLeverageSet(leverage);
    }

    function setFeedDelayBlocks(uint256 blocks) external onlyAdmin {
        feedDelayBlocks = blocks;
        emit FeedDelayBlocksSet(blocks);
    }

    function setKeeper(address keeper, bool allowed) external onlyAdmin {
        isKeeper[keeper] = allowed;
        emit KeeperSet(keeper, allowed);
    }

    // ------------------------------------------------------------------- views (replica only)

    /// @notice Aster's name for the ALP token getter.
    function ALP() external view returns (address) {
        return alp;
    }

    function markPrice(address pairBase) external view returns (uint64) {
        return pairs[pairBase].markPrice;
    }

    /// @notice Aster's PriceFacadeFacet view: the price trades of `token` open and close at.
    /// Here the keeper-set mark, current by construction (stamped with this block's time).
    function getPriceFromCacheOrOracle(address token) external view returns (uint64 price, uint40 updatedAt) {
        return (pairs[token].markPrice, uint40(block.timestamp));
    }

    /// @notice PnL of an open position at the current mark price, before the close fee.
    function unrealizedPnl(bytes32 tradeHash) external view returns (int256) {
        OpenPosition memory position = positions[tradeHash];
        require(position.user != address(0), ERR_NO_TRADE);
        return _pnl(position, pairs[position.pairBase].markPrice);
    }

    function pendingTrade(bytes32 tradeHash) external view returns (PendingTrade memory) {
        return pendings[tradeHash];
    }

    function pendingTradeHashes() external view returns (bytes32[] memory) {
        return pendingList;
    }

    function isPending(bytes32 tradeHash) external view returns (bool) {
        return pendingIndexPlusOne[tradeHash] != 0;
    }

    function isOpen(bytes32 tradeHash) external view returns (bool) {
        return positionIndexPlusOne[tradeHash] != 0;
    }

    // ---------------------------------------------------------------------------- internals

    /// @dev Funding one unit of long qty has paid since listing, up to now (1e18-scaled USDT
    /// wei): the settled amount plus rate x mark x seconds since.
    function _fundingPerQty(address pairBase) private view returns (int256) {
        PairInfo storage pair = pairs[pairBase];
        // A mark (64 bits) times seconds (64 bits) fits in int256 with any sane rate.
        // forge-lint: disable-next-line(unsafe-typecast)
        int256 elapsed = int256(block.timestamp - uint256(pair.fundingUpdatedAt));
        // forge-lint: disable-next-line(unsafe-typecast)
        return pair.fundingPerQty + pair.fundingRate * int256(uint256(pair.markPrice)) * elapsed;
    }

    function _settleFunding(address pairBase) private {
        PairInfo storage pair = pairs[pairBase];
        pair.fundingPerQty = _fundingPerQty(pairBase);
        pair.fundingUpdatedAt = uint64(block.timestamp);
    }

    /// @dev What a position has paid in funding since it opened, USDT wei (negative: received).
    function _fundingFee(OpenPosition memory position) private view returns (int256) {
        // qty is 80 bits: exact as int256.
        // forge-lint: disable-next-line(unsafe-typecast)
        int256 paid = (_fundingPerQty(position.pairBase) - position.fundingAtOpen)
            * int256(uint256(position.qty)) / 1e18;
        return position.isLong ? paid : -paid;
    }

    /// @dev (price - entry) * qty for a long, (entry - price) * qty for a short, in USDT wei.
    function _pnl(OpenPosition memory position, uint64 price) private pure returns (int256) {
        int256 move = int256(uint256(price)) - int256(uint256(position.entryPrice));
        int256 pnl = move * int256(uint256(position.qty));
        return position.isLong ? pnl : -pnl;
    }

    function _removePending(bytes32 tradeHash) private {
        uint256 index = pendingIndexPlusOne[tradeHash] - 1;
        bytes32 last = pendingList[pendingList.length - 1];
        pendingList[index] = last;
        pendingIndexPlusOne[last] = index + 1;
        pendingList.pop();
        delete pendingIndexPlusOne[tradeHash];
        delete pendings[tradeHash];
    }

    function _removePosition(bytes32 tradeHash, address user) private {
        bytes32[] storage list = userPositions[user];
        uint256 index = positionIndexPlusOne[tradeHash] - 1;
        bytes32 last = list[list.length - 1];
        list[index] = last;
        positionIndexPlusOne[last] = index + 1;
        list.pop();
        delete positionIndexPlusOne[tradeHash];
        delete positions[tradeHash];
    }

    function _pull(address token, address from, uint256 amount) private {
        bool ok = IEIP20(token).transferFrom(from, address(this), amount);
        require(ok, "Aster: TRANSFER_FROM_FAILED");
    }

    function _push(address token, address to, uint256 amount) private {
        if (amount == 0) return;
        bool ok = IEIP20(token).transfer(to, amount);
        require(ok, "Aster: TRANSFER_FAILED");
    }
}
