// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {OneStepVerifier} from "./OneStepVerifier.sol";

/// @title InputRange
/// @notice The input rule of docs/semantics.md section 8.7: which committed graph-input
/// elements the engine refuses. A graph-input reference of a node descriptor is
/// `GRAPH_INPUT | kind << 64 | i` (section 8.1): `i` the input's leaf of the input commitment,
/// `kind` 0 for `act8` (`[-128, 127]`), 1 for `act16` (`[-32768, 32767]`), 2 for a kind the
/// engine does not range-check (`wide`, `index`). A `TreeEnsemble` also refuses a feature code
/// of feature `f` outside `[-1, 2 |T_f|]`, `|T_f| = bounds[f + 1] - bounds[f]` (section 3.1).
library InputRange {
    /// `kind` code of an `act8` graph input (the code 0 keeps every `act8` descriptor as before).
    uint256 internal constant KIND_ACT8 = 0;
    /// `kind` code of an `act16` graph input.
    uint256 internal constant KIND_ACT16 = 1;

    /// Leaf index `i` of a graph-input reference (its low 64 bits).
    function index(uint256 ref) internal pure returns (uint256) {
        return uint64(ref);
    }

    /// Whether `v` lies outside the range of the kind that graph-input reference `ref` declares.
    function outsideKind(uint256 ref, int256 v) internal pure returns (bool) {
        uint256 kind = uint8(ref >> 64);
        if (kind == KIND_ACT8) return v < -128 || v > 127;
        if (kind == KIND_ACT16) return v < -32768 || v > 32767;
        return false;
    }

    /// Whether feature code `v` of feature `f` lies outside `[-1, 2 |T_f|]`, with `b` a window of
    /// the ensemble's `bounds` constant covering `f` and `f + 1`.
    function outsideCode(OneStepVerifier.Tensor memory b, uint256 f, int256 v) internal pure returns (bool) {
        int256 thresholds = OneStepVerifier.at(b, f + 1) - OneStepVerifier.at(b, f);
        return v < -1 || v > 2 * thresholds;
    }
}
