// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {TreeKit} from "./utils/TreeKit.sol";
import {Tree} from "./utils/Tree.sol";
import {OneStepVerifier} from "../src/OneStepVerifier.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {TaskRecord, Claim} from "../src/consumer/TaskRecord.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {Outcome} from "../src/IDisputeGame.sol";

/// @notice `DisputeGame.resolveInputRange` (docs/semantics.md section 8.7): a committed graph
/// input holding an element the engine refuses (outside its kind's range, or a tree ensemble's
/// feature code outside `[-1, 2 |T_f|]`) has no answer, and the side that claimed "no answer"
/// wins; an element in range cannot be used, and a forged window is refused.
contract InputRangeTest is TreeKit {
    uint256 internal constant ACT16 = uint256(1) << 64; // kind code 1 of a graph-input reference

    /// Linear 16 -> 4 over graph input 0 tagged `tag` (0: act8), with `bad` at element `at`.
    function _linear(uint256 tag, uint256 at, int256 bad) internal pure returns (Model memory m) {
        m.input = _rand(31, 16, -128, 127);
        m.input[at] = bad;
        m.inputShape = _u(1, 16);
        m.consts = new int256[][](2);
        m.constShapes = new uint256[][](2);
        (m.consts[0], m.constShapes[0]) = (_rand(32, 4 * 16, -127, 127), _u(4, 16));
        (m.consts[1], m.constShapes[1]) = (_rand(33, 4, -5000, 5000), _u(4));
        m.nodes = new OneStepVerifier.Node[](1);
        m.nodes[0] = _linearNode(G | tag, _u(1, 16), 0, 1, 4, 16, -128);
        m.outputNodes = _u(0);
        _execute(m);
    }

    /// A two-tree depth-2 ensemble over `FEATURES` act16 codes, feature `f` holding `code`.
    function _trees(uint256 f, int256 code) internal pure returns (Model memory m) {
        m = _forest(2, 2, 3, 41);
        m.nodes[0].inputs[0] = G | ACT16;
        m.input[f] = code;
        _execute(m);
    }

    /// A provider answers the task with the one-step's own result; the challenger claims "no
    /// answer"; the graph header is posted. Returns the game and the task.
    function _answered(Model memory m) internal returns (uint256 id, uint256 taskId) {
        modelId = _registerModel(m.weightsRoot, m.graphRoot, address(0));
        _stakeAndOptIn(providers[0], modelId);
        taskId = _request(TaskManager.Mode.Optimistic, m.inputCommitment);
        vm.prank(providers[0]);
        tm.submit(taskId, m.outputCommitment, Tree.root(Tree.levels(_traceLeaves(m.outs))));
        vm.prank(challenger);
        id = tm.challenge(taskId, _rec(taskId), _claim(taskId), Claim(bytes32(0), bytes32(0)));
        game.postGraph(id, m.nodes.length, m.nodesRoot, m.outputNodes);
    }

    function _nodeProof(Model memory m) internal pure returns (bytes32[] memory) {
        return Tree.leafProof(Tree.levels(_nodeLeaves(m)), 0);
    }

    /// The window of the one committed input around element `e` (a one-leaf input commitment).
    function _inWin(Model memory m, uint256 e) internal pure returns (DisputeGame.Window memory) {
        return _win(m.input, new bytes32[](0), e, e + 1);
    }

    /// The window of the ensemble's `bounds` (constant 4) covering `f` and `f + 1`.
    function _boundsWin(Model memory m, uint256 f) internal pure returns (DisputeGame.Window memory) {
        bytes32[] memory cc = new bytes32[](m.consts.length);
        for (uint256 i; i < cc.length; ++i) {
            cc[i] = Tree.commitment(m.consts[i]);
        }
        return _win(m.consts[4], Tree.leafProof(Tree.levels(cc), 4), f, f + 2);
    }

    function _resolve(Model memory m, uint256 id, uint256 e, DisputeGame.Window memory b) internal returns (uint256) {
        DisputeGame.Window memory x = _inWin(m, e);
        bytes32[] memory np = _nodeProof(m);
        uint256 before = gasleft();
        game.resolveInputRange(id, 0, m.nodes[0], np, 0, e, x, b);
        return before - gasleft();
    }

    function _assertNoAnswerWon(uint256 id, uint256 taskId) internal view {
        assertEq(uint8(game.game(id).outcome), uint8(Outcome.ChallengerWins), "no-answer claim wins");
        assertTrue(_status(taskId) == TaskManager.Status.Failed, "task failed");
        assertEq(staking.providers(providers[0]).stake, STAKE - cfg.providerBond, "provider slashed");
        assertEq(tm.balances(requester), FEE, "fee refunded");
        _assertConserved();
    }

    function test_out_of_range_act8_element_resolves_for_no_answer() public {
        Model memory m = _linear(0, 5, 200);
        (uint256 id, uint256 taskId) = _answered(m);
        DisputeGame.Window memory none;
        uint256 gas = _resolve(m, id, 5, none);
        emit log_named_uint("resolveInputRange act8 (execution gas)", gas);
        _assertNoAnswerWon(id, taskId);
    }

    function test_out_of_range_act16_element_resolves_for_no_answer() public {
        Model memory m = _linear(ACT16, 9, -32_769);
        (uint256 id, uint256 taskId) = _answered(m);
        DisputeGame.Window memory none;
        _resolve(m, id, 9, none);
        _assertNoAnswerWon(id, taskId);
    }

    function test_in_range_elements_cannot_resolve() public {
        DisputeGame.Window memory none;
        // act8 bounds themselves
        Model memory m = _linear(0, 3, 127);
        m.input[4] = -128;
        _execute(m);
        (uint256 id,) = _answered(m);
        vm.expectRevert(DisputeGame.BadInput.selector);
        this.callResolve(m, id, 3, none);
        vm.expectRevert(DisputeGame.BadInput.selector);
        this.callResolve(m, id, 4, none);
        // 200 is refused as act8 but is a valid act16 value
        Model memory w = _linear(ACT16, 5, 200);
        (uint256 id16,) = _answered(w);
        vm.expectRevert(DisputeGame.BadInput.selector);
        this.callResolve(w, id16, 5, none);
        assertTrue(game.game(id16).phase == DisputeGame.Phase.Header, "game goes on");
    }

    function test_out_of_range_feature_code_resolves_for_no_answer() public {
        // codes of feature 2 lie in [-1, 2 * THRESHOLDS]; one past the top is an act16 value
        Model memory m = _trees(2, int256(2 * THRESHOLDS + 1));
        (uint256 id, uint256 taskId) = _answered(m);
        uint256 gas = _resolve(m, id, 2, _boundsWin(m, 2));
        emit log_named_uint("resolveInputRange tree code (execution gas)", gas);
        _assertNoAnswerWon(id, taskId);
    }

    function test_feature_code_below_missing_resolves_for_no_answer() public {
        Model memory m = _trees(FEATURES - 1, -2);
        (uint256 id, uint256 taskId) = _answered(m);
        _resolve(m, id, FEATURES - 1, _boundsWin(m, FEATURES - 1));
        _assertNoAnswerWon(id, taskId);
    }

    function test_in_range_feature_codes_cannot_resolve() public {
        Model memory m = _trees(2, int256(2 * THRESHOLDS));
        m.input[3] = -1;
        _execute(m);
        (uint256 id,) = _answered(m);
        vm.expectRevert(DisputeGame.BadInput.selector);
        this.callResolve(m, id, 2, _boundsWin(m, 2));
        vm.expectRevert(DisputeGame.BadInput.selector);
        this.callResolve(m, id, 3, _boundsWin(m, 3));
        assertTrue(game.game(id).phase == DisputeGame.Phase.Header, "game goes on");
    }

    function test_forged_windows_are_refused() public {
        Model memory m = _linear(0, 5, 200);
        (uint256 id,) = _answered(m);
        bytes32[] memory np = _nodeProof(m);
        DisputeGame.Window memory none;
        // a word claiming 200 where the committed input holds an in-range value
        Model memory honest = _linear(0, 6, 1);
        DisputeGame.Window memory x = _inWin(honest, 6);
        x.words[0] = _inWin(m, 5).words[0];
        vm.expectRevert(DisputeGame.BadProof.selector);
        game.resolveInputRange(id, 0, m.nodes[0], np, 0, 5, x, none);
        // a valid window of another tensor (its commitment is not the task's input)
        vm.expectRevert(DisputeGame.BadProof.selector);
        game.resolveInputRange(id, 0, m.nodes[0], np, 0, 5, _inWin(_linear(0, 5, 300), 5), none);
        // a descriptor that is not the graph's (the input re-tagged act16)
        OneStepVerifier.Node memory forged = m.nodes[0];
        forged.inputs[0] = G | ACT16;
        vm.expectRevert(DisputeGame.BadProof.selector);
        game.resolveInputRange(id, 0, forged, np, 0, 5, _inWin(m, 5), none);
        forged.inputs[0] = G;
        // an element the window does not cover
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.OutsideWindow.selector, 12, 0, 8));
        game.resolveInputRange(id, 0, m.nodes[0], np, 0, 12, _inWin(m, 5), none);
        assertTrue(game.game(id).phase == DisputeGame.Phase.Header, "game goes on");
    }

    function test_forged_bounds_are_refused() public {
        Model memory m = _trees(2, int256(2 * THRESHOLDS));
        (uint256 id,) = _answered(m);
        // bounds claiming feature 2 has fewer thresholds
        Model memory f = _trees(2, int256(2 * THRESHOLDS));
        for (uint256 i = 3; i < f.consts[4].length; ++i) {
            f.consts[4][i] -= 2;
        }
        DisputeGame.Window memory b = _boundsWin(f, 2);
        b.leafProof = _boundsWin(m, 2).leafProof;
        vm.expectRevert(DisputeGame.BadProof.selector);
        this.callResolve(m, id, 2, b);
    }

    function test_refused_before_the_graph_and_after_the_end() public {
        Model memory m = _linear(0, 5, 200);
        modelId = _registerModel(m.weightsRoot, m.graphRoot, address(0));
        _stakeAndOptIn(providers[0], modelId);
        uint256 taskId = _request(TaskManager.Mode.Optimistic, m.inputCommitment);
        vm.prank(providers[0]);
        tm.submit(taskId, m.outputCommitment, Tree.root(Tree.levels(_traceLeaves(m.outs))));
        vm.prank(challenger);
        uint256 id = tm.challenge(taskId, _rec(taskId), _claim(taskId), Claim(bytes32(0), bytes32(0)));
        DisputeGame.Window memory none;
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongPhase.selector, DisputeGame.Phase.Graph));
        this.callResolve(m, id, 5, none);
        game.postGraph(id, m.nodes.length, m.nodesRoot, m.outputNodes);
        this.callResolve(m, id, 5, none);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongPhase.selector, DisputeGame.Phase.Done));
        this.callResolve(m, id, 5, none);
    }

    /// `_resolve` as an external call, so `vm.expectRevert` sees its revert.
    function callResolve(Model memory m, uint256 id, uint256 e, DisputeGame.Window memory b) external {
        _resolve(m, id, e, b);
    }
}
