// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.27;

import {Test} from "../utils/Test.sol";
import {VouchZkVerifierMlp784} from "../../src/verifiers/VouchZkVerifierMlp784.sol";
import {VouchZkVerifierMlp10} from "../../src/verifiers/VouchZkVerifierMlp10.sol";

/// @notice Real Groth16 proofs made by `vouch zk prove` (testdata/proofs/v3, made by
/// crates/zk-prover/tests/fixtures.rs) verified by the exported verifiers; every tampering is
/// rejected (false), and a precompile call that fails reverts `PrecompileFailed`.
contract ZkVerifierTest is Test {
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    struct Fx {
        uint256[8] p;
        uint256[] pubs;
        bytes32 input;
        bytes32 output;
        bytes blob;
        int256[] outs;
    }

    function load(string memory name) internal view returns (Fx memory f) {
        string memory j =
            vm.readFile(string.concat(vm.projectRoot(), "/../testdata/proofs/v3/", name, ".calldata.json"));
        bytes32[] memory g = vm.parseJsonBytes32Array(j, ".groth16");
        for (uint256 i = 0; i < 8; i++) {
            f.p[i] = uint256(g[i]);
        }
        bytes32[] memory pb = vm.parseJsonBytes32Array(j, ".publics");
        f.pubs = new uint256[](pb.length);
        for (uint256 i = 0; i < pb.length; i++) {
            f.pubs[i] = uint256(pb[i]);
        }
        f.input = vm.parseJsonBytes32(j, ".input_commitment");
        f.output = vm.parseJsonBytes32(j, ".output_commitment");
        f.blob = vm.parseJsonBytes(j, ".proof");
        f.outs = vm.parseJsonIntArray(j, ".outputs");
    }

    function pubs3(Fx memory f) internal pure returns (uint256[3] memory p) {
        for (uint256 i = 0; i < 3; i++) {
            p[i] = f.pubs[i];
        }
    }

    function test_mlp784_valid_proof_verifies_and_gas() public {
        VouchZkVerifierMlp784 v = new VouchZkVerifierMlp784();
        Fx memory f = load("mlp_784_128_10");
        uint256 g0 = gasleft();
        bool ok = v.verifyGroth16(f.p, pubs3(f));
        uint256 used = g0 - gasleft();
        assertTrue(ok, "valid groth16");
        emit log_named_uint("verifyGroth16 gas", used);
        g0 = gasleft();
        ok = v.verifyProof(v.WEIGHTS_ROOT(), bytes32(0), f.input, f.output, f.blob);
        used = g0 - gasleft();
        assertTrue(ok, "valid IZkVerifier call");
        emit log_named_uint("verifyProof (IZkVerifier, with output commitment) gas", used);
        assertLt(used, 300_000, "gas target");
    }

    function test_mlp784_changed_output_rejected() public {
        VouchZkVerifierMlp784 v = new VouchZkVerifierMlp784();
        Fx memory f = load("mlp_784_128_10");
        uint256[3] memory p = pubs3(f);
        p[1] += 1; // first output element + 1
        assertFalse(v.verifyGroth16(f.p, p), "changed output");
        // Claimed output commitment that does not match the outputs in the blob.
        assertFalse(
            v.verifyProof(v.WEIGHTS_ROOT(), bytes32(0), f.input, keccak256("other"), f.blob), "other commitment"
        );
    }

    function test_mlp784_changed_input_rejected() public {
        VouchZkVerifierMlp784 v = new VouchZkVerifierMlp784();
        Fx memory f = load("mlp_784_128_10");
        uint256[3] memory p = pubs3(f);
        p[0] ^= 1;
        assertFalse(v.verifyGroth16(f.p, p), "changed input commitment");
        assertFalse(
            v.verifyProof(v.WEIGHTS_ROOT(), bytes32(0), bytes32(uint256(f.input) ^ 1), f.output, f.blob),
            "changed input via IZkVerifier"
        );
    }

    function test_mlp784_changed_proof_rejected() public {
        VouchZkVerifierMlp784 v = new VouchZkVerifierMlp784();
        Fx memory f = load("mlp_784_128_10");
        for (uint256 i = 0; i < 8; i++) {
            uint256[8] memory q = f.p;
            q[i] ^= 1; // a point off the curve: false, not a failed pairing call
            assertFalse(v.verifyGroth16(q, pubs3(f)), "flipped proof word");
        }
        uint256[8] memory big = f.p;
        big[3] += Q; // the same element, not reduced
        assertFalse(v.verifyGroth16(big, pubs3(f)), "coordinate outside the field");
    }

    /// A valid proof never returns false for lack of gas: from far too little gas up to what it
    /// needs, a call reverts (out of gas, or `PrecompileFailed` naming the precompile that
    /// failed) or returns true.
    function test_valid_proof_is_never_false_for_lack_of_gas() public {
        VouchZkVerifierMlp10 v = new VouchZkVerifierMlp10();
        Fx memory f = load("mlp_10_20_2");
        bytes32 root = v.WEIGHTS_ROOT();
        uint256[9] memory failed; // by precompile address
        uint256 trues;
        uint256 outOfGas;
        for (uint256 g = 10_000; g <= 300_000; g += 2_500) {
            try v.verifyProof{gas: g}(root, bytes32(0), f.input, f.output, f.blob) returns (bool ok) {
                assertTrue(ok, "a valid proof returned false");
                trues++;
            } catch (bytes memory err) {
                if (err.length == 0) {
                    outOfGas++;
                    continue;
                }
                bool known;
                for (uint256 a = 6; a <= 8; a++) {
                    if (
                        keccak256(err)
                            == keccak256(
                                abi.encodeWithSelector(
                                    VouchZkVerifierMlp10.PrecompileFailed.selector, address(uint160(a))
                                )
                            )
                    ) {
                        failed[a]++;
                        known = true;
                    }
                }
                assertTrue(known, "an unexpected revert");
            }
        }
        // an ecAdd/ecMul call that runs out leaves its caller 1/64 of a few thousand gas: too
        // little to encode the reason, so those limits revert out of gas (no data)
        assertGt(failed[8], 0, "some gas limits fail in the pairing, by name");
        assertGt(outOfGas, 0, "some run out before it");
        assertGt(trues, 0, "enough gas verifies");
        emit log_named_uint("gas limits that verified", trues);
        emit log_named_uint("reverted PrecompileFailed(8)", failed[8]);
        emit log_named_uint("reverted PrecompileFailed(6 or 7)", failed[6] + failed[7]);
        emit log_named_uint("reverted out of gas, no data", outOfGas);
    }

    /// A proof of the right statement under another key, with ample gas: false (the pairing ran).
    function test_wrong_proof_with_ample_gas_is_false() public {
        VouchZkVerifierMlp10 v = new VouchZkVerifierMlp10();
        Fx memory f = load("mlp_10_20_2");
        Fx memory g = load("mlp_784_128_10");
        uint256[2] memory q = [f.pubs[0], f.pubs[1]];
        assertFalse(v.verifyGroth16{gas: 1_000_000}(g.p, q), "another key's proof points");
    }

    function test_other_models_key_rejects() public {
        VouchZkVerifierMlp10 other = new VouchZkVerifierMlp10();
        VouchZkVerifierMlp784 v = new VouchZkVerifierMlp784();
        Fx memory f = load("mlp_784_128_10");
        uint256[2] memory p2 = [f.pubs[0], f.pubs[1]];
        assertFalse(other.verifyGroth16(f.p, p2), "784 proof under the 10-20-2 key");
        assertFalse(other.verifyProof(v.WEIGHTS_ROOT(), bytes32(0), f.input, f.output, f.blob), "wrong weights root");
        Fx memory g = load("mlp_10_20_2");
        uint256[2] memory q = [g.pubs[0], g.pubs[1]];
        assertTrue(other.verifyGroth16(g.p, q), "10-20-2 proof under its own key");
        assertTrue(other.verifyProof(other.WEIGHTS_ROOT(), bytes32(0), g.input, g.output, g.blob), "10-20-2 blob");
    }

    /// Any change to a valid blob (a byte of a proof point, the head, the length or a value
    /// XORed with a nonzero byte), or the blob cut or grown, never verifies: `verifyProof`
    /// returns false, or reverts only `PrecompileFailed(8)` (a `B` on the twist outside its
    /// subgroup reaches the pairing precompile, which refuses it).
    function testFuzz_a_changed_blob_never_verifies(uint256 at, uint8 x, uint16 cut) public {
        VouchZkVerifierMlp784 v = new VouchZkVerifierMlp784();
        Fx memory f = load("mlp_784_128_10");
        bytes32 root = v.WEIGHTS_ROOT();
        x = uint8(bound(x, 1, 255));
        bytes memory changed = bytes.concat(f.blob);
        at = bound(at, 0, changed.length - 1);
        changed[at] = changed[at] ^ bytes1(x);
        _neverTrue(v, root, f, changed);
        // cut short, or grown by up to 64 bytes (zeros)
        uint256 n = bound(cut, 0, f.blob.length + 64);
        if (n == f.blob.length) return;
        bytes memory resized = new bytes(n);
        for (uint256 i = 0; i < n && i < f.blob.length; i++) {
            resized[i] = f.blob[i];
        }
        _neverTrue(v, root, f, resized);
    }

    function _neverTrue(VouchZkVerifierMlp784 v, bytes32 root, Fx memory f, bytes memory blob) internal view {
        try v.verifyProof(root, bytes32(0), f.input, f.output, blob) returns (bool ok) {
            assertFalse(ok, "a changed blob verified");
        } catch (bytes memory err) {
            assertTrue(
                keccak256(err)
                    == keccak256(abi.encodeWithSelector(VouchZkVerifierMlp784.PrecompileFailed.selector, address(8))),
                "an unexpected revert"
            );
        }
    }
}
