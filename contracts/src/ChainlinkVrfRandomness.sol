// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {VRFConsumerBaseV2Plus} from "@chainlink/contracts/src/v0.8/vrf/dev/VRFConsumerBaseV2Plus.sol";
import {VRFV2PlusClient} from "@chainlink/contracts/src/v0.8/vrf/dev/libraries/VRFV2PlusClient.sol";

import {IRandomnessSource} from "./RandomnessSource.sol";

/// @title ChainlinkVrfRandomness
/// @notice `IRandomnessSource` backed by Chainlink VRF v2.5: every ticket is one VRF request
/// (one word) paid by a subscription; its value becomes readable when the coordinator delivers
/// the proven random word. Unlike `FutureBlockRandomness`, no block builder can bias or
/// foresee it: the value is fixed by the VRF key and the request, and the coordinator checks
/// the proof before delivering it.
///
/// Trust assumptions: the VRF key holder (the Chainlink node) can withhold a fulfilment (the
/// task then redraws after the draw horizon, with a new request) but not choose the value; the
/// owner (the deployer, or governance once ownership is handed over with
/// `transferOwnership`/`acceptOwnership`) can point the adapter at another coordinator
/// (`setCoordinator`, Chainlink's migration hook), so it must be as trusted as governance.
/// `current()` (audit flags) is `block.prevrandao`, as in `FutureBlockRandomness`.
///
/// Only the consumer set once by the owner (the TaskManager) may request, so nobody else can
/// spend the subscription.
contract ChainlinkVrfRandomness is IRandomnessSource, VRFConsumerBaseV2Plus {
    bytes32 public immutable keyHash;
    uint256 public immutable subscriptionId;
    uint16 public immutable requestConfirmations;
    uint32 public immutable callbackGasLimit;
    bool public immutable nativePayment;

    /// The only caller of `request` (the TaskManager); set once.
    address public consumer;
    uint256 public ticketCount;
    /// ticket => VRF request id
    mapping(uint256 => uint256) public requestOf;
    /// VRF request id => ticket
    mapping(uint256 => uint256) public ticketOf;
    mapping(uint256 => bytes32) internal _value;

    event ConsumerSet(address indexed consumer);
    event TicketRequested(uint256 indexed ticket, uint256 indexed requestId);
    event TicketFulfilled(uint256 indexed ticket, bytes32 value);

    error NotConsumer();
    error ConsumerAlreadySet();
    error NotReady(uint256 ticket);

    constructor(
        address coordinator,
        bytes32 keyHash_,
        uint256 subscriptionId_,
        uint16 requestConfirmations_,
        uint32 callbackGasLimit_,
        bool nativePayment_
    ) VRFConsumerBaseV2Plus(coordinator) {
        keyHash = keyHash_;
        subscriptionId = subscriptionId_;
        requestConfirmations = requestConfirmations_;
        callbackGasLimit = callbackGasLimit_;
        nativePayment = nativePayment_;
    }

    /// @notice Sets the one contract allowed to request tickets (once).
    function setConsumer(address consumer_) external onlyOwner {
        if (consumer != address(0)) revert ConsumerAlreadySet();
        consumer = consumer_;
        emit ConsumerSet(consumer_);
    }

    /// @inheritdoc IRandomnessSource
    function request() external returns (uint256 ticket) {
        if (msg.sender != consumer) revert NotConsumer();
        ticket = ++ticketCount;
        uint256 id = s_vrfCoordinator.requestRandomWords(
            VRFV2PlusClient.RandomWordsRequest({
                keyHash: keyHash,
                subId: subscriptionId,
                requestConfirmations: requestConfirmations,
                callbackGasLimit: callbackGasLimit,
                numWords: 1,
                extraArgs: VRFV2PlusClient._argsToBytes(VRFV2PlusClient.ExtraArgsV1({nativePayment: nativePayment}))
            })
        );
        requestOf[ticket] = id;
        ticketOf[id] = ticket;
        emit TicketRequested(ticket, id);
    }

    /// Stores the delivered word for its ticket. Never reverts (Chainlink does not retry a
    /// failed fulfilment); an unknown or repeated request id changes nothing.
    function fulfillRandomWords(uint256 requestId, uint256[] calldata randomWords) internal override {
        uint256 ticket = ticketOf[requestId];
        if (ticket == 0 || randomWords.length == 0 || _value[ticket] != 0) return;
        // hashed with the ticket so a value is never zero in practice (zero means "not ready")
        bytes32 v = keccak256(abi.encode(randomWords[0], ticket));
        _value[ticket] = v;
        emit TicketFulfilled(ticket, v);
    }

    /// @inheritdoc IRandomnessSource
    function isReady(uint256 ticket) external view returns (bool) {
        return _value[ticket] != 0;
    }

    /// @inheritdoc IRandomnessSource
    function randomness(uint256 ticket) external view returns (bytes32 v) {
        v = _value[ticket];
        if (v == 0) revert NotReady(ticket);
    }

    /// @inheritdoc IRandomnessSource
    function current() external view returns (bytes32) {
        return keccak256(abi.encode(block.prevrandao, block.number));
    }
}
