// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IPancakePair} from "../interfaces/IPancake.sol";
import {OracleReading, Regime} from "./VaultTypes.sol";
import {VaultMath} from "./VaultMath.sol";

/// @title TwapOracle
/// @notice A ring of observations of a Pancake V2 pair's cumulative price of `base` in `quote`,
/// giving a TWAP, the spot price, their deviation and a realised-volatility regime.
/// @dev Written only by its vault (once per cycle). Observations are spaced by at least
/// `window / 4` so that the ring always covers four windows however often cycles run; several
/// blocks with one timestamp (BSC: 0.45 s blocks) never add an observation and never reach a
/// division by a zero interval: the TWAP always spans at least `window` seconds.
contract TwapOracle {
    uint256 public constant CARDINALITY = 16;
    uint256 private constant Q112 = 2 ** 112;
    /// @notice Returns needed before the regime may leave NORMAL.
    uint256 public constant MIN_VOL_SAMPLES = 3;

    struct Observation {
        uint32 timestamp;
        /// @dev The pair's cumulative price modulo 2**224; differences are taken modulo 2**224
        /// like Uniswap's own overflow-tolerant arithmetic.
        uint224 cumulative;
    }

    error OnlyVault();
    error ZeroWindow();

    event Observed(uint32 timestamp, uint224 cumulative, uint8 index);

    IPancakePair public immutable pair;
    address public immutable vault;
    bool public immutable baseIsToken0;
    uint32 public immutable window;
    uint32 public immutable spacing;
    uint32 public immutable maxAge;
    uint16 public immutable calmVolBps;
    uint16 public immutable stormVolBps;

    Observation[CARDINALITY] internal _observations;
    /// @notice Index of the newest observation.
    uint8 public head;
    /// @notice Number of observations written (saturates at CARDINALITY).
    uint8 public count;
    /// @notice The last TWAP computed by `update` from a ready, fresh window.
    uint256 public lastTwap;

    constructor(
        IPancakePair pair_,
        address base,
        uint32 window_,
        uint32 maxAge_,
        uint16 calmVolBps_,
        uint16 stormVolBps_
    ) {
        if (window_ < 4) revert ZeroWindow();
        pair = pair_;
        vault = msg.sender;
        baseIsToken0 = pair_.token0() == base;
        window = window_;
        spacing = window_ / 4;
        maxAge = maxAge_;
        calmVolBps = calmVolBps_;
        stormVolBps = stormVolBps_;
        _write(uint32(block.timestamp), currentCumulative(), 0);
        count = 1;
    }

    /// @notice Records an observation when at least `spacing` seconds passed since the newest
    /// one, then reads. Same-timestamp calls only read.
    function update() external returns (OracleReading memory reading) {
        if (msg.sender != vault) revert OnlyVault();
        uint256 cumNow = currentCumulative();
        uint32 now32 = uint32(block.timestamp);
        Observation memory newest = _observations[head];
        if (now32 - newest.timestamp >= spacing) {
            // (head + 1) % 16 fits 8 bits.
            // forge-lint: disable-next-line(unsafe-typecast)
            uint8 next = uint8((uint256(head) + 1) % CARDINALITY);
            _write(now32, cumNow, next);
            head = next;
            if (count < CARDINALITY) count += 1;
        }
        reading = _read(cumNow);
        if (reading.ready && !reading.stale) lastTwap = reading.twap;
    }

    /// @notice The reading `update` would return now, without writing.
    function read() external view returns (OracleReading memory) {
        return _read(currentCumulative());
    }

    /// @notice The price to value the vault with: TWAP when ready, else the last good TWAP.
    function price() external view returns (uint256) {
        (uint256 twap,,) = _twap(currentCumulative());
        return twap != 0 ? twap : lastTwap;
    }

    /// @notice The pair's cumulative price of base as of now: the stored value plus the current
    /// reserves' price times the seconds since the pair's last update (counterfactual).
    function currentCumulative() public view returns (uint256 cumulative) {
        (uint112 r0, uint112 r1, uint32 tsLast) = pair.getReserves();
        cumulative = baseIsToken0 ? pair.price0CumulativeLast() : pair.price1CumulativeLast();
        uint32 now32 = uint32(block.timestamp);
        if (tsLast != now32 && r0 != 0 && r1 != 0) {
            unchecked {
                uint256 priceQ = baseIsToken0 ? (uint256(r1) * Q112) / r0 : (uint256(r0) * Q112) / r1;
                cumulative += priceQ * (now32 - tsLast);
            }
        }
    }

    /// @notice Spot price of base in quote from the reserves, 1e18 fixed point (0 if empty).
    function spot() public view returns (uint256) {
        (uint112 r0, uint112 r1,) = pair.getReserves();
        (uint256 rb, uint256 rq) = baseIsToken0 ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
        return rb == 0 ? 0 : VaultMath.mulDiv(rq, 1e18, rb);
    }

    function observation(uint256 index) external view returns (uint32 timestamp, uint224 cumulative) {
        Observation memory o = _observations[index];
        return (o.timestamp, o.cumulative);
    }

    /// @notice keccak of every storage word, for the vault's state digest.
    function digest() external view returns (bytes32) {
        return keccak256(abi.encode(_observations, head, count, lastTwap));
    }

    function _write(uint32 timestamp, uint256 cumulative, uint8 index) private {
        // cumulatives are kept modulo 2**224 on purpose (differences stay exact).
        // forge-lint: disable-next-line(unsafe-typecast)
        _observations[index] = Observation(timestamp, uint224(cumulative));
        // cumulatives are kept modulo 2**224 on purpose.
        // forge-lint: disable-next-line(unsafe-typecast)
        emit Observed(timestamp, uint224(cumulative), index);
    }

    /// @dev TWAP from the newest observation at least one window old to now.
    function _twap(uint256 cumNow) private view returns (uint256 twap, bool found, uint32 age) {
        uint32 now32 = uint32(block.timestamp);
        uint256 n = count;
        for (uint256 i; i < n; ++i) {
            Observation memory o = _observations[(uint256(head) + CARDINALITY - i) % CARDINALITY];
            uint32 elapsed = now32 - o.timestamp;
            if (elapsed >= window) {
                uint224 delta;
                unchecked {
                    // modulo 2**224 on purpose: the subtraction wraps like the pair's own.
                    // forge-lint: disable-next-line(unsafe-typecast)
                    delta = uint224(cumNow) - o.cumulative;
                }
                // elapsed >= window >= 4: never a division by zero.
                twap = VaultMath.mulDiv(uint256(delta) / elapsed, 1e18, Q112);
                return (twap, true, elapsed);
            }
        }
    }

    function _read(uint256 cumNow) private view returns (OracleReading memory r) {
        (uint256 twap, bool found, uint32 age) = _twap(cumNow);
        r.twap = twap;
        r.ready = found && twap != 0;
        r.stale = found && age > maxAge;
        r.spot = spot();
        r.deviationBps =
            r.ready ? VaultMath.mulDiv(VaultMath.absDiff(r.spot, twap), 10_000, twap) : type(uint256).max;
        uint256 samples;
        (r.volBps, samples) = _vol();
        // Too few returns say nothing about the market: stay NORMAL until there are enough.
        if (samples < MIN_VOL_SAMPLES) r.regime = Regime.NORMAL;
        else if (r.volBps >= stormVolBps) r.regime = Regime.STORM;
        else if (r.volBps <= calmVolBps) r.regime = Regime.CALM;
        else r.regime = Regime.NORMAL;
        r.price = r.ready ? twap : lastTwap;
    }

    /// @notice Root mean square of the relative change, in bps, between the average prices of
    /// consecutive observation intervals (0 with fewer than three observations).
    function realisedVolBps() external view returns (uint256 volBps) {
        (volBps,) = _vol();
    }

    function _vol() private view returns (uint256, uint256) {
        uint256 n = count;
        if (n < 3) return (0, 0);
        uint256 sumSq;
        uint256 prevPrice;
        uint256 returns_;
        Observation memory newer = _observations[head];
        for (uint256 i = 1; i < n; ++i) {
            Observation memory older = _observations[(uint256(head) + CARDINALITY - i) % CARDINALITY];
            uint256 dt = newer.timestamp - older.timestamp; // > 0: observations are spaced
            uint224 delta;
            unchecked {
                delta = newer.cumulative - older.cumulative;
            }
            uint256 p = uint256(delta) / dt;
            if (prevPrice != 0 && p != 0) {
                uint256 r = VaultMath.mulDiv(VaultMath.absDiff(prevPrice, p), 10_000, p);
                sumSq += r * r;
                returns_ += 1;
            }
            prevPrice = p;
            newer = older;
        }
        return (returns_ == 0 ? 0 : VaultMath.sqrt(sumSq / returns_), returns_);
    }
}
