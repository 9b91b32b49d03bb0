// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Test} from "./utils/Test.sol";
import {Vm} from "./utils/Vm.sol";
import {VectorJson} from "./utils/VectorJson.sol";
import {Tree} from "./utils/Tree.sol";
import {OneStepVerifier} from "../src/OneStepVerifier.sol";

/// @notice Replays every case of the shared vectors in testdata/vectors/*.json (written by the
/// Rust engine) through the on-chain OneStepVerifier, element by element, and checks the output
/// and its tensor commitment bit for bit.
contract VectorsTest is Test {
    string internal constant DIR = "../testdata/vectors";

    function test_replay_shared_vectors() public {
        Vm.DirEntry[] memory files = vm.readDir(DIR);
        uint256 cases;
        uint256 elements;
        for (uint256 f; f < files.length; ++f) {
            string memory path = files[f].path;
            if (files[f].isDir || !_endsWith(path, ".json")) continue;
            string memory json = vm.readFile(path);
            assertEq(vm.parseJsonUint(json, ".semantics_version"), 6, "semantics version");
            for (uint256 c; vm.keyExistsJson(json, string.concat(".cases[", vm.toString(c), "]")); ++c) {
                elements += _replay(json, string.concat(".cases[", vm.toString(c), "]"));
                ++cases;
            }
        }
        emit log_named_uint("vector cases replayed", cases);
        emit log_named_uint("elements checked", elements);
        assertGt(cases, 0, "no vectors found in testdata/vectors");
    }

    function _replay(string memory json, string memory base) internal returns (uint256) {
        string memory name = vm.parseJsonString(json, string.concat(base, ".name"));
        OneStepVerifier.Node memory node;
        node.op = VectorJson.opCode(vm.parseJsonString(json, string.concat(base, ".op")));
        node.attrs = VectorJson.attrs(json, string.concat(base, ".attrs"), node.op);
        OneStepVerifier.Tensor[] memory ins = VectorJson.tensors(json, string.concat(base, ".inputs"));
        OneStepVerifier.Tensor[] memory cs = VectorJson.tensors(json, string.concat(base, ".consts"));
        OneStepVerifier.Tensor memory out = VectorJson.tensor(json, string.concat(base, ".output"));
        node.outShape = out.shape;
        int256[] memory got = new int256[](out.data.length);
        for (uint256 e; e < out.data.length; ++e) {
            got[e] = OneStepVerifier.evalElement(node, ins, cs, e);
            if (got[e] != out.data[e]) {
                emit log_named_uint(string.concat(name, ": mismatch at element"), e);
                emit log_named_int("expected", out.data[e]);
                emit log_named_int("computed", got[e]);
                revert(string.concat("vector mismatch: ", name));
            }
        }
        bytes32 want = vm.parseJsonBytes32(json, string.concat(base, ".output_commitment"));
        assertEq(Tree.commitment(got), want, string.concat("output commitment: ", name));
        return out.data.length;
    }

    function _endsWith(string memory s, string memory suffix) internal pure returns (bool) {
        bytes memory a = bytes(s);
        bytes memory b = bytes(suffix);
        if (a.length < b.length) return false;
        for (uint256 i; i < b.length; ++i) {
            if (a[a.length - b.length + i] != b[i]) return false;
        }
        return true;
    }
}
