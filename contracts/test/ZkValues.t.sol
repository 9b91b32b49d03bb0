// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Test} from "./utils/Test.sol";
import {VouchResults} from "../src/consumer/VouchResults.sol";

/// Exposes the in-place proof reader the TaskManager delivers zk results with.
contract ZkValuesHarness {
    function values(bytes calldata proof) external pure returns (int32[] memory, bool) {
        return VouchResults.proofValues(proof);
    }

    function decoded(bytes calldata proof) external pure returns (int32[] memory v) {
        (, v) = abi.decode(proof, (uint256[8], int32[]));
    }
}

/// @notice `VouchResults.proofValues` (the TaskManager's zk delivery) reads a zk proof's values
/// without a call to `abi.decode` (so a malformed proof cannot revert `submitZk`'s delivery): it
/// accepts exactly what `abi.decode` accepts, with the same values.
contract ZkValuesTest is Test {
    ZkValuesHarness internal h;

    function setUp() public {
        h = new ZkValuesHarness();
    }

    function _same(bytes memory proof) internal view {
        (int32[] memory got, bool ok) = h.values(proof);
        try h.decoded(proof) returns (int32[] memory want) {
            assertTrue(ok, "abi.decode accepts it");
            assertEq(got.length, want.length, "length");
            for (uint256 i; i < want.length; ++i) {
                assertEq(int256(got[i]), int256(want[i]), "value");
            }
        } catch {
            assertFalse(ok, "abi.decode refuses it");
        }
    }

    function testFuzz_well_formed_proofs_read_as_abi_decode(uint256[8] memory g, int32[] memory v) public view {
        _same(abi.encode(g, v));
    }

    function testFuzz_any_bytes_read_as_abi_decode(bytes memory proof) public view {
        _same(proof);
    }

    /// Truncations, a dirty element, an offset or a length past the end.
    function test_malformed_proofs_are_refused_like_abi_decode() public view {
        int32[] memory v = new int32[](3);
        (v[0], v[1], v[2]) = (-1, 7, type(int32).min);
        bytes memory ok = abi.encode([uint256(1), 2, 3, 4, 5, 6, 7, 8], v);
        _same(ok);
        for (uint256 cut = 1; cut <= 0x40; cut += 0x1f) {
            bytes memory p = bytes.concat(ok);
            assembly {
                mstore(p, sub(mload(p), cut))
            }
            _same(p);
        }
        bytes memory dirty = bytes.concat(ok);
        dirty[0x140 + 0x20 + 3] = 0x01; // element 1: a bit above its low 32 bits
        _same(dirty);
        (, bool accepted) = h.values(dirty);
        assertFalse(accepted, "a dirty element");
        bytes memory far = bytes.concat(ok);
        far[0x11f] = 0xff; // offset past the end
        _same(far);
        bytes memory long = bytes.concat(ok);
        long[0x13f] = 0x04; // length 4 with 3 elements present
        _same(long);
        (, accepted) = h.values(long);
        assertFalse(accepted, "a length past the end");
    }
}
