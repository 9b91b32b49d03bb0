// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Fixture} from "./utils/Fixture.sol";
import {Vm} from "./utils/Vm.sol";
import {VectorJson} from "./utils/VectorJson.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {TaskRecord, Claim} from "../src/consumer/TaskRecord.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {IZkVerifier} from "../src/IZkVerifier.sol";
import {IVouchConsumer, VouchResult} from "../src/consumer/IVouchConsumer.sol";
import {IVouchTaskManager} from "../src/consumer/IVouchTaskManager.sol";
import {VouchResults} from "../src/consumer/VouchResults.sol";
import {VouchZkVerifierMlp10} from "../src/verifiers/VouchZkVerifierMlp10.sol";

/// A consumer that records what it is sent, or fails on purpose.
contract RecordingConsumer is IVouchConsumer {
    uint256 public results;
    uint256 public failures;
    uint256 public lastFailed;
    uint8 public behaviour; // 0 ok, 1 revert, 2 burn all gas
    VouchResult internal _last;

    function setBehaviour(uint8 b) external {
        behaviour = b;
    }

    function onVouchResult(VouchResult calldata r) external {
        if (behaviour == 1) revert("refused");
        if (behaviour == 2) {
            while (true) {}
        }
        ++results;
        _last = r;
    }

    function onVouchFailed(uint256 taskId) external {
        ++failures;
        lastFailed = taskId;
    }

    function last() external view returns (VouchResult memory) {
        return _last;
    }
}

/// Accepts a proof that is `abi.encode(output)`: a zk verifier whose proofs carry no values.
contract OpaqueProofVerifier is IZkVerifier {
    function verifyProof(bytes32, bytes32, bytes32, bytes32 out, bytes calldata proof) external pure returns (bool) {
        return keccak256(proof) == keccak256(abi.encode(out));
    }
}

/// Accepts every proof: the delivery alone decides what reaches the consumer.
contract AnyProofVerifier is IZkVerifier {
    function verifyProof(bytes32, bytes32, bytes32, bytes32, bytes calldata) external pure returns (bool) {
        return true;
    }
}

/// @notice Output values reach consumer contracts only when final and checked against the
/// output commitment: `finalize`/`finalizeCommittee` with values, `deliver` later (once), and
/// `submitZk` from the proof (a real Groth16 proof of testdata/proofs/v3); settlement never
/// depends on the values or on the consumer.
contract ResultDeliveryTest is Fixture {
    bytes32 internal constant INPUT = keccak256("input");
    bytes32 internal constant TRACE = keccak256("trace");
    /// IEEE-754 binary64 bits of 1/1024 and of 1/255
    uint64 internal constant SCALE_A = 0x3f50000000000000;
    uint64 internal constant SCALE_B = 0x3f70101010101010;

    RecordingConsumer internal consumer;

    function setUp() public override {
        super.setUp();
        // two outputs: a label (1 element per row) and 3 scores
        outputSpecs.push(ModelRegistry.OutputSpec({size: 1, scaleBits: SCALE_A}));
        outputSpecs.push(ModelRegistry.OutputSpec({size: 3, scaleBits: SCALE_B}));
        modelId = _registerModel(keccak256("weights"), keccak256("graph"), address(0));
        for (uint256 i; i < providers.length; ++i) {
            _stakeAndOptIn(providers[i], modelId);
        }
        consumer = new RecordingConsumer();
    }

    function _values() internal pure returns (int32[] memory v) {
        v = new int32[](4);
        (v[0], v[1], v[2], v[3]) = (2, -7, 300, 2_147_483_647);
    }

    function _commit(int32[] memory v, uint256 rows) internal view returns (bytes32) {
        (uint32[] memory sizes,) = registry.outputsOf(modelId, VERSION);
        return VouchResults.commitment(v, sizes, rows);
    }

    function _requestWithCallback(TaskManager.Mode mode, uint16 rows) internal returns (uint256 id) {
        TaskManager.RequestInput memory r = _requestInput(mode, INPUT);
        r.rows = rows;
        r.callback = address(consumer);
        r.callbackGas = 500_000;
        vm.prank(requester);
        id = tm.request(r);
    }

    /// An optimistic task with a callback, submitted with the commitment of `v`, window over.
    function _submitted(int32[] memory v) internal returns (uint256 id) {
        id = _requestWithCallback(TaskManager.Mode.Optimistic, 1);
        bytes32 outid = _commit(v, 1);
        vm.prank(providers[0]);
        tm.submit(id, outid, TRACE);
        vm.warp(block.timestamp + cfg.params.challengeWindow);
    }

    // ------------------------------------------------------------ registry

    function test_registry_keeps_each_outputs_size_and_exact_scale_bits() public view {
        (uint32[] memory sizes, uint64[] memory scales) = registry.outputsOf(modelId, VERSION);
        assertEq(sizes.length, 2, "two outputs");
        assertEq(sizes[0], 1, "label");
        assertEq(sizes[1], 3, "scores");
        assertEq(scales[0], SCALE_A, "scale bits of output 0");
        assertEq(scales[1], SCALE_B, "scale bits of output 1");
    }

    function test_registry_refuses_outputs_that_are_not_positive_finite_scales() public {
        uint64[5] memory bad = [
            uint64(0), // zero
            0x8000000000000000, // -0
            0xbf50000000000000, // negative
            0x7ff0000000000000, // infinity
            0x7ff8000000000000 // NaN
        ];
        for (uint256 i; i < bad.length + 1; ++i) {
            ModelRegistry.OutputSpec[] memory outs = new ModelRegistry.OutputSpec[](2);
            outs[0] = ModelRegistry.OutputSpec({size: 4, scaleBits: SCALE_A});
            // the last case: a good scale on an output of no elements
            outs[1] = i < bad.length
                ? ModelRegistry.OutputSpec({size: 4, scaleBits: bad[i]})
                : ModelRegistry.OutputSpec({size: 0, scaleBits: SCALE_A});
            vm.prank(modelOwner);
            vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadOutput.selector, uint256(1)));
            registry.addVersion(
                modelId,
                ModelRegistry.VersionInput(
                    "c", keccak256("p"), keccak256("w"), keccak256("g"), 4, "", address(0), outs, false, address(0)
                )
            );
        }
    }

    // ------------------------------------------------------------ optimistic

    function test_finalize_with_values_delivers_the_checked_result_once() public {
        int32[] memory v = _values();
        uint256 id = _submitted(v);
        tm.finalize(id, _rec(id), _claim(id), v);
        assertTrue(_status(id) == TaskManager.Status.Finalized, "finalized");
        assertEq(consumer.results(), 1, "delivered");
        VouchResult memory r = consumer.last();
        assertEq(r.taskId, id, "task");
        assertEq(r.requester, requester, "requester");
        assertEq(r.modelId, modelId, "model");
        assertEq(r.version, VERSION, "version");
        assertEq(r.mode, uint8(TaskManager.Mode.Optimistic), "mode");
        assertEq(r.rows, 1, "rows");
        assertEq(r.inputCommitment, INPUT, "input commitment");
        assertEq(r.outputCommitment, _commit(v, 1), "output commitment");
        assertEq(r.values.length, 4, "values");
        for (uint256 i; i < 4; ++i) {
            assertEq(r.values[i], v[i], "value");
        }
        assertEq(r.sizes[1], 3, "sizes");
        assertEq(r.scales[1], SCALE_B, "scales");
        // once: the delivered flag is set, a second deliver does nothing
        assertEq(tm.getTask(id).flags & 8, 8, "delivered flag");
        vm.expectRevert(TaskManager.NothingDelivered.selector);
        tm.deliver(id, _rec(id), _claim(id), v);
        assertEq(consumer.results(), 1, "still delivered once");
    }

    function test_values_that_do_not_open_the_commitment_are_refused() public {
        int32[] memory v = _values();
        uint256 id = _submitted(v);
        int32[] memory wrong = _values();
        wrong[2] += 1;
        vm.expectRevert(abi.encodeWithSelector(VouchResults.ValuesMismatch.selector, id));
        tm.finalize(id, _rec(id), _claim(id), wrong);
        int32[] memory short = new int32[](3);
        vm.expectRevert(abi.encodeWithSelector(VouchResults.ValuesMismatch.selector, id));
        tm.finalize(id, _rec(id), _claim(id), short);
        // the honest side settles without anyone's values
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        assertTrue(_status(id) == TaskManager.Status.Finalized, "finalized without values");
        assertEq(consumer.results(), 0, "nothing delivered yet");
        vm.expectRevert(abi.encodeWithSelector(VouchResults.ValuesMismatch.selector, id));
        tm.deliver(id, _rec(id), _claim(id), wrong);
    }

    function test_anyone_delivers_later_once_and_only_when_final() public {
        int32[] memory v = _values();
        uint256 id = _requestWithCallback(TaskManager.Mode.Optimistic, 1);
        vm.expectRevert(
            abi.encodeWithSelector(VouchResults.NotFinalized.selector, id, uint8(TaskManager.Status.Requested))
        );
        tm.deliver(id, _rec(id), _claim(id), v);
        bytes32 outid = _commit(v, 1);
        vm.prank(providers[0]);
        tm.submit(id, outid, TRACE);
        vm.expectRevert(
            abi.encodeWithSelector(VouchResults.NotFinalized.selector, id, uint8(TaskManager.Status.Submitted))
        );
        tm.deliver(id, _rec(id), _claim(id), v);
        vm.warp(block.timestamp + cfg.params.challengeWindow);
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        vm.expectRevert(TaskManager.NothingDelivered.selector);
        tm.deliver(id, _rec(id), _claim(id), new int32[](0));
        vm.prank(address(0xD0E)); // a stranger holding the values
        tm.deliver(id, _rec(id), _claim(id), v);
        assertEq(consumer.results(), 1, "delivered");
        assertEq(consumer.last().values[3], v[3], "values");
        vm.expectRevert(TaskManager.NothingDelivered.selector);
        tm.deliver(id, _rec(id), _claim(id), v);
        // a task without a callback has nothing to deliver
        uint256 plain = _request(TaskManager.Mode.Optimistic, INPUT);
        bytes32 outplain = _commit(v, 1);
        vm.prank(providers[0]);
        tm.submit(plain, outplain, TRACE);
        vm.warp(block.timestamp + cfg.params.challengeWindow);
        tm.finalize(plain, _rec(plain), _claim(plain), v);
        assertTrue(_status(plain) == TaskManager.Status.Finalized, "finalized with values, no callback");
        vm.expectRevert(TaskManager.NothingDelivered.selector);
        tm.deliver(plain, _rec(plain), _claim(plain), v);
    }

    function test_rows_lay_out_each_output_row_after_row() public {
        // 2 rows: label row 0, label row 1, then scores row 0 (3), scores row 1 (3)
        int32[] memory v = new int32[](8);
        (v[0], v[1]) = (1, 2);
        (v[2], v[3], v[4], v[5], v[6], v[7]) = (10, 11, 12, -20, -21, -22);
        uint256 id = _requestWithCallback(TaskManager.Mode.Optimistic, 2);
        bytes32 outid = _commit(v, 2);
        vm.prank(providers[0]);
        tm.submit(id, outid, TRACE);
        vm.warp(block.timestamp + cfg.params.challengeWindow);
        tm.finalize(id, _rec(id), _claim(id), v);
        VouchResult memory r = consumer.last();
        assertEq(r.rows, 2, "rows");
        assertEq(VouchResults.valueAt(r, 0, 1, 0), 2, "label of row 1");
        assertEq(VouchResults.valueAt(r, 1, 1, 2), -22, "score 2 of row 1");
        (uint256 best, int32 top) = VouchResults.argmax(r, 1, 0);
        assertEq(best, 2, "argmax of row 0");
        assertEq(top, 12, "its value");
        (best,) = VouchResults.argmax(r, 1, 1);
        assertEq(best, 0, "argmax of row 1");
        vm.expectRevert(VouchResults.OutOfRange.selector);
        this.valueAt(r, 1, 2, 0);
    }

    function valueAt(VouchResult memory r, uint256 o, uint256 row, uint256 i) external pure returns (int32) {
        return VouchResults.valueAt(r, o, row, i);
    }

    // ------------------------------------------------------------ failing consumers

    function test_a_failing_consumer_never_blocks_settlement() public {
        int32[] memory v = _values();
        for (uint8 b = 1; b <= 2; ++b) {
            consumer.setBehaviour(b);
            uint256 id = _submitted(v);
            tm.finalize(id, _rec(id), _claim(id), v);
            assertTrue(_status(id) == TaskManager.Status.Finalized, "finalized");
            assertEq(tm.getTask(id).flags & 16, 16, "callback failure recorded");
            vm.expectRevert(TaskManager.NothingDelivered.selector);
            tm.deliver(id, _rec(id), _claim(id), v); // delivered once, even if the consumer failed
        }
        assertEq(consumer.results(), 0, "nothing recorded");
    }

    function test_a_finalizer_cannot_starve_the_callback() public {
        int32[] memory v = _values();
        uint256 id = _submitted(v);
        // enough gas to settle and check the values, not for the callback's cap
        (bool ok, bytes memory ret) =
            address(tm).call{gas: 250_000}(abi.encodeCall(tm.finalize, (id, _rec(id), _claim(id), v)));
        assertFalse(ok, "reverted");
        assertEq(bytes4(ret), TaskManager.InsufficientGasForCallback.selector, "for the callback's gas");
        tm.finalize(id, _rec(id), _claim(id), v);
        assertEq(consumer.results(), 1, "delivered with enough gas");
    }

    function test_a_refund_tells_the_consumer_the_task_failed() public {
        uint256 id = _requestWithCallback(TaskManager.Mode.Optimistic, 1);
        vm.warp(block.timestamp + 2 hours);
        tm.refund(id, _rec(id));
        assertEq(consumer.failures(), 1, "told");
        assertEq(consumer.lastFailed(), id, "which task");
        vm.expectRevert(
            abi.encodeWithSelector(VouchResults.NotFinalized.selector, id, uint8(TaskManager.Status.Refunded))
        );
        tm.deliver(id, _rec(id), _claim(id), _values());
    }

    // ------------------------------------------------------------ committee

    function test_committee_finalize_with_values_delivers() public {
        int32[] memory v = _values();
        bytes32 out = _commit(v, 1);
        uint256 id = _requestWithCallback(TaskManager.Mode.Committee, 1);
        vm.roll(block.number + 2);
        address[] memory m = _drawOf(id);
        bytes32[] memory commits = new bytes32[](1);
        commits[0] = keccak256(abi.encode(id, m[0], out, TRACE, bytes32(0)));
        vm.prank(m[0]);
        tm.commit(id, 0, commits[0], m);
        vm.warp(block.timestamp + 1 hours + 1); // commit deadline passed: reveals open
        vm.prank(m[0]);
        tm.reveal(id, _rec(id), _claim(id), 0, Claim(out, TRACE), bytes32(0), m, commits);
        vm.warp(block.timestamp + cfg.params.revealWindow);
        int32[] memory wrong = _values();
        wrong[0] = 3;
        vm.expectRevert(abi.encodeWithSelector(VouchResults.ValuesMismatch.selector, id));
        tm.finalizeCommittee(id, _rec(id), _claim(id), m, wrong);
        tm.finalizeCommittee(id, _rec(id), _claim(id), m, v);
        assertTrue(_status(id) == TaskManager.Status.Finalized, "finalized");
        assertEq(consumer.results(), 1, "delivered");
        assertEq(consumer.last().mode, uint8(TaskManager.Mode.Committee), "mode");
    }

    // ------------------------------------------------------------ zk

    /// A real proof of the mlp_10_20_2 fixture (testdata/proofs/v3): its values are delivered
    /// in the `submitZk` that settles the task.
    function test_zk_delivers_the_proofs_values_at_once() public {
        VouchZkVerifierMlp10 v = new VouchZkVerifierMlp10();
        string memory j =
            vm.readFile(string.concat(vm.projectRoot(), "/../testdata/proofs/v3/mlp_10_20_2.calldata.json"));
        delete outputSpecs;
        outputSpecs.push(ModelRegistry.OutputSpec({size: 2, scaleBits: SCALE_A}));
        modelId = _registerModel(v.WEIGHTS_ROOT(), keccak256("graph"), address(v));
        uint256 id;
        {
            TaskManager.RequestInput memory req =
                _requestInput(TaskManager.Mode.Zk, vm.parseJsonBytes32(j, ".input_commitment"));
            req.callback = address(consumer);
            req.callbackGas = 500_000;
            vm.prank(requester);
            id = tm.request(req);
        }
        vm.prank(providers[0]);
        tm.submitZk(id, _rec(id), vm.parseJsonBytes32(j, ".output_commitment"), vm.parseJsonBytes(j, ".proof"));
        assertTrue(_status(id) == TaskManager.Status.Finalized, "finalized");
        assertEq(consumer.results(), 1, "delivered at once");
        VouchResult memory r = consumer.last();
        int256[] memory outs = vm.parseJsonIntArray(j, ".outputs");
        assertEq(r.values.length, outs.length, "the proof's values");
        for (uint256 i; i < outs.length; ++i) {
            assertEq(int256(r.values[i]), outs[i], "value");
        }
        assertEq(r.mode, uint8(TaskManager.Mode.Zk), "mode");
    }

    /// A verifier whose proofs carry no values settles as before; the values can follow.
    function test_zk_proof_without_values_settles_and_delivery_may_follow() public {
        OpaqueProofVerifier v = new OpaqueProofVerifier();
        modelId = _registerModel(keccak256("weights"), keccak256("graph"), address(v));
        int32[] memory vals = _values();
        bytes32 out = _commit(vals, 1);
        uint256 id = _requestWithCallback(TaskManager.Mode.Zk, 1);
        vm.prank(providers[0]);
        tm.submitZk(id, _rec(id), out, abi.encode(out));
        assertTrue(_status(id) == TaskManager.Status.Finalized, "finalized");
        assertEq(consumer.results(), 0, "no values in the proof");
        tm.deliver(id, _rec(id), _claim(id), vals);
        assertEq(consumer.results(), 1, "delivered later");
    }

    /// A proof in vouch's layout whose values do not open the output commitment settles the
    /// task without a delivery (the TaskManager's `_zkCallData` returns nothing, no revert); the
    /// right values can follow with `deliver`. `tryFetch` reports both refusals.
    function test_zk_proof_with_wrong_values_settles_without_delivery() public {
        AnyProofVerifier v = new AnyProofVerifier();
        modelId = _registerModel(keccak256("weights"), keccak256("graph"), address(v));
        int32[] memory vals = _values();
        bytes32 out = _commit(vals, 1);
        uint256 id = _requestWithCallback(TaskManager.Mode.Zk, 1);
        (, bool ok) = this.tryFetch(id, _rec(id), _claim(id).traceRoot, vals);
        assertFalse(ok, "not finalized yet");
        int32[] memory wrong = _values();
        wrong[1] = -8;
        uint256[8] memory g;
        vm.prank(providers[0]);
        tm.submitZk(id, _rec(id), out, abi.encode(g, wrong));
        assertTrue(_status(id) == TaskManager.Status.Finalized, "finalized");
        assertEq(consumer.results(), 0, "the wrong values are not delivered");
        (, ok) = this.tryFetch(id, _rec(id), _claim(id).traceRoot, wrong);
        assertFalse(ok, "the wrong values do not open the commitment");
        VouchResult memory r;
        (r, ok) = this.tryFetch(id, _rec(id), _claim(id).traceRoot, vals);
        assertTrue(ok && r.taskId == id, "the right values do");
        tm.deliver(id, _rec(id), _claim(id), vals);
        assertEq(consumer.results(), 1, "delivered later");
    }

    function tryFetch(uint256 id, TaskRecord memory rec, bytes32 traceRoot, int32[] memory v)
        external
        view
        returns (VouchResult memory, bool)
    {
        return VouchResults.tryFetch(IVouchTaskManager(address(tm)), id, rec, traceRoot, v);
    }

    // ------------------------------------------------------------ commitments and fixed point

    /// The commitment the library computes is the Rust engine's: every output of the shared
    /// vectors (testdata/vectors) with its `output_commitment`.
    function test_tensor_commitment_matches_the_engines_vectors() public view {
        Vm.DirEntry[] memory files = vm.readDir("../testdata/vectors");
        uint256 cases;
        for (uint256 f; f < files.length; ++f) {
            if (files[f].isDir) continue;
            string memory json = vm.readFile(files[f].path);
            for (uint256 c; vm.keyExistsJson(json, string.concat(".cases[", vm.toString(c), "]")); ++c) {
                string memory base = string.concat(".cases[", vm.toString(c), "]");
                int256[] memory d = VectorJson.tensor(json, string.concat(base, ".output")).data;
                int32[] memory v = new int32[](d.length);
                for (uint256 i; i < d.length; ++i) {
                    v[i] = int32(d[i]);
                }
                assertEq(
                    VouchResults.tensorCommitment(v, 0, v.length),
                    vm.parseJsonBytes32(json, string.concat(base, ".output_commitment")),
                    vm.parseJsonString(json, string.concat(base, ".name"))
                );
                ++cases;
            }
        }
        assertGt(cases, 40, "vectors found");
    }

    function _wadCase(int256 q, uint64 bits, int256 want) internal pure {
        assertEq(VouchResults.toWad(q, bits), want, "toWad");
    }

    /// Expected values: exact rational arithmetic (Python `fractions`) on the binary64 scale,
    /// truncated toward zero.
    function test_to_wad_is_exact() public pure {
        _wadCase(12_345, 0x3f70101010101010, 48_411_764_705_882_352_269); // 1/255
        _wadCase(-12_345, 0x3f70101010101010, -48_411_764_705_882_352_269);
        _wadCase(-32_768, 0x3f00000000000000, -1_000_000_000_000_000_000); // 2^-15
        _wadCase(7, 0x3fb999999999999a, 700_000_000_000_000_038); // 0.1
        _wadCase(2_147_483_647, 0x3ff0000000000000, 2_147_483_647_000_000_000_000_000_000); // 1.0
        _wadCase(-2_147_483_648, 0x3f00000000000000, -65_536_000_000_000_000_000_000); // 2^-15
        _wadCase(2_147_483_647, 0x0000000000000001, 0); // 5e-324 (subnormal)
        _wadCase(-5, 0x01a56e1fc2f8f359, 0); // 1e-300
        _wadCase(-3, 0x43b0000000000000, -3_458_764_513_820_540_928_000_000_000_000_000_000); // 2^60
        _wadCase(-1, 0x3fbf9add3739635f, -123_456_788_999_999_997); // 0.123456789
        _wadCase(2_147_483_647, 0x4410000000000000, 158_456_324_954_741_698_892_249_694_208_000_000_000_000_000_000); // 2^66
    }

    function test_to_wad_refuses_what_is_not_a_scale() public {
        uint64[5] memory bad =
            [uint64(0), 0x8000000000000000, 0xbff0000000000000, 0x7ff0000000000000, 0x4420000000000000];
        for (uint256 i; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(VouchResults.BadScale.selector, bad[i]));
            this.toWad(1, bad[i]);
        }
    }

    function toWad(int256 q, uint64 bits) external pure returns (int256) {
        return VouchResults.toWad(q, bits);
    }

    /// Pulling: the library reads the task back and checks the values.
    function test_fetch_pulls_a_finalized_result() public {
        int32[] memory v = _values();
        uint256 id = _submitted(v);
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        VouchResult memory r = this.fetch(id, _rec(id), _claim(id).traceRoot, v);
        assertEq(r.taskId, id, "task");
        assertEq(r.outputCommitment, _claim(id).output, "commitment");
        v[0] = 0;
        vm.expectRevert(abi.encodeWithSelector(VouchResults.ValuesMismatch.selector, id));
        this.fetch(id, _rec(id), _claim(id).traceRoot, v);
    }

    function fetch(uint256 id, TaskRecord memory rec, bytes32 traceRoot, int32[] memory v)
        external
        view
        returns (VouchResult memory)
    {
        return VouchResults.fetch(IVouchTaskManager(address(tm)), id, rec, traceRoot, v);
    }
}
