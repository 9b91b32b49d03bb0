// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {PartialSumKit} from "./utils/PartialSumKit.sol";
import {Tree} from "./utils/Tree.sol";
import {OneStepVerifier} from "../src/OneStepVerifier.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {TaskRecord, Claim} from "../src/consumer/TaskRecord.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {Outcome} from "../src/IDisputeGame.sol";

/// @notice Disputes of batched tasks (docs/semantics.md section 8.5): a task of `rows` rows is
/// judged one element of one row at a time against the batch-1 graph.
contract BatchDisputeTest is PartialSumKit {
    uint16 internal constant ROWS = 8;

    function _stakeOf(address p) internal view returns (uint256 s) {
        s = staking.providers(p).stake;
    }

    /// 100-8-4 MLP over `rows` rows: Linear+ReLU (K = 100 > CHUNK, so the partial-sum game
    /// applies), then Linear.
    function _batchMlp(uint256 rows) internal pure returns (Model memory m) {
        m.rows = rows;
        m.input = _rand(21, 100 * rows, -128, 127);
        m.inputShape = _u(1, 100);
        m.consts = new int256[][](4);
        m.constShapes = new uint256[][](4);
        (m.consts[0], m.constShapes[0]) = (_rand(22, 8 * 100, -127, 127), _u(8, 100));
        (m.consts[1], m.constShapes[1]) = (_rand(23, 8, -5000, 5000), _u(8));
        (m.consts[2], m.constShapes[2]) = (_rand(24, 4 * 8, -127, 127), _u(4, 8));
        (m.consts[3], m.constShapes[3]) = (_rand(25, 4, -5000, 5000), _u(4));
        m.nodes = new OneStepVerifier.Node[](2);
        m.nodes[0] = _linearNode(G, _u(1, 100), 0, 1, 8, 100, 0);
        m.nodes[0].attrs[1] = 20;
        m.nodes[1] = _linearNode(0, _u(1, 8), 2, 3, 4, 8, -128);
        m.nodes[1].attrs[1] = 16;
        m.outputNodes = _u(1);
    }

    function _assertLiarSlashed(Play memory p) internal view {
        assertEq(uint8(game.game(p.gid).outcome), uint8(Outcome.ChallengerWins), "challenger wins");
        assertTrue(_status(p.taskId) == TaskManager.Status.Failed, "task failed");
        assertEq(_stakeOf(p.defender), STAKE - cfg.providerBond, "liar slashed");
        assertEq(tm.balances(challenger), cfg.params.challengerBond + cfg.providerBond, "challenger paid");
        assertEq(tm.balances(requester), FEE, "fee refunded");
        _assertConserved();
    }

    function test_rows_recorded_and_passed_to_the_game() public {
        Model memory m = _batchMlp(ROWS);
        _execute(m);
        (, Play memory p) = _playToOneStep(m, 1, 5, true);
        assertEq(_rec(p.taskId).rows, ROWS, "task rows (the record)");
        assertEq(game.game(p.gid).rows, ROWS, "game rows");
    }

    function test_lie_in_row_zero_is_slashed() public {
        Model memory m = _batchMlp(ROWS);
        _execute(m);
        (, Play memory p) = _playDispute(m, 1, 2, true); // row 0, output 2
        _assertLiarSlashed(p);
    }

    function test_lie_in_last_row_is_slashed() public {
        Model memory m = _batchMlp(ROWS);
        _execute(m);
        (, Play memory p) = _playDispute(m, 1, (ROWS - 1) * 4 + 3, true); // row 7, output 3
        _assertLiarSlashed(p);
    }

    function test_lie_in_last_row_of_a_hidden_layer_is_slashed() public {
        Model memory m = _batchMlp(ROWS);
        _execute(m);
        (, Play memory p) = _playDispute(m, 0, (ROWS - 1) * 8 + 6, true);
        _assertLiarSlashed(p);
    }

    function test_lying_challenger_of_a_batched_task_loses() public {
        Model memory m = _batchMlp(ROWS);
        _execute(m);
        (, Play memory p) = _playDispute(m, 1, 3 * 4 + 1, false);
        assertEq(uint8(game.game(p.gid).outcome), uint8(Outcome.DefenderWins), "defender wins");
        assertEq(_stakeOf(p.defender), STAKE, "honest provider keeps its stake");
    }

    function test_partial_sums_in_last_row() public {
        Model memory m = _batchMlp(ROWS);
        _execute(m);
        Run memory r;
        uint256 e = (ROWS - 1) * 8 + 5;
        (r.gas, r.p) = _playToOneStep(m, 0, e, true);
        r.e = e;
        int256[] memory honest = _prefix(m, 0, e);
        int256[] memory lie = _lie(honest, 1, _accFor(m.nodes[0].attrs, r.p.defOuts[0][e]));
        r.def = Side(r.p.defender, lie);
        r.cha = Side(challenger, honest);
        uint256 lo = _play(r, 0);
        assertEq(lo, 1, "bisection finds the deviating chunk");
        _assertLiarSlashed(r.p);
    }

    function test_window_of_another_row_is_rejected() public {
        Model memory m = _batchMlp(ROWS);
        _execute(m);
        uint256 e = 2 * 4 + 1; // row 2
        (, Play memory p) = _playToOneStep(m, 1, e, true);
        // the windows of row 3 prove real data, but not the row the element is in
        bytes memory wrong = _oneStepCallWith(p, 1, e + 4, type(uint256).max);
        vm.prank(challenger);
        (bool ok,) = address(game).call(wrong);
        assertFalse(ok, "another row's window does not settle the element");
        vm.prank(challenger);
        (ok,) = address(game).call(_oneStepCall(p, 1, e));
        assertTrue(ok, "the element's own row settles");
        _assertLiarSlashed(p);
    }

    function test_batch1_sized_trace_loses_the_shape_step() public {
        // the liar's tensors describe one row: different sizes go to resolveShape
        Model memory m = _batchMlp(ROWS);
        _execute(m);
        modelId = _registerModel(m.weightsRoot, m.graphRoot, address(0));
        address liar = providers[0];
        _stakeAndOptIn(liar, modelId);
        int256[][] memory short_ = _copyOuts(m.outs);
        short_[0] = _row(m.outs[0], 8, 0);
        bytes32[][] memory dt = Tree.levels(_traceLeaves(short_));
        bytes32[][] memory ct = Tree.levels(_traceLeaves(m.outs));
        uint256 id = _requestRows(TaskManager.Mode.Optimistic, m.inputCommitment, ROWS);
        vm.prank(liar);
        tm.submit(id, m.outputCommitment, Tree.root(dt));
        vm.prank(challenger);
        uint256 gid = tm.challenge(id, _rec(id), _claim(id), Claim(keccak256("honest"), Tree.root(ct)));
        game.postGraph(gid, m.nodes.length, m.nodesRoot, m.outputNodes);
        _descend(gid, liar, dt, ct);
        vm.prank(liar);
        game.postHeader(gid, short_[0].length, Tree.root(Tree.tensorLevels(short_[0])));
        vm.prank(challenger);
        game.postHeader(gid, m.outs[0].length, Tree.root(Tree.tensorLevels(m.outs[0])));
        assertTrue(game.game(gid).phase == DisputeGame.Phase.Shape, "sizes differ");
        game.resolveShape(gid, m.nodes[0], Tree.leafProof(Tree.levels(_nodeLeaves(m)), 0));
        assertEq(uint8(game.game(gid).outcome), uint8(Outcome.ChallengerWins), "rows x batch-1 size wins");
    }

    function test_zero_rows_refused() public {
        Model memory m = _batchMlp(1);
        _execute(m);
        modelId = _registerModel(m.weightsRoot, m.graphRoot, address(0));
        TaskManager.RequestInput memory r = _requestInput(TaskManager.Mode.Optimistic, m.inputCommitment);
        r.rows = 0;
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(TaskManager.BadRows.selector, uint16(0)));
        tm.request(r);
    }

    function test_malformed_input_loses_for_the_provider() public {
        // the requester committed one row but asked for two: no answer exists; a provider that
        // answers anyway is beaten by a challenger claiming "no answer" (output 0)
        Model memory m = _batchMlp(1);
        _execute(m);
        modelId = _registerModel(m.weightsRoot, m.graphRoot, address(0));
        address liar = providers[0];
        _stakeAndOptIn(liar, modelId);
        bytes32[][] memory dt = Tree.levels(_traceLeaves(m.outs));
        uint256 id = _requestRows(TaskManager.Mode.Optimistic, m.inputCommitment, 2);
        vm.prank(liar);
        tm.submit(id, m.outputCommitment, Tree.root(dt));
        vm.prank(challenger);
        uint256 gid = tm.challenge(id, _rec(id), _claim(id), Claim(bytes32(0), bytes32(0)));
        bytes32[] memory nodeProof = Tree.leafProof(Tree.levels(_nodeLeaves(m)), 0);
        bytes32[] memory inProof = new bytes32[](0);
        bytes32 root = Tree.root(Tree.tensorLevels(m.input));
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongPhase.selector, DisputeGame.Phase.Graph));
        game.resolveInput(gid, 0, m.nodes[0], nodeProof, 0, m.input.length, root, inProof);
        game.postGraph(gid, m.nodes.length, m.nodesRoot, m.outputNodes);
        // a wrong size claim about the committed input is refused
        vm.expectRevert(DisputeGame.BadProof.selector);
        game.resolveInput(gid, 0, m.nodes[0], nodeProof, 0, m.input.length * 2, root, inProof);
        game.resolveInput(gid, 0, m.nodes[0], nodeProof, 0, m.input.length, root, inProof);
        assertEq(uint8(game.game(gid).outcome), uint8(Outcome.ChallengerWins), "no-answer claim wins");
        assertTrue(_status(id) == TaskManager.Status.Failed, "task failed, fee refunded");
        assertEq(_stakeOf(liar), STAKE - cfg.providerBond, "provider slashed");
    }

    function test_well_formed_input_cannot_be_called_malformed() public {
        Model memory m = _batchMlp(ROWS);
        _execute(m);
        (, Play memory p) = _playToOneStep(m, 1, 5, true);
        bytes32[] memory nodeProof = Tree.leafProof(Tree.levels(_nodeLeaves(m)), 0);
        vm.expectRevert(DisputeGame.BadInput.selector);
        game.resolveInput(
            p.gid, 0, m.nodes[0], nodeProof, 0, m.input.length, Tree.root(Tree.tensorLevels(m.input)), new bytes32[](0)
        );
    }

    function test_zk_rows_refused() public {
        // a model without a verifier is refused first, so register one with a verifier address
        modelId = _registerModel(keccak256("w"), keccak256("g"), address(0xBEEF));
        TaskManager.RequestInput memory r = _requestInput(TaskManager.Mode.Zk, keccak256("x"));
        r.rows = 2;
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(TaskManager.BadRows.selector, uint16(2)));
        tm.request(r);
    }
}
