// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

/// @title IRandomnessSource
/// @notice Randomness for committee sampling and audit selection. A consumer asks for a ticket
/// when the draw must become unpredictable (e.g. at request time) and reads the value once the
/// ticket is ready; the value must not be knowable by the requester when it asks.
interface IRandomnessSource {
    /// @return ticket an opaque handle whose value becomes readable later.
    function request() external returns (uint256 ticket);

    function isReady(uint256 ticket) external view returns (bool);

    /// @dev reverts when the ticket is not ready or has expired.
    function randomness(uint256 ticket) external view returns (bytes32);

    /// @notice A value for "right now" decisions (audit flags), weaker than a ticket.
    function current() external view returns (bytes32);
}

/// @title FutureBlockRandomness
/// @notice Default source: a ticket names a future block `DELAY` blocks ahead; its value is
/// `keccak256(blockhash(ticket), ticket)`, readable for the 256 blocks the EVM keeps hashes.
///
/// Trust assumption: the requester cannot know the block hash of a future block, so it cannot
/// choose its committee. The proposer/builder of block `ticket` can, however, bias the value:
/// it can withhold the block (one bit of bias, at the cost of its reward) and grind transaction
/// order to try many hashes. The source is therefore sound only while the value at stake in a
/// single draw is small compared with what bribing that builder costs. Chains with a VRF or a
/// beacon should plug in another `IRandomnessSource`. `current()` (used for audit flags) is
/// `block.prevrandao`, which the caller of the transaction can observe one block ahead and so
/// choose when to act; audits are probabilistic deterrence, not the primary safety mechanism.
contract FutureBlockRandomness is IRandomnessSource {
    uint256 public constant DELAY = 1;

    error NotReady(uint256 ticket);
    error Expired(uint256 ticket);

    function request() external view returns (uint256) {
        return block.number + DELAY;
    }

    function isReady(uint256 ticket) public view returns (bool) {
        return block.number > ticket && block.number - ticket <= 256;
    }

    function randomness(uint256 ticket) external view returns (bytes32) {
        if (block.number <= ticket) revert NotReady(ticket);
        if (block.number - ticket > 256) revert Expired(ticket);
        return keccak256(abi.encode(blockhash(ticket), ticket));
    }

    function current() external view returns (bytes32) {
        return keccak256(abi.encode(block.prevrandao, block.number));
    }
}
