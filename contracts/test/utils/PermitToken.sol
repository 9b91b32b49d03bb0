// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title PermitToken
/// @notice A test stablecoin for fee tests deployed from Rust and TypeScript: 6 decimals,
/// EIP-2612 permit, anyone may mint (test networks only; never deployed by `vouch deploy`).
contract PermitToken is ERC20, ERC20Permit {
    constructor() ERC20("Test USD", "TUSD") ERC20Permit("Test USD") {}

    /// @notice 6 decimals, as USDC.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` to `to` (anyone; a test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
