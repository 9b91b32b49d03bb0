// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Fixture} from "./Fixture.sol";
import {Tree} from "./Tree.sol";
import {OneStepVerifier, Semantics} from "../../src/OneStepVerifier.sol";
import {DisputeGame} from "../../src/DisputeGame.sol";
import {TaskManager} from "../../src/TaskManager.sol";
import {TaskRecord, Claim} from "../../src/consumer/TaskRecord.sol";

/// @notice Reference models (784-128-10 MLP, LeNet-sized CNN) built and executed in Solidity with
/// the OneStepVerifier itself, their commitments, and a driver that plays a full dispute with
/// gas accounting per transaction (execution + intrinsic + calldata, cold state).
abstract contract ModelKit is Fixture {
    struct Model {
        OneStepVerifier.Node[] nodes;
        int256[][] consts;
        uint256[][] constShapes;
        uint256[] outputNodes;
        int256[] input; // `rows` rows of `inputShape`, end to end
        uint256[] inputShape;
        uint256 rows; // 0 means 1
        // derived
        int256[][] outs;
        bytes32 weightsRoot;
        bytes32 nodesRoot;
        bytes32 graphRoot;
        bytes32 inputCommitment;
        bytes32 outputCommitment;
    }

    struct DisputeGas {
        uint256 challenge;
        uint256 graph;
        uint256 traceBisect;
        uint256 header;
        uint256 tensorBisect;
        uint256 word;
        uint256 oneStep;
        uint256 total;
        uint256 txs;
    }

    uint256 internal constant G = OneStepVerifier.GRAPH_INPUT;

    // ------------------------------------------------------------------ building

    function _rand(uint256 seed, uint256 n, int256 lo, int256 hi) internal pure returns (int256[] memory v) {
        v = new int256[](n);
        uint256 span = uint256(hi - lo + 1);
        bytes32 h = keccak256(abi.encode(seed));
        for (uint256 i; i < n; ++i) {
            if (i % 8 == 0) h = keccak256(abi.encode(h, i));
            v[i] = lo + int256((uint256(h) >> (32 * (i % 8))) % span);
        }
    }

    function _u(uint256 a) internal pure returns (uint256[] memory s) {
        s = new uint256[](1);
        s[0] = a;
    }

    function _u(uint256 a, uint256 b) internal pure returns (uint256[] memory s) {
        s = new uint256[](2);
        (s[0], s[1]) = (a, b);
    }

    function _u(uint256 a, uint256 b, uint256 c, uint256 e) internal pure returns (uint256[] memory s) {
        s = new uint256[](4);
        (s[0], s[1], s[2], s[3]) = (a, b, c, e);
    }

    function _linearNode(uint256 input, uint256[] memory inShape, uint256 w, uint256 b, uint256 n, uint256 k, int256 lo)
        internal
        pure
        returns (OneStepVerifier.Node memory node)
    {
        node.op = OneStepVerifier.OP_LINEAR;
        node.inputs = _u(input);
        node.inShapes = new uint256[][](1);
        node.inShapes[0] = inShape;
        node.consts = _u(w, b);
        node.constShapes = new uint256[][](2);
        node.constShapes[0] = _u(n, k);
        node.constShapes[1] = _u(n);
        node.outShape = _u(1, n);
        node.attrs = new int256[](5);
        (node.attrs[0], node.attrs[1], node.attrs[2], node.attrs[3]) = (16_384, 25, lo, 127);
    }

    function _convNode(uint256 input, uint256 c, uint256 h, uint256 w, uint256 wid, uint256 cOut, uint256 k)
        internal
        pure
        returns (OneStepVerifier.Node memory node)
    {
        node.op = OneStepVerifier.OP_CONV;
        node.inputs = _u(input);
        node.inShapes = new uint256[][](1);
        node.inShapes[0] = _u(1, c, h, w);
        node.consts = _u(wid, wid + 1);
        node.constShapes = new uint256[][](2);
        node.constShapes[0] = _u(cOut, c, k, k);
        node.constShapes[1] = _u(cOut);
        node.outShape = _u(1, cOut, h - k + 1, w - k + 1);
        node.attrs = new int256[](16);
        (node.attrs[0], node.attrs[1], node.attrs[2], node.attrs[3]) = (16_384, 22, 0, 127);
        node.attrs[5] = 1;
        (node.attrs[6], node.attrs[7], node.attrs[8], node.attrs[9], node.attrs[10], node.attrs[11]) =
        (int256(k), int256(k), 1, 1, 1, 1);
    }

    function _poolNode(uint256 input, uint256 c, uint256 h, uint256 w)
        internal
        pure
        returns (OneStepVerifier.Node memory node)
    {
        node.op = OneStepVerifier.OP_MAXPOOL;
        node.inputs = _u(input);
        node.inShapes = new uint256[][](1);
        node.inShapes[0] = _u(1, c, h, w);
        node.outShape = _u(1, c, h / 2, w / 2);
        node.attrs = new int256[](10);
        (node.attrs[0], node.attrs[1], node.attrs[2], node.attrs[3], node.attrs[4], node.attrs[5]) = (2, 2, 2, 2, 1, 1);
    }

    /// 784-128-10 MLP: Linear+ReLU (fused, lo = 0), Linear.
    function _mlp() internal pure returns (Model memory m) {
        m.input = _rand(1, 784, -128, 127);
        m.inputShape = _u(1, 784);
        m.consts = new int256[][](4);
        m.constShapes = new uint256[][](4);
        (m.consts[0], m.constShapes[0]) = (_rand(2, 128 * 784, -127, 127), _u(128, 784));
        (m.consts[1], m.constShapes[1]) = (_rand(3, 128, -5000, 5000), _u(128));
        (m.consts[2], m.constShapes[2]) = (_rand(4, 10 * 128, -127, 127), _u(10, 128));
        (m.consts[3], m.constShapes[3]) = (_rand(5, 10, -5000, 5000), _u(10));
        m.nodes = new OneStepVerifier.Node[](2);
        m.nodes[0] = _linearNode(G, _u(1, 784), 0, 1, 128, 784, 0);
        m.nodes[1] = _linearNode(0, _u(1, 128), 2, 3, 10, 128, -128);
        m.nodes[1].attrs[1] = 19;
        m.outputNodes = _u(1);
    }

    /// LeNet-sized CNN: Conv 1->6 5x5 +ReLU, MaxPool 2, Conv 6->16 5x5 +ReLU, MaxPool 2,
    /// Flatten, Linear 256->10.
    function _lenet() internal pure returns (Model memory m) {
        m.input = _rand(11, 784, -128, 127);
        m.inputShape = _u(1, 1, 28, 28);
        m.consts = new int256[][](6);
        m.constShapes = new uint256[][](6);
        (m.consts[0], m.constShapes[0]) = (_rand(12, 6 * 25, -127, 127), _u(6, 1, 5, 5));
        (m.consts[1], m.constShapes[1]) = (_rand(13, 6, -2000, 2000), _u(6));
        (m.consts[2], m.constShapes[2]) = (_rand(14, 16 * 6 * 25, -127, 127), _u(16, 6, 5, 5));
        (m.consts[3], m.constShapes[3]) = (_rand(15, 16, -2000, 2000), _u(16));
        (m.consts[4], m.constShapes[4]) = (_rand(16, 10 * 256, -127, 127), _u(10, 256));
        (m.consts[5], m.constShapes[5]) = (_rand(17, 10, -2000, 2000), _u(10));
        m.nodes = new OneStepVerifier.Node[](6);
        m.nodes[0] = _convNode(G, 1, 28, 28, 0, 6, 5);
        m.nodes[0].attrs[1] = 18;
        m.nodes[1] = _poolNode(0, 6, 24, 24);
        m.nodes[2] = _convNode(1, 6, 12, 12, 2, 16, 5);
        m.nodes[3] = _poolNode(2, 16, 8, 8);
        OneStepVerifier.Node memory flat;
        flat.op = OneStepVerifier.OP_COPY;
        flat.inputs = _u(3);
        flat.inShapes = new uint256[][](1);
        flat.inShapes[0] = _u(1, 16, 4, 4);
        flat.outShape = _u(1, 256);
        m.nodes[4] = flat;
        m.nodes[5] = _linearNode(4, _u(1, 256), 4, 5, 10, 256, -128);
        m.nodes[5].attrs[1] = 22;
        m.outputNodes = _u(5);
    }

    // ------------------------------------------------------------------ executing and committing

    function _tensorOf(Model memory m, uint256 ref) internal pure returns (int256[] memory) {
        return ref & G != 0 ? m.input : m.outs[ref];
    }

    function _rows(Model memory m) internal pure returns (uint256) {
        return m.rows == 0 ? 1 : m.rows;
    }

    /// Row `r` of a tensor of rows of `n1` elements.
    function _row(int256[] memory data, uint256 n1, uint256 r) internal pure returns (int256[] memory out) {
        out = new int256[](n1);
        for (uint256 i; i < n1; ++i) {
            out[i] = data[r * n1 + i];
        }
    }

    /// Runs every row through the batch-1 graph (docs/semantics.md section 8.5) with the
    /// OneStepVerifier itself; each node's tensor is its rows end to end.
    function _execute(Model memory m) internal pure {
        uint256 n = m.nodes.length;
        uint256 rows = _rows(m);
        m.outs = new int256[][](n);
        for (uint256 j; j < n; ++j) {
            OneStepVerifier.Node memory node = m.nodes[j];
            OneStepVerifier.Tensor[] memory cs = new OneStepVerifier.Tensor[](node.consts.length);
            for (uint256 i; i < cs.length; ++i) {
                cs[i].shape = node.constShapes[i];
                cs[i].data = m.consts[node.consts[i]];
            }
            uint256 n1 = OneStepVerifier.numel(node.outShape);
            int256[] memory out = new int256[](n1 * rows);
            for (uint256 r; r < rows; ++r) {
                OneStepVerifier.Tensor[] memory ins = new OneStepVerifier.Tensor[](node.inputs.length);
                for (uint256 i; i < ins.length; ++i) {
                    ins[i].shape = node.inShapes[i];
                    ins[i].data = rows == 1
                        ? _tensorOf(m, node.inputs[i])
                        : _row(_tensorOf(m, node.inputs[i]), OneStepVerifier.numel(node.inShapes[i]), r);
                }
                for (uint256 e; e < n1; ++e) {
                    out[r * n1 + e] = OneStepVerifier.evalElement(node, ins, cs, e);
                }
            }
            m.outs[j] = out;
        }
        bytes32[] memory cc = new bytes32[](m.consts.length);
        for (uint256 i; i < cc.length; ++i) {
            cc[i] = Tree.commitment(m.consts[i]);
        }
        m.weightsRoot = Tree.root(Tree.levels(cc));
        m.nodesRoot = Tree.root(Tree.levels(_nodeLeaves(m)));
        m.graphRoot = keccak256(abi.encode(n, m.nodesRoot, m.outputNodes));
        bytes32[] memory inl = new bytes32[](1);
        inl[0] = Tree.commitment(m.input);
        m.inputCommitment = Tree.root(Tree.levels(inl));
        bytes32[] memory outl = new bytes32[](m.outputNodes.length);
        for (uint256 i; i < outl.length; ++i) {
            outl[i] = Tree.commitment(m.outs[m.outputNodes[i]]);
        }
        m.outputCommitment = Tree.root(Tree.levels(outl));
    }

    function _nodeLeaves(Model memory m) internal pure returns (bytes32[] memory l) {
        l = new bytes32[](m.nodes.length);
        for (uint256 j; j < l.length; ++j) {
            l[j] = keccak256(abi.encode(m.nodes[j]));
        }
    }

    function _traceLeaves(int256[][] memory outs) internal pure returns (bytes32[] memory l) {
        l = new bytes32[](outs.length);
        for (uint256 j; j < l.length; ++j) {
            l[j] = Tree.commitment(outs[j]);
        }
    }

    function _copyOuts(int256[][] memory outs) internal pure returns (int256[][] memory c) {
        c = new int256[][](outs.length);
        for (uint256 j; j < outs.length; ++j) {
            c[j] = new int256[](outs[j].length);
            for (uint256 i; i < outs[j].length; ++i) {
                c[j][i] = outs[j][i];
            }
        }
    }

    // ------------------------------------------------------------------ gas accounting

    function _coolAll() internal {
        vm.cool(address(tm));
        vm.cool(tm.module());
        vm.cool(address(tm.delivery()));
        vm.cool(address(d.feeVault));
        vm.cool(address(game));
        vm.cool(address(game.evaluator()));
        vm.cool(address(staking));
        vm.cool(address(token));
        vm.cool(address(registry));
        vm.cool(address(d.eas));
        vm.cool(address(receipts));
        vm.cool(address(d.randomness));
    }

    /// Gas of one transaction `from -> to` with `data`: execution (cold state) plus intrinsic
    /// and calldata cost (EIP-7623 floor applied). The harness's CALL to the cooled target pays
    /// the cold account access (2600) that a transaction's pre-warmed `to` does not (100), so
    /// 2500 is taken off.
    function _tx(address from, address to, bytes memory data) internal returns (uint256 used, bytes memory ret) {
        _coolAll();
        vm.prank(from);
        bool ok;
        // a raw CALL on `data` in place: a high-level call would first copy the calldata to fresh
        // memory, whose expansion cost grows with the harness's (large) memory, not the chain's
        uint256 g = gasleft();
        assembly ("memory-safe") {
            ok := call(gas(), to, 0, add(data, 0x20), mload(data), 0, 0)
        }
        used = g - gasleft() - 2500;
        assembly ("memory-safe") {
            ret := mload(0x40)
            mstore(ret, returndatasize())
            returndatacopy(add(ret, 0x20), 0, returndatasize())
            mstore(0x40, add(add(ret, 0x20), and(add(returndatasize(), 31), not(31))))
        }
        if (!ok) {
            assembly {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        uint256 tokens;
        for (uint256 i; i < data.length; ++i) {
            tokens += data[i] == 0 ? 1 : 4;
        }
        uint256 standard = 21_000 + 4 * tokens + used;
        uint256 floor = 21_000 + 10 * tokens;
        used = standard > floor ? standard : floor;
    }

    // ------------------------------------------------------------------ disputes

    struct Play {
        Model m;
        uint256 taskId;
        uint256 gid;
        address defender;
        bytes32[][] defTrace;
        bytes32[][] chaTrace;
        int256[][] defOuts;
        int256[][] chaOuts;
    }

    /// The first provider not ejected: every lost dispute is a fault, and a provider is ejected
    /// after `maxFaults` of them, so a test playing many disputes moves on to the next one.
    function _defender() internal view returns (address) {
        for (uint256 i; i < providers.length; ++i) {
            if (!staking.providers(providers[i]).ejected) return providers[i];
        }
        revert("every provider ejected");
    }

    /// Registers `m`, runs an optimistic task whose provider lies in element `e` of node `j`
    /// (or tells the truth when `liarIsDefender` is false and the challenger lies), and plays the
    /// dispute to the end. Returns the gas of every step.
    function _playDispute(Model memory m, uint256 j, uint256 e, bool liarIsDefender)
        internal
        returns (DisputeGas memory gas, Play memory p)
    {
        (gas, p) = _playToOneStep(m, j, e, liarIsDefender);
        (gas.oneStep,) = _tx(challenger, address(game), _oneStepCall(p, j, e));
        gas.total += gas.oneStep;
    }

    /// `_playDispute` up to (not including) the one-step check: the game is in `OneStep`.
    function _playToOneStep(Model memory m, uint256 j, uint256 e, bool liarIsDefender)
        internal
        returns (DisputeGas memory gas, Play memory p)
    {
        p.m = m;
        modelId = _registerModel(m.weightsRoot, m.graphRoot, address(0));
        p.defender = _defender();
        if (!staking.isOptedIn(modelId, p.defender)) _stakeAndOptIn(p.defender, modelId);
        int256[][] memory lie = _copyOuts(m.outs);
        lie[j][e] = lie[j][e] == 127 ? int256(126) : lie[j][e] + 1;
        p.defOuts = liarIsDefender ? lie : m.outs;
        p.chaOuts = liarIsDefender ? m.outs : lie;
        p.defTrace = Tree.levels(_traceLeaves(p.defOuts));
        p.chaTrace = Tree.levels(_traceLeaves(p.chaOuts));

        p.taskId = _requestRows(TaskManager.Mode.Optimistic, m.inputCommitment, uint16(_rows(m)));
        vm.prank(p.defender);
        tm.submit(p.taskId, m.outputCommitment, Tree.root(p.defTrace));
        bytes memory ret;
        (gas.challenge, ret) = _tx(
            challenger,
            address(tm),
            abi.encodeCall(
                tm.challenge,
                (
                    p.taskId,
                    _rec(p.taskId),
                    _claim(p.taskId),
                    Claim({output: keccak256("challenger output"), traceRoot: Tree.root(p.chaTrace)})
                )
            )
        );
        p.gid = abi.decode(ret, (uint256));
        (gas.graph,) = _tx(
            challenger,
            address(game),
            abi.encodeCall(game.postGraph, (p.gid, m.nodes.length, m.nodesRoot, m.outputNodes))
        );
        uint256 node;
        (node, gas.traceBisect) = _descend(p.gid, p.defender, p.defTrace, p.chaTrace);
        assertEq(node, j, "trace descent found the lying node");
        _tensorSteps(p, j, e, gas);
        gas.total = gas.challenge + gas.graph + gas.traceBisect + gas.header + gas.tensorBisect + gas.word;
    }

    function _tensorSteps(Play memory p, uint256 j, uint256 e, DisputeGas memory gas) internal {
        bytes32[][] memory dl = Tree.tensorLevels(p.defOuts[j]);
        bytes32[][] memory cl = Tree.tensorLevels(p.chaOuts[j]);
        gas.header = _both(
            p.gid,
            p.defender,
            abi.encodeCall(game.postHeader, (p.gid, p.defOuts[j].length, Tree.root(dl))),
            abi.encodeCall(game.postHeader, (p.gid, p.chaOuts[j].length, Tree.root(cl)))
        );
        uint256 w;
        (w, gas.tensorBisect) = _descend(p.gid, p.defender, dl, cl);
        assertEq(w, e / 8, "tensor descent found the word");
        gas.word = _both(
            p.gid,
            p.defender,
            abi.encodeCall(game.postWord, (p.gid, Tree.words(p.defOuts[j])[w])),
            abi.encodeCall(game.postWord, (p.gid, Tree.words(p.chaOuts[j])[w]))
        );
        // challenge, graph, 2 per trace level, 2 headers, 2 per tensor level, 2 words, one-step
        gas.txs = 2 + 2 * (p.defTrace.length - 1) + 2 + 2 * (dl.length - 1) + 2 + 1;
    }

    function _both(uint256, address defender, bytes memory defCall, bytes memory chaCall) internal returns (uint256 g) {
        (uint256 a,) = _tx(defender, address(game), defCall);
        (uint256 b,) = _tx(challenger, address(game), chaCall);
        g = a + b;
    }

    function _descend(uint256 gid, address defender, bytes32[][] memory dl, bytes32[][] memory cl)
        internal
        returns (uint256 index, uint256 g)
    {
        for (uint256 lvl = dl.length - 1; lvl > 0; --lvl) {
            bytes32 dL = dl[lvl - 1][2 * index];
            bytes32 cL = cl[lvl - 1][2 * index];
            g += _both(
                gid,
                defender,
                abi.encodeCall(game.bisect, (gid, dL, dl[lvl - 1][2 * index + 1])),
                abi.encodeCall(game.bisect, (gid, cL, cl[lvl - 1][2 * index + 1]))
            );
            index = dL != cL ? 2 * index : 2 * index + 1;
        }
    }

    function _oneStepCall(Play memory p, uint256 j, uint256 e) internal pure returns (bytes memory) {
        return _oneStepCallWith(p, j, e, type(uint256).max);
    }

    /// The one-step call; `chunk` < max reads only chunk `chunk` of a `Linear` row (the
    /// partial-sum game's last step), else every element `e` reads.
    function _oneStepCallWith(Play memory p, uint256 j, uint256 e, uint256 chunk) internal pure returns (bytes memory) {
        Model memory m = p.m;
        OneStepVerifier.Node memory node = m.nodes[j];
        // element `e` of the task's tensor is element `e % n1` of row `e / n1`
        uint256 row = e / OneStepVerifier.numel(node.outShape);
        e %= OneStepVerifier.numel(node.outShape);
        DisputeGame.Window[] memory ins = _inputWins(p, node, row, e, chunk);
        DisputeGame.Window[] memory cs = _constWins(m, node, e, chunk);
        bytes32[] memory nodeProof = Tree.leafProof(Tree.levels(_nodeLeaves(m)), j);
        return abi.encodeCall(DisputeGame.oneStep, (p.gid, node, nodeProof, ins, cs));
    }

    /// Windows of row `row` of node `node`'s dynamic inputs for its row-local element `e`.
    function _inputWins(Play memory p, OneStepVerifier.Node memory node, uint256 row, uint256 e, uint256 chunk)
        internal
        pure
        returns (DisputeGame.Window[] memory ins)
    {
        ins = new DisputeGame.Window[](node.inputs.length);
        for (uint256 i; i < ins.length; ++i) {
            uint256 ref = node.inputs[i];
            bytes32[] memory proof;
            if (ref & G != 0) {
                bytes32[] memory inl = new bytes32[](1);
                inl[0] = Tree.commitment(p.m.input);
                proof = Tree.leafProof(Tree.levels(inl), ref ^ G);
            } else {
                proof = Tree.leafProof(p.defTrace, ref);
            }
            (uint256 lo, uint256 hi) = _needChunk(node, false, i, e, chunk);
            uint256 base = row * OneStepVerifier.numel(node.inShapes[i]);
            ins[i] = _win(_tensorOf(p.m, ref), proof, base + lo, base + hi);
        }
    }

    /// Windows of node `node`'s constants for its row-local element `e`.
    function _constWins(Model memory m, OneStepVerifier.Node memory node, uint256 e, uint256 chunk)
        internal
        pure
        returns (DisputeGame.Window[] memory cs)
    {
        cs = new DisputeGame.Window[](node.consts.length);
        bytes32[] memory cc = new bytes32[](m.consts.length);
        for (uint256 i; i < cc.length; ++i) {
            cc[i] = Tree.commitment(m.consts[i]);
        }
        bytes32[][] memory wl = Tree.levels(cc);
        for (uint256 i; i < cs.length; ++i) {
            (uint256 lo, uint256 hi) = _needChunk(node, true, i, e, chunk);
            cs[i] = _win(m.consts[node.consts[i]], Tree.leafProof(wl, node.consts[i]), lo, hi);
        }
    }

    function _win(int256[] memory data, bytes32[] memory leafProof, uint256 lo, uint256 hi)
        internal
        pure
        returns (DisputeGame.Window memory w)
    {
        bytes32[][] memory lv = Tree.tensorLevels(data);
        bytes32[] memory words = Tree.words(data);
        uint256 sw = lo / 8;
        uint256 ew = (hi - 1) / 8;
        w.numel = data.length;
        w.root = Tree.root(lv);
        w.leafProof = leafProof;
        w.startWord = sw;
        w.words = new bytes32[](ew - sw + 1);
        for (uint256 i; i < w.words.length; ++i) {
            w.words[i] = words[sw + i];
        }
        w.rangeProof = Tree.rangeProof(lv, sw, w.words.length);
    }

    /// `_need`, narrowed to chunk `chunk` of a `Linear` row (64 terms) when `chunk` < max.
    function _needChunk(OneStepVerifier.Node memory node, bool isConst, uint256 i, uint256 e, uint256 chunk)
        internal
        pure
        returns (uint256 lo, uint256 hi)
    {
        (lo, hi) = _need(node, isConst, i, e);
        if (chunk == type(uint256).max || (isConst && i == 1)) return (lo, hi);
        uint256 from = lo + chunk * 64;
        return (from, from + 64 < hi ? from + 64 : hi);
    }

    /// Elements [lo, hi) of output `o`'s bias among `n` outputs: its pair in a wide [N, 2] bias,
    /// its triple in a per-channel [N, 3] one.
    function _biasNeed(uint256[] memory shape, uint256 n, uint256 o) internal pure returns (uint256, uint256) {
        if (shape.length == 2 && shape[0] == n && (shape[1] == 2 || shape[1] == 3)) {
            return (shape[1] * o, shape[1] * o + shape[1]);
        }
        return (o, o + 1);
    }

    /// Elements [lo, hi) of input/constant `i` that element `e` of `node` reads.
    function _need(OneStepVerifier.Node memory node, bool isConst, uint256 i, uint256 e)
        internal
        pure
        returns (uint256 lo, uint256 hi)
    {
        uint256[] memory shape = isConst ? node.constShapes[i] : node.inShapes[i];
        if (node.op == OneStepVerifier.OP_LINEAR) {
            uint256 n = node.constShapes[0][0];
            uint256 k = node.constShapes[0][1];
            if (!isConst) return ((e / n) * k, (e / n) * k + k);
            if (i == 0) return ((e % n) * k, (e % n) * k + k);
            return _biasNeed(shape, n, e % n);
        }
        if (node.op == OneStepVerifier.OP_CONV) {
            uint256 plane = node.outShape[2] * node.outShape[3];
            uint256 co = (e / plane) % node.outShape[1];
            uint256 per = shape.length == 4 ? shape[1] * shape[2] * shape[3] : 1;
            if (!isConst) return (0, OneStepVerifier.numel(shape)); // batch 1, group 1: all channels
            if (i == 0) return (co * per, co * per + per);
            return _biasNeed(shape, node.outShape[1], co);
        }
        if (node.op == OneStepVerifier.OP_MAXPOOL) {
            uint256 hw = shape[2] * shape[3];
            uint256 pl = e / (node.outShape[2] * node.outShape[3]);
            return (pl * hw, pl * hw + hw);
        }
        return (0, OneStepVerifier.numel(shape));
    }
}
