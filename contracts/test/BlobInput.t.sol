// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Fixture} from "./utils/Fixture.sol";
import {Vm} from "./utils/Vm.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {BlobCidMalformed, BlobNotCarried, BlobMismatch, BlobsUnnamed} from "../src/BlobInput.sol";

/// A request whose `inputCid` names blobs (`blob:0x<versioned hash>,...`) is accepted only in a
/// transaction carrying exactly those blobs in that order (`BlobInput.check`); any other CID is
/// not checked.
contract BlobInputTest is Fixture {
    bytes32 internal constant INPUT = keccak256("input");

    function setUp() public override {
        super.setUp();
        uint256[] memory outs = new uint256[](1);
        outs[0] = 1;
        modelId = _registerModel(keccak256("weights"), keccak256(abi.encode(uint256(2), bytes32(0), outs)), address(0));
    }

    /// A versioned hash: version byte 0x01, then 31 bytes of `seed`'s hash.
    function _vh(uint256 seed) internal pure returns (bytes32) {
        return bytes32((uint256(keccak256(abi.encode(seed))) >> 8) | (uint256(1) << 248));
    }

    /// The canonical `blob:` name of `hs`.
    function _cid(bytes32[] memory hs) internal pure returns (string memory s) {
        s = "blob:";
        for (uint256 i; i < hs.length; ++i) {
            s = string.concat(s, i == 0 ? "" : ",", vm.toString(hs[i]));
        }
    }

    function _hashes(uint256 n, uint256 seed) internal pure returns (bytes32[] memory hs) {
        hs = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            hs[i] = _vh(uint256(keccak256(abi.encode(seed, i))));
        }
    }

    function _requestNaming(string memory cid) internal returns (uint256) {
        TaskManager.RequestInput memory r = _requestInput(TaskManager.Mode.Optimistic, INPUT);
        r.inputCid = cid;
        vm.prank(requester);
        return tm.request(r);
    }

    function _expectRefused(string memory cid, bytes memory err) internal {
        TaskManager.RequestInput memory r = _requestInput(TaskManager.Mode.Optimistic, INPUT);
        r.inputCid = cid;
        vm.prank(requester);
        vm.expectRevert(err);
        tm.request(r);
    }

    /// Any 1 to 6 carried blobs named in order are accepted, and the TaskRequested event carries
    /// the name.
    function testFuzz_the_carried_blobs_named_in_order_are_accepted(uint8 count, uint256 seed) public {
        uint256 n = bound(count, 1, 6);
        bytes32[] memory hs = _hashes(n, seed);
        vm.blobhashes(hs);
        string memory cid = _cid(hs);
        vm.recordLogs();
        uint256 id = _requestNaming(cid);
        assertEq(id, 1, "task");
        assertEq(tm.getTask(id).modelId, modelId, "stored");
        // TaskRequested's inputCid is the name
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 k;
        while (logs[k].topics[0] != TaskManager.TaskRequested.selector) ++k;
        (,,,,,, string memory logged,,,,) = abi.decode(
            logs[k].data, (uint16, uint8, uint256, uint32, bytes32, uint16, string, bytes, address, uint32, bool)
        );
        assertEq(keccak256(bytes(logged)), keccak256(bytes(cid)), "event names the blobs");
    }

    /// What naming five blobs adds to a request (forge gas, printed with -vv): a request naming
    /// none, then one naming five, after a first request that wrote the zero slots.
    function test_gas_of_naming_five_blobs() public {
        _requestNaming("");
        uint256 g0 = gasleft();
        _requestNaming("");
        uint256 plain = g0 - gasleft();
        bytes32[] memory hs = _hashes(5, 42);
        vm.blobhashes(hs);
        string memory cid = _cid(hs);
        uint256 g1 = gasleft();
        _requestNaming(cid);
        uint256 named = g1 - gasleft();
        emit log_named_uint("request naming no input, forge gas", plain);
        emit log_named_uint("request naming 5 blobs, forge gas", named);
        assertTrue(named > plain, "the check costs");
    }

    function test_a_request_naming_blobs_its_transaction_does_not_carry_is_refused() public {
        bytes32[] memory hs = _hashes(2, 7);
        _expectRefused(_cid(hs), abi.encodeWithSelector(BlobNotCarried.selector, 0));
        bytes32[] memory one = new bytes32[](1);
        one[0] = hs[0];
        vm.blobhashes(one);
        _expectRefused(_cid(hs), abi.encodeWithSelector(BlobNotCarried.selector, 1));
    }

    function test_blobs_named_out_of_order_or_with_another_hash_are_refused() public {
        bytes32[] memory hs = _hashes(3, 11);
        vm.blobhashes(hs);
        bytes32[] memory swapped = _hashes(3, 11);
        (swapped[1], swapped[2]) = (hs[2], hs[1]);
        _expectRefused(_cid(swapped), abi.encodeWithSelector(BlobMismatch.selector, 1));
        bytes32[] memory other = _hashes(3, 11);
        other[0] = bytes32(uint256(other[0]) ^ 1);
        _expectRefused(_cid(other), abi.encodeWithSelector(BlobMismatch.selector, 0));
        // upper-case hex is not the canonical name
        bytes memory upper = bytes(_cid(hs));
        for (uint256 i = 7; i < 7 + 64; ++i) {
            if (upper[i] >= "a" && upper[i] <= "f") upper[i] = bytes1(uint8(upper[i]) - 32);
        }
        _expectRefused(string(upper), abi.encodeWithSelector(BlobMismatch.selector, 0));
    }

    function test_a_transaction_carrying_more_blobs_than_named_is_refused() public {
        bytes32[] memory hs = _hashes(4, 3);
        vm.blobhashes(hs);
        bytes32[] memory two = new bytes32[](2);
        (two[0], two[1]) = (hs[0], hs[1]);
        _expectRefused(_cid(two), abi.encodeWithSelector(BlobsUnnamed.selector, 4));
    }

    function test_a_malformed_blob_list_is_refused() public {
        bytes32[] memory hs = _hashes(2, 5);
        vm.blobhashes(hs);
        bytes memory err = abi.encodeWithSelector(BlobCidMalformed.selector);
        _expectRefused("blob:", err);
        _expectRefused("blob:0x1234", err);
        string memory good = _cid(hs);
        bytes memory semi = bytes(string.concat(good)); // a copy
        semi[5 + 66] = ";";
        _expectRefused(string(semi), err);
        bytes memory noPrefix = bytes(string.concat(good));
        noPrefix[6] = "X";
        _expectRefused(string(noPrefix), err);
        _expectRefused(string.concat(good, ","), err);
        // and the good name passes in the same state
        _requestNaming(good);
    }

    /// A CID that does not start with `blob:` (an inline input, a content CID) is not checked,
    /// with or without blobs.
    function test_other_cids_are_not_checked() public {
        _requestNaming("");
        _requestNaming("bafkreiinput");
        _requestNaming("blob");
        vm.blobhashes(_hashes(1, 1));
        _requestNaming("bafkreiinput");
    }
}
