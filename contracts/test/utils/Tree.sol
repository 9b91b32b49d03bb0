// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Semantics} from "../../src/OneStepVerifier.sol";

/// @notice Test-side Merkle trees (docs/semantics.md section 6) with proofs in the order the
/// contracts verify them.
library Tree {
    /// All levels of a tree over `leaves` padded to a power of two; levels[0] are the leaves.
    function levels(bytes32[] memory leaves) internal pure returns (bytes32[][] memory lv) {
        uint256 size = 1;
        while (size < leaves.length) size <<= 1;
        uint256 depth = Semantics.depthOf(size);
        lv = new bytes32[][](depth + 1);
        lv[0] = new bytes32[](size);
        for (uint256 i; i < leaves.length; ++i) {
            lv[0][i] = leaves[i];
        }
        for (uint256 d = 1; d <= depth; ++d) {
            uint256 n = lv[d - 1].length / 2;
            lv[d] = new bytes32[](n);
            for (uint256 i; i < n; ++i) {
                lv[d][i] = keccak256(abi.encodePacked(lv[d - 1][2 * i], lv[d - 1][2 * i + 1]));
            }
        }
    }

    function root(bytes32[][] memory lv) internal pure returns (bytes32) {
        if (lv[0].length == 0) return bytes32(0);
        return lv[lv.length - 1][0];
    }

    function words(int256[] memory data) internal pure returns (bytes32[] memory w) {
        w = new bytes32[]((data.length + 7) / 8);
        for (uint256 i; i < w.length; ++i) {
            w[i] = Semantics.packWord(data, 8 * i);
        }
    }

    function tensorLevels(int256[] memory data) internal pure returns (bytes32[][] memory) {
        bytes32[] memory w = words(data);
        for (uint256 i; i < w.length; ++i) {
            w[i] = keccak256(abi.encodePacked(w[i]));
        }
        return levels(w);
    }

    function commitment(int256[] memory data) internal pure returns (bytes32) {
        return Semantics.tensorCommitment(data.length, root(tensorLevels(data)));
    }

    function leafProof(bytes32[][] memory lv, uint256 index) internal pure returns (bytes32[] memory p) {
        uint256 depth = lv.length - 1;
        p = new bytes32[](depth);
        for (uint256 d; d < depth; ++d) {
            p[d] = lv[d][index ^ 1];
            index >>= 1;
        }
    }

    function rangeProof(bytes32[][] memory lv, uint256 start, uint256 len) internal pure returns (bytes32[] memory p) {
        uint256 depth = lv.length - 1;
        bytes32[] memory tmp = new bytes32[](2 * depth);
        uint256 k;
        uint256 lo = start;
        uint256 hi = start + len - 1;
        for (uint256 d; d < depth; ++d) {
            if (lo & 1 == 1) tmp[k++] = lv[d][lo - 1];
            if (hi & 1 == 0) tmp[k++] = lv[d][hi + 1];
            lo >>= 1;
            hi >>= 1;
        }
        p = new bytes32[](k);
        for (uint256 i; i < k; ++i) {
            p[i] = tmp[i];
        }
    }
}
