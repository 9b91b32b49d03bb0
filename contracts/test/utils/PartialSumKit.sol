// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {ModelKit} from "./ModelKit.sol";
import {Tree} from "./Tree.sol";
import {OneStepVerifier, Semantics} from "../../src/OneStepVerifier.sol";
import {DisputeGame} from "../../src/DisputeGame.sol";
import {Outcome} from "../../src/IDisputeGame.sol";

/// @notice Drives the partial-sum game of a large fan-in `Linear` element (docs/semantics.md
/// 8.4) with honest and lying prefix sums, with gas accounting per transaction.
abstract contract PartialSumKit is ModelKit {
    struct Side {
        address who;
        int256[] prefix; // P_0 .. P_m
    }

    struct Run {
        Play p;
        DisputeGas gas;
        Side def;
        Side cha;
        uint256 e;
        uint256 start; // gas: startPartialSums + the other accumulator post
        uint256 bisect; // gas: every midpoint post
        uint256 step; // gas: the chunk one-step
    }

    uint256 internal constant CHUNK = 64;

    /// Honest prefix sums P_0..P_m of element `e` of `Linear` node `j` (P_0 = bias).
    function _prefix(Model memory m, uint256 j, uint256 e) internal pure returns (int256[] memory pre) {
        OneStepVerifier.Node memory node = m.nodes[j];
        uint256 nOut = node.constShapes[0][0];
        uint256 k = node.constShapes[0][1];
        int256[] memory x = _tensorOf(m, node.inputs[0]);
        int256[] memory w = m.consts[node.consts[0]];
        pre = new int256[]((k + CHUNK - 1) / CHUNK + 1);
        pre[0] = m.consts[node.consts[1]][e % nOut];
        uint256 xBase = (e / nOut) * k;
        uint256 wBase = (e % nOut) * k;
        for (uint256 i; i < k; ++i) {
            pre[i / CHUNK + 1] += x[xBase + i] * w[wBase + i];
        }
        for (uint256 c = 1; c < pre.length; ++c) {
            pre[c] += pre[c - 1];
        }
    }

    /// The smallest accumulator that requantizes to `t` (for a liar that stays consistent).
    function _accFor(int256[] memory a, int256 t) internal pure returns (int256 x) {
        int256 num = t * (int256(1) << uint256(a[1])) - (int256(1) << (uint256(a[1]) - 1));
        x = num / a[0];
        if (x * a[0] < num) x += 1;
        require(Semantics.requant(x, a[0], uint256(a[1]), a[2], a[3]) == t, "accFor");
    }

    /// Prefix sums that agree with `honest` up to chunk `j` and reach `acc` at the end.
    function _lie(int256[] memory honest, uint256 j, int256 acc) internal pure returns (int256[] memory l) {
        int256 delta = acc - honest[honest.length - 1];
        l = new int256[](honest.length);
        for (uint256 c; c < l.length; ++c) {
            l[c] = honest[c] + (c > j ? delta : int256(0));
        }
    }

    /// Plays node `nodeJ`'s dispute on element `e` to the `OneStep` phase; the liar (defender or
    /// challenger) claims the neighbouring value and keeps consistent prefix sums that deviate
    /// from chunk `j` on.
    function _setup(uint256 nodeJ, uint256 e, bool liarIsDefender, uint256 j) internal returns (Run memory r) {
        Model memory m = _mlp();
        _execute(m);
        (r.gas, r.p) = _playToOneStep(m, nodeJ, e, liarIsDefender);
        r.e = e;
        int256[] memory honest = _prefix(m, nodeJ, e);
        int256 lieValue = liarIsDefender ? r.p.defOuts[nodeJ][e] : r.p.chaOuts[nodeJ][e];
        int256[] memory lie = _lie(honest, j, _accFor(m.nodes[nodeJ].attrs, lieValue));
        r.def = Side(r.p.defender, liarIsDefender ? lie : honest);
        r.cha = Side(challenger, liarIsDefender ? honest : lie);
    }

    function _startCall(Run memory r, uint256 nodeJ, Side memory s) internal pure returns (bytes memory) {
        bytes32[] memory proof = Tree.leafProof(Tree.levels(_nodeLeaves(r.p.m)), nodeJ);
        return abi.encodeCall(
            DisputeGame.startPartialSums,
            (r.p.gid, r.p.m.nodes[nodeJ], proof, s.prefix[s.prefix.length - 1], new DisputeGame.Window[](0))
        );
    }

    function _range(uint256 gid) internal view returns (uint32 lo, uint32 hi) {
        DisputeGame.PartialSums memory ps = game.partialSums(gid);
        (lo, hi) = (ps.lo, ps.hi);
    }

    function _phase(uint256 gid) internal view returns (DisputeGame.Phase) {
        return game.game(gid).phase;
    }

    /// Plays the accumulator and the bisection; returns the chunk it narrowed to.
    function _narrow(Run memory r, uint256 nodeJ) internal returns (uint256 lo) {
        uint256 gid = r.p.gid;
        (r.start,) = _tx(r.cha.who, address(game), _startCall(r, nodeJ, r.cha));
        uint256 g;
        (g,) = _tx(
            r.def.who, address(game), abi.encodeCall(game.postPartial, (gid, r.def.prefix[r.def.prefix.length - 1]))
        );
        r.start += g;
        while (_phase(gid) == DisputeGame.Phase.PartialBisect) {
            (uint32 l, uint32 h) = _range(gid);
            uint256 mid = (uint256(l) + h) / 2;
            (g,) = _tx(r.def.who, address(game), abi.encodeCall(game.postPartial, (gid, r.def.prefix[mid])));
            r.bisect += g;
            (g,) = _tx(r.cha.who, address(game), abi.encodeCall(game.postPartial, (gid, r.cha.prefix[mid])));
            r.bisect += g;
        }
        assertTrue(_phase(gid) == DisputeGame.Phase.PartialStep, "narrowed to one chunk");
        uint32 hi;
        (lo, hi) = _range(gid);
        assertEq(uint256(hi), lo + 1, "one chunk");
    }

    /// Runs the game with both parties answering, then the plain one-step check of the chunk;
    /// returns the chunk it narrowed to.
    function _play(Run memory r, uint256 nodeJ) internal returns (uint256 lo) {
        lo = _narrow(r, nodeJ);
        (r.step,) = _tx(challenger, address(game), _oneStepCallWith(r.p, nodeJ, r.e, lo));
    }

    function _outcome(uint256 gid) internal view returns (Outcome) {
        return game.game(gid).outcome;
    }
}
