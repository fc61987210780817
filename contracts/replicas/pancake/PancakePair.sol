// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEIP20} from "../tokens/IEIP20.sol";
import {IPancakeV2Callee, IPancakeV2Factory} from "./IPancakeV2.sol";
import {PancakeERC20} from "./PancakeERC20.sol";
import {PancakeMath, PancakeSafeMath, UQ112x112} from "./PancakeMath.sol";

/// @title PancakePair
/// @notice A PancakeSwap V2 pair with the deployed pair's arithmetic and revert strings:
/// constant product with a 0.25% input fee (K check on `balance * 10000 - amountIn * 25`),
/// optimistic transfers with flash swaps through `IPancakeV2Callee.pancakeCall`, UQ112x112
/// cumulative prices updated on the first touch of each block timestamp, a re-entrancy lock
/// and the protocol fee of 8/25 of the growth in sqrt(k) minted to `feeTo`.
/// @dev The revert data are the real pair's ("Pancake: K", "Pancake: LOCKED", ..., and SafeMath's
/// "ds-math-sub-underflow" where the 0.5 original used SafeMath), because the chaos layer and the
/// vault's tests match on them, on the replicas and on the real code alike. The differential
/// tests (test/replicas/differential) hold this pair to the registry-built one.
contract PancakePair is PancakeERC20 {
    using UQ112x112 for uint224;
    using PancakeSafeMath for uint256;

    /// @notice LP tokens burnt to address(0) on the first mint, so the share price can never be
    /// driven to a value where one wei of LP is worth a fortune (first-depositor inflation).
    uint256 public constant MINIMUM_LIQUIDITY = 10 ** 3;

    address public immutable factory;
    address public token0;
    address public token1;

    uint112 private reserve0;
    uint112 private reserve1;
    uint32 private blockTimestampLast;

    uint256 public price0CumulativeLast;
    uint256 public price1CumulativeLast;
    /// @notice reserve0 * reserve1 after the most recent liquidity event (only while feeTo is set).
    uint256 public kLast;

    uint256 private unlocked = 1;

    /// @dev One lock for every state-changing entry point: a flash-swap callback cannot re-enter
    /// this pair (swap, mint, burn, skim, sync), so a flash borrow must come from another pair.
    modifier lock() {
        require(unlocked == 1, "Pancake: LOCKED");
        unlocked = 0;
        _;
        unlocked = 1;
    }

    constructor() {
        factory = msg.sender;
    }

    /// @notice Called once by the factory right after the CREATE2 deployment.
    function initialize(address _token0, address _token1) external {
        require(msg.sender == factory, "Pancake: FORBIDDEN");
        token0 = _token0;
        token1 = _token1;
    }

    function getReserves()
        public
        view
        returns (uint112 _reserve0, uint112 _reserve1, uint32 _blockTimestampLast)
    {
        _reserve0 = reserve0;
        _reserve1 = reserve1;
        _blockTimestampLast = blockTimestampLast;
    }

    /// @notice Adds liquidity already transferred to the pair; the caller (normally the router)
    /// is responsible for the ratio: an unbalanced deposit mints only the smaller share.
    function mint(address to) external lock returns (uint256 liquidity) {
        (uint112 _reserve0, uint112 _reserve1,) = getReserves();
        uint256 balance0 = IEIP20(token0).balanceOf(address(this));
        uint256 balance1 = IEIP20(token1).balanceOf(address(this));
        uint256 amount0 = balance0.sub(_reserve0);
        uint256 amount1 = balance1.sub(_reserve1);

        bool feeOn = _mintFee(_reserve0, _reserve1);
        uint256 _totalSupply = totalSupply; // read after _mintFee, which may have minted
        if (_totalSupply == 0) {
            liquidity = PancakeMath.sqrt(amount0.mul(amount1)).sub(MINIMUM_LIQUIDITY);
            _mint(address(0), MINIMUM_LIQUIDITY);
        } else {
            liquidity = PancakeMath.min(
                amount0.mul(_totalSupply).div(_reserve0), amount1.mul(_totalSupply).div(_reserve1)
            );
        }
        require(liquidity > 0, "Pancake: INSUFFICIENT_LIQUIDITY_MINTED");
        _mint(to, liquidity);

        _update(balance0, balance1, _reserve0, _reserve1);
        if (feeOn) kLast = uint256(reserve0).mul(reserve1);
        emit Mint(msg.sender, amount0, amount1);
    }

    /// @notice Burns the LP tokens sent to the pair and pays out pro rata of the *balances*, so
    /// that tokens donated since the last sync go to the LPs.
    function burn(address to) external lock returns (uint256 amount0, uint256 amount1) {
        (uint112 _reserve0, uint112 _reserve1,) = getReserves();
        address _token0 = token0;
        address _token1 = token1;
        uint256 balance0 = IEIP20(_token0).balanceOf(address(this));
        uint256 balance1 = IEIP20(_token1).balanceOf(address(this));
        uint256 liquidity = balanceOf[address(this)];

        bool feeOn = _mintFee(_reserve0, _reserve1);
        uint256 _totalSupply = totalSupply;
        amount0 = liquidity.mul(balance0).div(_totalSupply); // rounds down: against the burner
        amount1 = liquidity.mul(balance1).div(_totalSupply);
        require(amount0 > 0 && amount1 > 0, "Pancake: INSUFFICIENT_LIQUIDITY_BURNED");
        _burn(address(this), liquidity);
        _safeTransfer(_token0, to, amount0);
        _safeTransfer(_token1, to, amount1);
        balance0 = IEIP20(_token0).balanceOf(address(this));
        balance1 = IEIP20(_token1).balanceOf(address(this));

        _update(balance0, balance1, _reserve0, _reserve1);
        if (feeOn) kLast = uint256(reserve0).mul(reserve1);
        emit Burn(msg.sender, amount0, amount1, to);
    }

    /// @notice Sends the outputs first, optionally calls `to.pancakeCall` (a flash swap), then
    /// requires that something came back and that it keeps the fee-adjusted product at or above
    /// the old K.
    /// @dev A swap that pays nothing in reverts with "Pancake: INSUFFICIENT_INPUT_AMOUNT" before
    /// the K check, as in the real pair. (This replica once said the real pair had no such check
    /// and reverted with "Pancake: K": the differential tests against the registry-built pair
    /// showed otherwise.)
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external lock {
        require(amount0Out > 0 || amount1Out > 0, "Pancake: INSUFFICIENT_OUTPUT_AMOUNT");
        (uint112 _reserve0, uint112 _reserve1,) = getReserves();
        require(amount0Out < _reserve0 && amount1Out < _reserve1, "Pancake: INSUFFICIENT_LIQUIDITY");

        uint256 balance0;
        uint256 balance1;
        {
            address _token0 = token0;
            address _token1 = token1;
            require(to != _token0 && to != _token1, "Pancake: INVALID_TO");
            if (amount0Out > 0) _safeTransfer(_token0, to, amount0Out);
            if (amount1Out > 0) _safeTransfer(_token1, to, amount1Out);
            if (data.length > 0) IPancakeV2Callee(to).pancakeCall(msg.sender, amount0Out, amount1Out, data);
            balance0 = IEIP20(_token0).balanceOf(address(this));
            balance1 = IEIP20(_token1).balanceOf(address(this));
        }
        uint256 amount0In = balance0 > _reserve0 - amount0Out ? balance0 - (_reserve0 - amount0Out) : 0;
        uint256 amount1In = balance1 > _reserve1 - amount1Out ? balance1 - (_reserve1 - amount1Out) : 0;
        require(amount0In > 0 || amount1In > 0, "Pancake: INSUFFICIENT_INPUT_AMOUNT");
        {
            // The invariant with the 0.25% fee taken from each input:
            // (b0 * 10000 - in0 * 25) * (b1 * 10000 - in1 * 25) >= r0 * r1 * 10000^2.
            uint256 balance0Adjusted = balance0.mul(10_000).sub(amount0In.mul(25));
            uint256 balance1Adjusted = balance1.mul(10_000).sub(amount1In.mul(25));
            require(
                balance0Adjusted.mul(balance1Adjusted) >= uint256(_reserve0).mul(_reserve1).mul(10_000 ** 2),
                "Pancake: K"
            );
        }

        _update(balance0, balance1, _reserve0, _reserve1);
        emit Swap(msg.sender, amount0In, amount1In, amount0Out, amount1Out, to);
    }

    /// @notice Sends any balance above the reserves to `to` (balances forced down to reserves).
    function skim(address to) external lock {
        address _token0 = token0;
        address _token1 = token1;
        _safeTransfer(_token0, to, IEIP20(_token0).balanceOf(address(this)).sub(reserve0));
        _safeTransfer(_token1, to, IEIP20(_token1).balanceOf(address(this)).sub(reserve1));
    }

    /// @notice Sets the reserves to the balances (reserves forced to balances); with a `deal`
    /// beforehand this is how the chaos layer drains or inflates a pool.
    function sync() external lock {
        _update(
            IEIP20(token0).balanceOf(address(this)),
            IEIP20(token1).balanceOf(address(this)),
            reserve0,
            reserve1
        );
    }

    /// @dev Stores new reserves; on the first call in a new block timestamp, first adds the
    /// previous reserves' price times the elapsed seconds to the accumulators. Several blocks
    /// sharing one timestamp (BSC after Fermi) add nothing: a TWAP over them has a zero window.
    function _update(uint256 balance0, uint256 balance1, uint112 _reserve0, uint112 _reserve1) private {
        require(balance0 <= type(uint112).max && balance1 <= type(uint112).max, "Pancake: OVERFLOW");
        uint32 blockTimestamp = uint32(block.timestamp % 2 ** 32);
        unchecked {
            uint32 timeElapsed = blockTimestamp - blockTimestampLast; // wrap-around is desired
            if (timeElapsed > 0 && _reserve0 != 0 && _reserve1 != 0) {
                // The product never overflows (224 + 32 bits); the sum wraps by design and
                // consumers difference two snapshots modulo 2^256.
                price0CumulativeLast += uint256(UQ112x112.encode(_reserve1).uqdiv(_reserve0)) * timeElapsed;
                price1CumulativeLast += uint256(UQ112x112.encode(_reserve0).uqdiv(_reserve1)) * timeElapsed;
            }
        }
        // Both balances were checked against type(uint112).max above.
        // forge-lint: disable-next-line(unsafe-typecast)
        reserve0 = uint112(balance0);
        // forge-lint: disable-next-line(unsafe-typecast)
        reserve1 = uint112(balance1);
        blockTimestampLast = blockTimestamp;
        emit Sync(reserve0, reserve1);
    }

    /// @dev PancakeSwap V2's protocol fee: of the 0.25% swap fee, 0.08% (8/25 of the fee) goes
    /// to `feeTo`. It is collected lazily on the next mint or burn as LP tokens worth 8/25 of the
    /// growth in sqrt(k): liquidity = totalSupply * (rootK - rootKLast) * 8 / (rootK * 17 +
    /// rootKLast * 8). (Uniswap V2 uses 1/6: `rootK * 5 + rootKLast`.)
    function _mintFee(uint112 _reserve0, uint112 _reserve1) private returns (bool feeOn) {
        address feeTo = IPancakeV2Factory(factory).feeTo();
        feeOn = feeTo != address(0);
        uint256 _kLast = kLast;
        if (feeOn) {
            if (_kLast != 0) {
                uint256 rootK = PancakeMath.sqrt(uint256(_reserve0).mul(_reserve1));
                uint256 rootKLast = PancakeMath.sqrt(_kLast);
                if (rootK > rootKLast) {
                    uint256 numerator = totalSupply.mul(rootK.sub(rootKLast)).mul(8);
                    uint256 denominator = rootK.mul(17).add(rootKLast.mul(8));
                    uint256 liquidity = numerator / denominator;
                    if (liquidity > 0) _mint(feeTo, liquidity);
                }
            }
        } else if (_kLast != 0) {
            kLast = 0;
        }
    }

    /// @dev Tolerates tokens that return nothing (like USDT on Ethereum) and rejects `false`.
    function _safeTransfer(address token, address to, uint256 value) private {
        (bool success, bytes memory data) = token.call(abi.encodeCall(IEIP20.transfer, (to, value)));
        require(success && (data.length == 0 || abi.decode(data, (bool))), "Pancake: TRANSFER_FAILED");
    }
}
