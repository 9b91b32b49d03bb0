// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {PartialSumKit} from "./utils/PartialSumKit.sol";
import {Tree} from "./utils/Tree.sol";
import {OneStepVerifier} from "../src/OneStepVerifier.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {TaskRecord, Claim} from "../src/consumer/TaskRecord.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {Outcome} from "../src/IDisputeGame.sol";

/// @notice Property: in every reachable state of a dispute the honest party has a winning move.
/// Random games on a small model (random rows, input, weights) pit an honest party that always
/// makes its move against a liar with a random lie (a changed element, a changed element with
/// the rest recomputed from it, a wrong tensor size, non-zero padding in a tensor or in the
/// trace tree, a wrong output commitment over a true trace) that answers or falls silent at
/// random, opens the partial-sum game at random, and sometimes tries the moves anyone may
/// make. The honest party must win every game.
contract DisputePropertyTest is PartialSumKit {
    struct Party {
        address who;
        bool honest;
        int256[][] outs; // tensor data of every node (may hold padding past `numel`)
        uint256[] numel; // claimed size of every node's tensor
        bytes32[][] trace; // levels of the trace tree (may hold a padding leaf)
        bytes32 output; // claimed output commitment
    }

    struct World {
        Model m;
        Party def;
        Party cha;
        uint256 gid;
        uint256 taskId;
        uint256 rng;
        int256[] defPrefix; // prefix sums of the disputed element (partial-sum game)
        int256[] chaPrefix;
    }

    uint256 internal constant LIE_ELEMENT = 0;
    uint256 internal constant LIE_PROPAGATED = 1;
    uint256 internal constant LIE_SIZE = 2;
    uint256 internal constant LIE_TENSOR_PADDING = 3;
    uint256 internal constant LIE_TRACE_PADDING = 4;
    uint256 internal constant LIE_OUTPUT = 5;

    /// Linear 70->4 +ReLU (fan-in above CHUNK), Linear 4->3, ReLU: three nodes, so the trace
    /// tree has a padding leaf; `rows` rows.
    function _model(uint256 seed, uint256 rows) internal pure returns (Model memory m) {
        m.rows = rows;
        m.input = _rand(seed, 70 * rows, -128, 127);
        m.inputShape = _u(1, 70);
        m.consts = new int256[][](4);
        m.constShapes = new uint256[][](4);
        (m.consts[0], m.constShapes[0]) = (_rand(seed + 1, 4 * 70, -127, 127), _u(4, 70));
        (m.consts[1], m.constShapes[1]) = (_rand(seed + 2, 4, -5000, 5000), _u(4));
        (m.consts[2], m.constShapes[2]) = (_rand(seed + 3, 3 * 4, -127, 127), _u(3, 4));
        (m.consts[3], m.constShapes[3]) = (_rand(seed + 4, 3, -3000, 3000), _u(3));
        m.nodes = new OneStepVerifier.Node[](3);
        m.nodes[0] = _linearNode(G, _u(1, 70), 0, 1, 4, 70, 0);
        m.nodes[0].attrs[1] = 18;
        m.nodes[1] = _linearNode(0, _u(1, 4), 2, 3, 3, 4, -128);
        m.nodes[1].attrs[1] = 14;
        OneStepVerifier.Node memory relu;
        relu.op = OneStepVerifier.OP_RELU;
        relu.inputs = _u(1);
        relu.inShapes = new uint256[][](1);
        relu.inShapes[0] = _u(1, 3);
        relu.outShape = _u(1, 3);
        m.nodes[2] = relu;
        m.outputNodes = _u(2);
    }

    function _next(World memory w) internal pure returns (uint256 r) {
        w.rng = uint256(keccak256(abi.encode(w.rng)));
        r = w.rng;
    }

    function _honestParty(Model memory m, address who) internal pure returns (Party memory p) {
        p.who = who;
        p.honest = true;
        p.outs = _copyOuts(m.outs);
        p.numel = new uint256[](m.outs.length);
        for (uint256 j; j < m.outs.length; ++j) {
            p.numel[j] = m.outs[j].length;
        }
        p.trace = Tree.levels(_traceLeaves(m.outs));
        p.output = m.outputCommitment;
    }

    /// Tensor commitment of `data` claimed with size `n` (data past `n` is padding).
    function _commit(int256[] memory data, uint256 n) internal pure returns (bytes32) {
        return keccak256(abi.encode(n, Tree.root(Tree.tensorLevels(data))));
    }

    function _liar(World memory w, address who, uint256 kind) internal pure returns (Party memory p) {
        Model memory m = w.m;
        p = _honestParty(m, who);
        p.honest = false;
        uint256 j = _next(w) % m.outs.length;
        uint256 e = _next(w) % m.outs[j].length;
        if (kind == LIE_ELEMENT || kind == LIE_PROPAGATED) {
            int256 v = p.outs[j][e];
            p.outs[j][e] = v == 127 ? int256(-3) : v + 1 + int256(_next(w) % 3);
            if (kind == LIE_PROPAGATED) _recompute(m, p, j + 1);
        } else if (kind == LIE_SIZE) {
            // one row short (or one row too many)
            uint256 per = m.outs[j].length / _rows(m);
            uint256 n = _rows(m) > 1 && _next(w) % 2 == 0 ? m.outs[j].length - per : m.outs[j].length + per;
            int256[] memory t = new int256[](n);
            for (uint256 i; i < n; ++i) {
                t[i] = i < m.outs[j].length ? m.outs[j][i] : int256(1);
            }
            p.outs[j] = t;
            p.numel[j] = n;
        } else if (kind == LIE_TENSOR_PADDING) {
            // same size, a non-zero element past the end in the last word (or a whole extra word)
            uint256 n = m.outs[j].length;
            uint256 padded = (n % 8 == 0 ? n + 8 : (n + 7) / 8 * 8);
            int256[] memory t = new int256[](padded);
            for (uint256 i; i < n; ++i) {
                t[i] = m.outs[j][i];
            }
            t[padded - 1] = 5;
            p.outs[j] = t;
        } else if (kind == LIE_OUTPUT) {
            p.output = keccak256(abi.encode("another output", _next(w)));
            return p;
        }
        bytes32[] memory leaves = new bytes32[](kind == LIE_TRACE_PADDING ? 4 : m.outs.length);
        for (uint256 i; i < m.outs.length; ++i) {
            leaves[i] = _commit(p.outs[i], p.numel[i]);
        }
        if (kind == LIE_TRACE_PADDING) leaves[3] = keccak256("garbage leaf");
        p.trace = Tree.levels(leaves);
        bytes32[] memory ol = new bytes32[](1);
        ol[0] = leaves[2];
        p.output = Tree.root(Tree.levels(ol));
    }

    /// Recomputes nodes `from..` of `p` from its (changed) earlier tensors.
    function _recompute(Model memory m, Party memory p, uint256 from) internal pure {
        Model memory lied = m;
        int256[][] memory saved = m.outs;
        lied.outs = p.outs;
        uint256 rows = _rows(m);
        for (uint256 j = from; j < m.nodes.length; ++j) {
            OneStepVerifier.Node memory node = m.nodes[j];
            OneStepVerifier.Tensor[] memory cs = new OneStepVerifier.Tensor[](node.consts.length);
            for (uint256 i; i < cs.length; ++i) {
                cs[i].shape = node.constShapes[i];
                cs[i].data = m.consts[node.consts[i]];
            }
            uint256 n1 = OneStepVerifier.numel(node.outShape);
            for (uint256 r; r < rows; ++r) {
                OneStepVerifier.Tensor[] memory ins = new OneStepVerifier.Tensor[](node.inputs.length);
                for (uint256 i; i < ins.length; ++i) {
                    ins[i].shape = node.inShapes[i];
                    ins[i].data = _row(_tensorOf(lied, node.inputs[i]), OneStepVerifier.numel(node.inShapes[i]), r);
                }
                for (uint256 e; e < n1; ++e) {
                    p.outs[j][r * n1 + e] = OneStepVerifier.evalElement(node, ins, cs, e);
                }
            }
        }
        m.outs = saved;
    }

    // ------------------------------------------------------------------ moves

    function _party(World memory w, bool defender) internal pure returns (Party memory) {
        return defender ? w.def : w.cha;
    }

    function _children(bytes32[][] memory lv, uint256 depth, uint256 index)
        internal
        pure
        returns (bytes32 l, bytes32 r)
    {
        bytes32[] memory level = lv[depth - 1];
        if (2 * index < level.length) l = level[2 * index];
        if (2 * index + 1 < level.length) r = level[2 * index + 1];
    }

    /// `p`'s answer to the current step, if it has one to give; returns whether it moved.
    function _answer(World memory w, Party memory p, bool isDefender) internal returns (bool) {
        DisputeGame.Game memory g = game.game(w.gid);
        DisputeGame.Phase ph = g.phase;
        if (ph == DisputeGame.Phase.Done) return false;
        bool posted = g.posted & (isDefender ? 1 : 2) != 0;
        bytes memory call;
        if (ph == DisputeGame.Phase.Graph) {
            call = abi.encodeCall(game.postGraph, (w.gid, w.m.nodes.length, w.m.nodesRoot, w.m.outputNodes));
        } else if (ph == DisputeGame.Phase.Trace) {
            (bytes32 l, bytes32 r) = _children(p.trace, g.depth, g.index);
            call = abi.encodeCall(game.bisect, (w.gid, l, r));
        } else if (ph == DisputeGame.Phase.Header) {
            call =
                abi.encodeCall(game.postHeader, (w.gid, p.numel[g.node], Tree.root(Tree.tensorLevels(p.outs[g.node]))));
        } else if (ph == DisputeGame.Phase.Tensor) {
            (bytes32 l, bytes32 r) = _children(Tree.tensorLevels(p.outs[g.node]), g.depth, g.index);
            call = abi.encodeCall(game.bisect, (w.gid, l, r));
        } else if (ph == DisputeGame.Phase.Word) {
            bytes32[] memory words = Tree.words(p.outs[g.node]);
            call = abi.encodeCall(game.postWord, (w.gid, g.index < words.length ? words[g.index] : bytes32(0)));
        } else if (ph == DisputeGame.Phase.PartialAcc || ph == DisputeGame.Phase.PartialBisect) {
            int256[] memory pre = isDefender ? w.defPrefix : w.chaPrefix;
            DisputeGame.PartialSums memory ps = game.partialSums(w.gid);
            uint256 c = ph == DisputeGame.Phase.PartialAcc ? ps.hi : (uint256(ps.lo) + ps.hi) / 2;
            call = abi.encodeCall(game.postPartial, (w.gid, pre[c]));
        } else {
            return p.honest && _checkStep(w, p, g);
        }
        if (posted && ph != DisputeGame.Phase.Graph) return false;
        vm.prank(p.who);
        (bool ok, bytes memory err) = address(game).call(call);
        _bubble(ok, err);
        return true;
    }

    /// The moves anyone may make, as the honest party makes them.
    function _checkStep(World memory w, Party memory p, DisputeGame.Game memory g) internal returns (bool) {
        DisputeGame.Phase ph = g.phase;
        bytes32[] memory nodeProof = Tree.leafProof(Tree.levels(_nodeLeaves(w.m)), g.node);
        Play memory play;
        play.m = w.m;
        play.gid = w.gid;
        play.defTrace = w.def.trace;
        if (ph == DisputeGame.Phase.Shape) {
            vm.prank(p.who);
            game.resolveShape(w.gid, w.m.nodes[g.node], nodeProof);
        } else if (ph == DisputeGame.Phase.OneStep) {
            OneStepVerifier.Node memory node = w.m.nodes[g.node];
            bool large = node.op == OneStepVerifier.OP_LINEAR && node.constShapes[0][1] > CHUNK;
            if (large && _next(w) % 2 == 0) {
                _startPartial(w, p, g, nodeProof);
            } else {
                vm.prank(p.who);
                (bool ok, bytes memory err) = address(game).call(_oneStepCall(play, g.node, g.element));
                _bubble(ok, err);
            }
        } else if (ph == DisputeGame.Phase.PartialStep) {
            DisputeGame.PartialSums memory ps = game.partialSums(w.gid);
            vm.prank(p.who);
            (bool ok, bytes memory err) = address(game).call(_oneStepCallWith(play, g.node, g.element, ps.lo));
            _bubble(ok, err);
        } else if (ph == DisputeGame.Phase.Outputs) {
            uint256[] memory on = w.m.outputNodes;
            bytes32[] memory leaves = new bytes32[](on.length);
            bytes32[][] memory proofs = new bytes32[][](on.length);
            for (uint256 i; i < on.length; ++i) {
                leaves[i] = p.trace[0][on[i]];
                proofs[i] = Tree.leafProof(p.trace, on[i]);
            }
            vm.prank(p.who);
            game.resolveOutputs(w.gid, on, leaves, proofs);
        } else {
            return false;
        }
        return true;
    }

    function _bubble(bool ok, bytes memory err) internal pure {
        if (!ok) {
            assembly {
                revert(add(err, 0x20), mload(err))
            }
        }
    }

    /// The honest party opens the partial-sum game; both sides' prefix sums are fixed here: the
    /// honest ones, and the liar's, consistent with its claimed value and deviating from a
    /// random chunk on.
    function _startPartial(World memory w, Party memory p, DisputeGame.Game memory g, bytes32[] memory nodeProof)
        internal
    {
        int256[] memory honest = _prefix(w.m, g.node, g.element);
        int256 lieValue = p.who == w.def.who ? g.chaValue : g.defValue;
        int256[] memory lie =
            _lie(honest, _next(w) % (honest.length - 1), _someAccFor(w.m.nodes[g.node].attrs, lieValue));
        (w.defPrefix, w.chaPrefix) = p.who == w.def.who ? (honest, lie) : (lie, honest);
        vm.prank(p.who);
        game.startPartialSums(w.gid, w.m.nodes[g.node], nodeProof, honest[honest.length - 1], new DisputeGame.Window[](0));
    }

    /// The accumulator nearest to requantizing to `t` (when no accumulator does, e.g. a negative
    /// value after a fused ReLU, the liar's posts are refused and it loses by timeout).
    function _someAccFor(int256[] memory a, int256 t) internal pure returns (int256 x) {
        int256 num = t * (int256(1) << uint256(a[1])) - (int256(1) << (uint256(a[1]) - 1));
        x = num / a[0];
        if (x * a[0] < num) x += 1;
    }

    // ------------------------------------------------------------------ the property

    function testFuzz_honest_side_never_loses(uint256 seed) public {
        World memory w;
        w.rng = seed;
        uint256 rows = 1 + _next(w) % 3;
        w.m = _model(_next(w) % 1000, rows);
        _execute(w.m);
        modelId = _registerModel(w.m.weightsRoot, w.m.graphRoot, address(0));
        bool honestDefends = _next(w) % 2 == 0;
        uint256 kind = _next(w) % 6;
        Party memory honest = _honestParty(w.m, honestDefends ? providers[0] : challenger);
        Party memory liar = _liar(w, honestDefends ? challenger : providers[0], kind);
        (w.def, w.cha) = honestDefends ? (honest, liar) : (liar, honest);
        _stakeAndOptIn(providers[0], modelId);

        w.taskId = _requestRows(TaskManager.Mode.Optimistic, w.m.inputCommitment, uint16(rows));
        vm.prank(w.def.who);
        tm.submit(w.taskId, w.def.output, Tree.root(w.def.trace));
        vm.prank(w.cha.who);
        w.gid = tm.challenge(w.taskId, _rec(w.taskId), _claim(w.taskId), Claim(w.cha.output, Tree.root(w.cha.trace)));

        for (uint256 steps; game.game(w.gid).phase != DisputeGame.Phase.Done; ++steps) {
            assertLt(steps, 200, "the game ends");
            _liarTurn(w, honestDefends);
            if (game.game(w.gid).phase == DisputeGame.Phase.Done) break;
            if (!_answer(w, honest, honestDefends)) {
                // waiting on the liar, who did not answer: past the deadline the honest party
                // claims the timeout
                vm.warp(block.timestamp + cfg.disputeStepTimeout + 1);
                vm.prank(honest.who);
                game.timeout(w.gid);
            }
        }
        Outcome o = game.game(w.gid).outcome;
        assertEq(
            uint8(o), uint8(honestDefends ? Outcome.DefenderWins : Outcome.ChallengerWins), "the honest party wins"
        );
        _assertConserved();
    }

    /// The liar answers its step (from its lie) or stays silent; sometimes it also tries a move
    /// anyone may make, or claims a timeout too early. Failed attempts revert and change nothing.
    function _liarTurn(World memory w, bool honestDefends) internal {
        Party memory liar = honestDefends ? w.cha : w.def;
        uint256 r = _next(w) % 10;
        if (r < 7) {
            try this.liarAnswer(w, !honestDefends) {} catch {}
        } else if (r == 7) {
            vm.prank(liar.who);
            try game.timeout(w.gid) {} catch {}
        } else if (r == 8) {
            // the liar makes the checks itself, with the data it has (they judge the truth)
            Party memory asHonest = liar;
            asHonest.honest = true;
            try this.liarCheck(w, asHonest) {} catch {}
        }
        // r == 9: silent
    }

    /// External so the liar's failed attempts revert without ending the test.
    function liarAnswer(World memory w, bool isDefender) external {
        require(msg.sender == address(this), "self only");
        Party memory liar = isDefender ? w.def : w.cha;
        _answer(w, liar, isDefender);
    }

    function liarCheck(World memory w, Party memory p) external {
        require(msg.sender == address(this), "self only");
        DisputeGame.Game memory g = game.game(w.gid);
        // never the partial-sum start: the liar keeps its own prefix sums
        if (g.phase == DisputeGame.Phase.OneStep) {
            Play memory play;
            play.m = w.m;
            play.gid = w.gid;
            play.defTrace = w.def.trace;
            vm.prank(p.who);
            (bool ok, bytes memory err) = address(game).call(_oneStepCall(play, g.node, g.element));
            _bubble(ok, err);
        } else {
            _checkStep(w, p, g);
        }
    }

    /// Found by the property: a word whose first padding element is zero on both sides and a
    /// later one is not; the game judged only the first padding element and gave the win to a
    /// defender that padded with garbage.
    function test_regression_nonzero_padding_after_a_zero_one() public {
        testFuzz_honest_side_never_loses(38189746329603918885107568052426078321109);
    }
}
