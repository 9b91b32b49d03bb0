// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {IDisputeGame, IDisputeResolver, DisputeParams, Outcome} from "./IDisputeGame.sol";
import {OneStepVerifier, Semantics} from "./OneStepVerifier.sol";
import {OneStepEvaluator} from "./OneStepEvaluator.sol";
import {Partial} from "./onestep/Partial.sol";
import {InputRange} from "./InputRange.sol";

/// @title DisputeGame
/// @notice Interactive fraud proof between a defender (the provider, or a committee's first
/// revealer) and a challenger, each committed to a trace root (the list commitment of every
/// node's output tensor commitment, docs/semantics.md section 6).
///
/// 1. `postGraph`: anyone reveals the graph header `(numNodes, nodesRoot, outputNodes)` whose
///    `keccak256(abi.encode(...))` is the model version's `graphRoot`. Equal trace roots with
///    different output commitments go to `resolveOutputs`; otherwise:
/// 2. Trace descent (`bisect`): both parties reveal the two children of their current trace-tree
///    node; the game follows the left child when the left children differ, else the right one.
///    This finds the *first* node `j` whose output commitments differ, so every earlier node
///    (and so every input of node `j`) is agreed.
/// 3. `postHeader`: both reveal `(numel, root)` of node `j`'s output; different `numel`s are
///    settled by `resolveShape` from the node descriptor.
/// 4. Tensor descent (`bisect` again) down the output tensor's Merkle tree to the first differing
///    32-byte word; `postWord` reveals it and fixes the first differing element.
/// 5. `oneStep`: anyone supplies node `j`'s descriptor and windows of its inputs and constants,
///    each proven against the agreed trace, the task's input commitment or the weights root; the
///    contract recomputes the element (OneStepVerifier) and whoever claimed another value loses.
/// 6. Fan-in (`Linear` with `K > CHUNK`, any `Conv` or `MatMul`): instead of step 5, either
///    party may start the partial-sum game (`startPartialSums`): `P_0 = B[n]` (0 without bias),
///    `P_c` adds the first `c` chunks of the element's products (`CHUNK` or `STRIDED_CHUNK`
///    terms, in the weights' order; `Partial`); both post `P_m`, which must requantize to the
///    value each claimed; `postPartial` bisects `[lo, hi]` (P_lo agreed, P_hi disputed) at
///    `mid = (lo + hi) / 2` until `hi = lo + 1`; `oneStep` then recomputes `P_lo + Σ_{chunk lo}`
///    from proven windows (several of the last input for strided reads) against each `P_hi`.
///    docs/semantics.md section 8.4. A `SUM` tree ensemble plays the same game over its trees
///    (`P_t = base[k]` plus the leaf values of trees `0 .. t-1`); its one-step walks tree `lo`'s
///    path from windows of the touched `nodes` rows, feature codes and leaf weight rows
///    (section 8.6), so its cost does not grow with the ensemble.
///
/// Every step has a deadline. A party that must answer and does not loses; when a step anyone
/// may take is not taken, the defender wins (the challenger carries the burden of proof). A
/// dispute never needs the liar's data: every one-step input is agreed data the honest party
/// holds. Zero leaves past the end of a tree are the only honest padding; a party claiming
/// anything else there loses.
contract DisputeGame is IDisputeGame {
    enum Phase {
        None,
        Graph,
        Trace,
        Header,
        Shape,
        Tensor,
        Word,
        OneStep,
        Outputs,
        Done,
        PartialAcc, // both post their accumulator P_m
        PartialBisect, // both post the prefix sum at the midpoint
        PartialStep // the one-step check of chunk `lo`
    }

    /// The partial-sum game of a `Linear`, `Conv` or `MatMul` element, or of a tree ensemble's
    /// (values are i64: honest ones always fit).
    struct PartialSums {
        uint32 lo; // chunk index whose prefix sum is agreed (P_0 is the bias)
        uint32 hi; // chunk index whose prefix sum is disputed
        uint32 k; // fan-in
        uint8 s; // requantization of the node: shift, multiplier, bounds, wide output
        bool wide;
        int64 m;
        int64 qlo;
        int64 qhi;
        int64 agreed; // P_lo when lo > 0
        int64 defHi; // the parties' P_hi
        int64 chaHi;
        int64 defMid; // the defender's post of this round (read when the challenger posts second)
        int64 chaMid;
    }

    /// Terms per chunk of a `Linear` partial-sum game (docs/semantics.md section 8.4).
    uint256 public constant CHUNK = Partial.LINEAR_CHUNK;
    /// Terms per chunk of a `Conv` or `MatMul` partial-sum game (strided reads, section 8.4).
    uint256 public constant STRIDED_CHUNK = Partial.STRIDED_CHUNK;

    struct Game {
        DisputeParams p;
        Phase phase;
        uint8 posted; // bit 0: defender answered this step, bit 1: challenger
        uint32 depth; // levels left in the current descent
        uint64 deadline;
        uint16 rows; // rows of the task: each tensor is `rows` batch-1 tensors end to end
        uint256 index; // node index in the current tree level
        uint256 node; // trace leaf `j`
        uint256 numNodes;
        bytes32 nodesRoot;
        bytes32 outputsHash;
        uint256 numel;
        bytes32 defCur;
        bytes32 chaCur;
        bytes32 defA; // posted left child / numel / word
        bytes32 defB; // posted right child / root
        bytes32 chaA;
        bytes32 chaB;
        uint256 element;
        int256 defValue;
        int256 chaValue;
        Outcome outcome;
    }

    /// A window of a tensor: its commitment's preimage, the proof of the commitment as leaf
    /// `index` of a list commitment, and consecutive words with their range proof.
    struct Window {
        uint256 numel;
        bytes32 root;
        bytes32[] leafProof;
        uint256 startWord;
        bytes32[] words;
        bytes32[] rangeProof;
    }

    IDisputeResolver public immutable taskManager;
    uint64 public immutable stepTimeout;
    /// The op definitions of the one-step check (a contract of its own for EIP-170).
    OneStepEvaluator public immutable evaluator;
    uint256 public gameCount;
    mapping(uint256 => Game) internal _games;
    mapping(uint256 => PartialSums) internal _partial;

    event Opened(uint256 indexed id, uint256 indexed taskId, address defender, address challenger);
    event Step(uint256 indexed id, Phase phase, uint256 index, uint32 depth);
    event Narrowed(uint256 indexed id, uint256 node, uint256 element, int256 defenderValue, int256 challengerValue);
    event Ended(uint256 indexed id, Outcome outcome, int256 computed);

    error NotTaskManager();
    error WrongPhase(Phase phase);
    error NotParty();
    error AlreadyPosted();
    error BadPreimage();
    error BadProof();
    error TooLate();
    error TooEarly();
    error BadInput();
    error BadValue();

    constructor(IDisputeResolver taskManager_, uint64 stepTimeout_, OneStepEvaluator evaluator_) {
        taskManager = taskManager_;
        stepTimeout = stepTimeout_;
        evaluator = evaluator_;
    }

    function open(DisputeParams calldata p, uint16 rows) external returns (uint256 id) {
        if (msg.sender != address(taskManager)) revert NotTaskManager();
        if (rows == 0) revert BadInput();
        id = ++gameCount;
        Game storage g = _games[id];
        g.p = p;
        g.rows = rows;
        g.phase = Phase.Graph;
        g.deadline = uint64(block.timestamp) + stepTimeout;
        emit Opened(id, p.taskId, p.defender, p.challenger);
    }

    function game(uint256 id) external view returns (Game memory) {
        return _games[id];
    }

    /// @notice The partial-sum game of dispute `id` (the midpoint to post is `(lo + hi) / 2`).
    function partialSums(uint256 id) external view returns (PartialSums memory) {
        return _partial[id];
    }

    // ---------------------------------------------------------------- steps

    function postGraph(uint256 id, uint256 numNodes, bytes32 nodesRoot, uint256[] calldata outputNodes) external {
        Game storage g = _active(id, Phase.Graph);
        if (keccak256(abi.encode(numNodes, nodesRoot, outputNodes)) != g.p.graphRoot || numNodes == 0) {
            revert BadPreimage();
        }
        g.numNodes = numNodes;
        g.nodesRoot = nodesRoot;
        g.outputsHash = keccak256(abi.encode(outputNodes));
        if (g.p.defenderTrace == g.p.challengerTrace) {
            _next(id, g, Phase.Outputs);
            return;
        }
        _startDescent(id, g, Phase.Trace, g.p.defenderTrace, g.p.challengerTrace, Semantics.depthOf(numNodes));
    }

    /// @notice A party reveals the two children of its current node in a descent.
    function bisect(uint256 id, bytes32 left, bytes32 right) external {
        Game storage g = _games[id];
        if (g.phase != Phase.Trace && g.phase != Phase.Tensor) revert WrongPhase(g.phase);
        if (block.timestamp > g.deadline) revert TooLate();
        bytes32 h = keccak256(abi.encodePacked(left, right));
        if (_post(g, h) == 0) {
            g.defA = left;
            g.defB = right;
        } else {
            g.chaA = left;
            g.chaB = right;
        }
        if (g.posted != 3) return;
        if (g.defA != g.chaA) {
            g.index = 2 * g.index;
            g.defCur = g.defA;
            g.chaCur = g.chaA;
        } else {
            g.index = 2 * g.index + 1;
            g.defCur = g.defB;
            g.chaCur = g.chaB;
        }
        g.depth -= 1;
        if (g.depth == 0) {
            _leaf(id, g);
        } else {
            _next(id, g, g.phase);
        }
    }

    /// @notice A party reveals `(numel, root)` of its output tensor commitment of node `j`.
    function postHeader(uint256 id, uint256 numel, bytes32 root) external {
        Game storage g = _active(id, Phase.Header);
        if (_post(g, Semantics.tensorCommitment(numel, root)) == 0) {
            g.defA = bytes32(numel);
            g.defB = root;
        } else {
            g.chaA = bytes32(numel);
            g.chaB = root;
        }
        if (g.posted != 3) return;
        if (g.defA != g.chaA) {
            _next(id, g, Phase.Shape);
            return;
        }
        g.numel = numel;
        _startDescent(id, g, Phase.Tensor, g.defB, g.chaB, Semantics.depthOf((numel + 7) / 8));
    }

    /// @notice A party reveals the word of its current tensor leaf.
    function postWord(uint256 id, bytes32 word) external {
        Game storage g = _active(id, Phase.Word);
        if (_post(g, keccak256(abi.encodePacked(word))) == 0) g.defA = word;
        else g.chaA = word;
        if (g.posted != 3) return;
        uint256 w = g.index;
        for (uint256 i; i < 8; ++i) {
            uint256 e = w * 8 + i;
            int256 dv = Semantics.elementOfWord(g.defA, i);
            int256 cv = Semantics.elementOfWord(g.chaA, i);
            if (e >= g.numel) {
                // past the last element: honest padding is zero, in every remaining element of
                // the word (the words differ somewhere at or after `i`)
                bool defBad;
                bool chaBad;
                for (uint256 k = i; k < 8; ++k) {
                    defBad = defBad || Semantics.elementOfWord(g.defA, k) != 0;
                    chaBad = chaBad || Semantics.elementOfWord(g.chaA, k) != 0;
                }
                _end(id, g, _paddingOutcome(defBad, chaBad), 0);
                return;
            }
            if (dv != cv) {
                g.element = e;
                g.defValue = dv;
                g.chaValue = cv;
                emit Narrowed(id, g.node, e, dv, cv);
                _next(id, g, Phase.OneStep);
                return;
            }
        }
        revert BadPreimage(); // unreachable: different words always differ in some element
    }

    /// @notice Settles different output sizes from node `j`'s descriptor.
    function resolveShape(uint256 id, OneStepVerifier.Node calldata node, bytes32[] calldata nodeProof) external {
        Game storage g = _active(id, Phase.Shape);
        _checkNode(g, node, nodeProof);
        uint256 n = OneStepVerifier.numel(node.outShape) * g.rows;
        bool defOk = uint256(g.defA) == n;
        bool chaOk = uint256(g.chaA) == n;
        _end(id, g, _outcome(defOk, chaOk), int256(n));
    }

    /// @notice Recomputes the disputed element of node `j` from proven windows of its inputs
    /// (agreed trace leaves or graph inputs) and constants (weights root).
    function oneStep(
        uint256 id,
        OneStepVerifier.Node calldata node,
        bytes32[] calldata nodeProof,
        Window[] calldata inputs,
        Window[] calldata consts
    ) external {
        Game storage g = _games[id];
        if (g.phase != Phase.PartialStep) g = _active(id, Phase.OneStep);
        else if (block.timestamp > g.deadline) revert TooLate();
        _checkNode(g, node, nodeProof);
        if (g.phase == Phase.PartialStep && node.op == OneStepVerifier.OP_TREE) {
            _treeStep(id, g, node, inputs, consts);
            return;
        }
        _checkArity(g, node, inputs.length, consts.length);
        // the descriptor describes one row: element `e` of the task's tensor is element
        // `e % n1` of row `e / n1` (docs/semantics.md section 8.5)
        uint256 n1 = OneStepVerifier.numel(node.outShape);
        if (n1 * g.rows != g.numel) {
            // both claimed a size the descriptor contradicts
            _end(id, g, Outcome.BothWrong, 0);
            return;
        }
        OneStepVerifier.Tensor[] memory ins = _inputWindows(g, node, inputs, g.element / n1);
        OneStepVerifier.Tensor[] memory cs = new OneStepVerifier.Tensor[](consts.length);
        for (uint256 i; i < consts.length; ++i) {
            cs[i] = _constWindow(g, node, i, consts[i]);
        }
        uint256 e = g.element % n1;
        if (g.phase == Phase.PartialStep) {
            PartialSums storage ps = _partial[id];
            int256 p = evaluator.partialStep(node, ins, cs, e, ps.lo, ps.agreed);
            _end(id, g, _outcome(ps.defHi == p, ps.chaHi == p), p);
            return;
        }
        int256 v = evaluator.evalElement(node, ins, cs, e);
        _end(id, g, _outcome(g.defValue == v, g.chaValue == v), v);
    }

    /// One window per dynamic input and constant; a chunk step may add windows of the last
    /// input (docs/semantics.md section 8.4).
    function _checkArity(Game storage g, OneStepVerifier.Node calldata node, uint256 nInputs, uint256 nConsts)
        internal
        view
    {
        uint256 n = node.inputs.length;
        bool more = g.phase == Phase.PartialStep && n > 0 && nInputs > n;
        if (
            (nInputs != n && !more) || nConsts != node.consts.length || node.inShapes.length != n
                || node.constShapes.length != nConsts
        ) revert BadInput();
    }

    /// The one-step check of the tree partial-sum game (docs/semantics.md section 8.6): tree
    /// `lo`'s leaf values for the disputed target, added to the agreed `P_lo` (`base[k]` when
    /// `lo = 0`), against each party's `P_hi`. `inputs` are windows of the feature codes `X`
    /// (every one of the disputed row's codes the walk tests), `consts` are windows of
    /// `[roots, base, weights, nodes, nodes, ..]` (the path's rows, one window each or shared).
    function _treeStep(
        uint256 id,
        Game storage g,
        OneStepVerifier.Node calldata node,
        Window[] calldata inputs,
        Window[] calldata consts
    ) internal {
        if (inputs.length == 0 || consts.length < 4 || node.inputs.length != 1 || node.inShapes.length != 1) {
            revert BadInput();
        }
        OneStepVerifier.Tensor[] memory xs = _treeInputs(g, node, inputs);
        OneStepVerifier.Tensor[] memory cs = new OneStepVerifier.Tensor[](consts.length);
        for (uint256 i; i < consts.length; ++i) {
            // [roots, base, weights, nodes ..] are constants 2, 3, 1, then 0; a later nodes
            // window with an empty leaf proof shares the first one's proven (numel, root)
            if (i > 3 && consts[i].leafProof.length == 0) {
                if (consts[i].numel != consts[3].numel || consts[i].root != consts[3].root) revert BadProof();
                cs[i] = _window(consts[i], node.constShapes[0], 1, 0);
            } else {
                cs[i] = _constWindow(g, node, i < 3 ? (i == 2 ? 1 : i + 2) : 0, consts[i]);
            }
        }
        uint256 e = g.element % OneStepVerifier.numel(node.outShape);
        PartialSums storage ps = _partial[id];
        int256 prev = ps.lo == 0 ? OneStepVerifier.at(cs[1], e % node.constShapes[3][0]) : int256(ps.agreed);
        int256 p = evaluator.treeStep(node, xs, cs, e, ps.lo, prev);
        _end(id, g, _outcome(ps.defHi == p, ps.chaHi == p), p);
    }

    /// @notice Settles a task without an answer (the claim `bytes32(0)` wins, docs/semantics.md
    /// section 8.5): graph input `i` read by node `j`'s dynamic input `slot` has a tensor commitment
    /// whose size is not `rows` times the descriptor's. Callable once the graph header is posted.
    function resolveInput(
        uint256 id,
        uint256 j,
        OneStepVerifier.Node calldata node,
        bytes32[] calldata nodeProof,
        uint256 slot,
        uint256 numel,
        bytes32 root,
        bytes32[] calldata leafProof
    ) external {
        Game storage g = _games[id];
        uint256 ref = _graphInputOf(g, j, node, nodeProof, slot);
        bytes32 c = Semantics.tensorCommitment(numel, root);
        if (!Semantics.verifyLeaf(g.p.inputCommitment, InputRange.index(ref), c, leafProof)) {
            revert BadProof();
        }
        if (numel == OneStepVerifier.numel(node.inShapes[slot]) * g.rows) revert BadInput(); // well formed
        _end(id, g, _outcome(g.p.defenderOutput == bytes32(0), g.p.challengerOutput == bytes32(0)), 0);
    }

    /// @notice As `resolveInput`, for an element the engine refuses (section 8.7): `element` of
    /// that graph input, proven by `input`, is outside the range of the kind its reference declares
    /// or, for a tree ensemble, its feature's `[-1, 2 |T_f|]` (`bounds`: a window of constant 4).
    function resolveInputRange(
        uint256 id,
        uint256 j,
        OneStepVerifier.Node calldata node,
        bytes32[] calldata nodeProof,
        uint256 slot,
        uint256 element,
        Window calldata input,
        Window calldata bounds
    ) external {
        Game storage g = _games[id];
        uint256 ref = _graphInputOf(g, j, node, nodeProof, slot);
        if (!_refused(g, node, node.inShapes[slot], ref, element, input, bounds)) revert BadInput(); // in range
        _end(id, g, _outcome(g.p.defenderOutput == bytes32(0), g.p.challengerOutput == bytes32(0)), 0);
    }

    /// Whether the engine refuses element `element` of graph input `ref` read by `node` as `shape`.
    function _refused(
        Game storage g,
        OneStepVerifier.Node calldata node,
        uint256[] calldata shape,
        uint256 ref,
        uint256 element,
        Window calldata input,
        Window calldata bounds
    ) internal view returns (bool) {
        uint256 n1 = OneStepVerifier.numel(shape);
        if (n1 == 0) revert BadInput();
        // a wrong size reverts BadInput in _window: resolveInput settles it
        uint256 e = element % n1;
        int256 v = OneStepVerifier.at(_inputWindow(g, ref, shape, input, element / n1, 0), e);
        if (InputRange.outsideKind(ref, v)) return true;
        if (node.op != OneStepVerifier.OP_TREE || shape.length == 0) return false;
        return InputRange.outsideCode(_constWindow(g, node, 4, bounds), e % shape[shape.length - 1], v);
    }

    /// The graph-input reference of node `j`'s (proven) dynamic input `slot`, after `Graph`.
    function _graphInputOf(
        Game storage g,
        uint256 j,
        OneStepVerifier.Node calldata node,
        bytes32[] calldata nodeProof,
        uint256 slot
    ) internal view returns (uint256 ref) {
        Phase ph = g.phase;
        if (ph == Phase.None || ph == Phase.Graph || ph == Phase.Done) revert WrongPhase(ph);
        if (block.timestamp > g.deadline) revert TooLate();
        _checkNodeAt(g, j, node, nodeProof);
        if (slot >= node.inputs.length || slot >= node.inShapes.length) revert BadInput();
        ref = node.inputs[slot];
        if (ref & OneStepVerifier.GRAPH_INPUT == 0) revert BadInput();
    }

    // ---------------------------------------------------------------- partial sums

    /// @notice Starts the partial-sum game for the disputed element of a `Linear` node with
    /// fan-in `K > CHUNK`, of any `Conv` or `MatMul` node (chunks of `STRIDED_CHUNK`), or of a
    /// `SUM` tree ensemble over its trees (instead of `oneStep`),
    /// posting the caller's accumulator `P_m`. A node requantized per output channel (`M = 0`,
    /// docs/semantics.md section 3) passes in `mult` one window of its `[N, 3]` bias holding the
    /// element's channel, whose `M[n]` checks the accumulator; any other node passes none.
    function startPartialSums(
        uint256 id,
        OneStepVerifier.Node calldata node,
        bytes32[] calldata nodeProof,
        int256 acc,
        Window[] calldata mult
    ) external {
        Game storage g = _active(id, Phase.OneStep);
        _checkNode(g, node, nodeProof);
        if (OneStepVerifier.numel(node.outShape) * g.rows != g.numel) revert BadInput();
        PartialSums storage ps = _partial[id];
        if (node.op == OneStepVerifier.OP_TREE) {
            // P_t: base[k] plus the leaf values of trees 0 .. t-1 (docs/semantics.md section 8.6);
            // the accumulator P_T is the claimed (wide) value itself
            if (node.attrs.length != 1 || node.attrs[0] != 0 || node.constShapes.length != 6) revert BadInput();
            if (node.constShapes[2].length != 1 || node.constShapes[3].length != 1) revert BadInput();
            uint256 trees = node.constShapes[2][0];
            if (node.constShapes[3][0] == 0 || trees == 0 || trees > type(uint32).max) revert BadInput();
            ps.hi = uint32(trees);
            ps.k = uint32(trees);
            ps.wide = true;
        } else {
            // Linear, Conv, MatMul: chunks of the fan-in (docs/semantics.md section 8.4)
            uint256 k = Partial.fanIn(node);
            uint256 chunk = Partial.chunkOf(node.op);
            if (k == 0 || k > type(uint32).max || node.attrs.length < 5) revert BadInput();
            if (node.op == OneStepVerifier.OP_LINEAR && k <= chunk) revert BadInput();
            int256[] calldata a = node.attrs;
            ps.hi = uint32((k + chunk - 1) / chunk);
            ps.k = uint32(k);
            ps.wide = a[4] != 0;
            if (!ps.wide) {
                int256 m = a[0] == 0 && mult.length == 1 ? _channelMultiplier(g, node, mult[0]) : a[0];
                // requant's own domain (1 <= M < 2^31, s <= 62); out of it no accumulator is consistent
                if (m < 1 || m >= 2 ** 31 || a[1] < 0 || a[1] > 62) revert BadInput();
                ps.m = int64(m);
                ps.s = uint8(uint256(a[1]));
                ps.qlo = _i64(a[2]);
                ps.qhi = _i64(a[3]);
            }
        }
        g.defCur = bytes32(0);
        g.chaCur = bytes32(0);
        _next(id, g, Phase.PartialAcc);
        _postPartial(id, g, ps, acc);
    }

    /// `M[n]` of the disputed element's output channel `n`, read from window `w` of the node's
    /// `[N, 3]` bias (constant 1) proven against the weights root.
    function _channelMultiplier(Game storage g, OneStepVerifier.Node calldata node, Window calldata w)
        internal
        view
        returns (int256)
    {
        OneStepVerifier.Tensor memory b = _constWindow(g, node, 1, w);
        uint256 e = g.element % OneStepVerifier.numel(node.outShape);
        uint256 nOut = node.op == OneStepVerifier.OP_CONV ? node.outShape[1] : node.constShapes[0][0];
        uint256 n = node.op == OneStepVerifier.OP_CONV
            ? (e / (OneStepVerifier.numel(node.outShape) / node.outShape[0] / nOut)) % nOut
            : e % nOut;
        if (b.shape.length != 2 || b.shape[0] != nOut || b.shape[1] != 3) revert BadInput();
        return OneStepVerifier.at(b, 3 * n + 2);
    }

    /// @notice A party posts its accumulator (`PartialAcc`) or its prefix sum at the midpoint
    /// of the disputed chunk interval (`PartialBisect`).
    function postPartial(uint256 id, int256 value) external {
        Game storage g = _games[id];
        if (g.phase != Phase.PartialAcc && g.phase != Phase.PartialBisect) revert WrongPhase(g.phase);
        if (block.timestamp > g.deadline) revert TooLate();
        _postPartial(id, g, _partial[id], value);
    }

    function _postPartial(uint256 id, Game storage g, PartialSums storage ps, int256 value) internal {
        int64 v = _i64(value);
        uint256 who = _post(g, bytes32(0));
        if (g.phase == Phase.PartialAcc) {
            // the accumulator must give the value this party claimed (docs/semantics.md §3); a
            // wide one is the claimed i32 itself, a requantized one is any i64 (§4)
            if (ps.wide && (value < -(int256(1) << 31) || value >= (int256(1) << 31))) revert BadValue();
            int256 z = ps.wide ? value : Semantics.requant(value, ps.m, ps.s, ps.qlo, ps.qhi);
            if (z != (who == 0 ? g.defValue : g.chaValue)) revert BadValue();
        }
        if (who == 0) ps.defMid = v;
        else ps.chaMid = v;
        if (g.posted != 3) return;
        if (g.phase == Phase.PartialAcc) {
            // different claimed values, so different accumulators
            ps.defHi = ps.defMid;
            ps.chaHi = ps.chaMid;
        } else {
            uint32 mid = (ps.lo + ps.hi) / 2;
            if (ps.defMid == ps.chaMid) {
                ps.lo = mid;
                ps.agreed = ps.defMid;
            } else {
                ps.hi = mid;
                ps.defHi = ps.defMid;
                ps.chaHi = ps.chaMid;
            }
        }
        _next(id, g, ps.hi - ps.lo == 1 ? Phase.PartialStep : Phase.PartialBisect);
    }

    function _i64(int256 v) internal pure returns (int64) {
        if (v < type(int64).min || v > type(int64).max) revert BadValue();
        return int64(v);
    }

    /// @notice Equal traces, different outputs: recomputes the output list commitment from the
    /// trace leaves of the graph's output nodes.
    function resolveOutputs(
        uint256 id,
        uint256[] calldata outputNodes,
        bytes32[] calldata leaves,
        bytes32[][] calldata proofs
    ) external {
        Game storage g = _active(id, Phase.Outputs);
        if (keccak256(abi.encode(outputNodes)) != g.outputsHash || leaves.length != outputNodes.length) {
            revert BadInput();
        }
        uint256 traceDepth = Semantics.depthOf(g.numNodes);
        for (uint256 i; i < leaves.length; ++i) {
            if (
                proofs[i].length != traceDepth
                    || !Semantics.verifyLeaf(g.p.defenderTrace, outputNodes[i], leaves[i], proofs[i])
            ) revert BadProof();
        }
        bytes32 out = Semantics.merkleRoot(leaves);
        _end(id, g, _outcome(g.p.defenderOutput == out, g.p.challengerOutput == out), 0);
    }

    /// @notice Ends a game whose step deadline passed: a party that had to answer and did not
    /// loses; otherwise the defender wins.
    function timeout(uint256 id) external {
        Game storage g = _games[id];
        Phase ph = g.phase;
        if (ph == Phase.None || ph == Phase.Done) revert WrongPhase(ph);
        if (block.timestamp <= g.deadline) revert TooEarly();
        Outcome o = Outcome.DefenderWins;
        if (
            (ph == Phase.Trace
                    || ph == Phase.Tensor
                    || ph == Phase.Header
                    || ph == Phase.Word
                    || ph == Phase.PartialAcc
                    || ph == Phase.PartialBisect) && g.posted == 2
        ) {
            o = Outcome.ChallengerWins;
        }
        _end(id, g, o, 0);
    }

    // ---------------------------------------------------------------- internals

    function _active(uint256 id, Phase ph) internal view returns (Game storage g) {
        g = _games[id];
        if (g.phase != ph) revert WrongPhase(g.phase);
        if (block.timestamp > g.deadline) revert TooLate();
    }

    /// Records the caller's answer for this step after checking it opens its current node.
    /// @return who 0 for the defender, 1 for the challenger
    function _post(Game storage g, bytes32 h) internal returns (uint256 who) {
        if (msg.sender == g.p.defender) {
            who = 0;
        } else if (msg.sender == g.p.challenger) {
            who = 1;
        } else {
            revert NotParty();
        }
        uint8 bit = uint8(1 << who);
        if (g.posted & bit != 0) revert AlreadyPosted();
        if (h != (who == 0 ? g.defCur : g.chaCur)) revert BadPreimage();
        g.posted |= bit;
    }

    function _startDescent(uint256 id, Game storage g, Phase ph, bytes32 d, bytes32 c, uint256 depth) internal {
        g.defCur = d;
        g.chaCur = c;
        g.index = 0;
        g.depth = uint32(depth);
        g.phase = ph;
        if (depth == 0) {
            _leaf(id, g);
        } else {
            _next(id, g, ph);
        }
    }

    function _leaf(uint256 id, Game storage g) internal {
        bool defPad = g.defCur != bytes32(0);
        bool chaPad = g.chaCur != bytes32(0);
        if (g.phase == Phase.Trace) {
            if (g.index >= g.numNodes) {
                _end(id, g, _paddingOutcome(defPad, chaPad), 0);
                return;
            }
            g.node = g.index;
            _next(id, g, Phase.Header);
        } else {
            if (g.index * 8 >= g.numel) {
                _end(id, g, _paddingOutcome(defPad, chaPad), 0);
                return;
            }
            _next(id, g, Phase.Word);
        }
    }

    function _next(uint256 id, Game storage g, Phase ph) internal {
        g.phase = ph;
        g.posted = 0;
        g.deadline = uint64(block.timestamp) + stepTimeout;
        emit Step(id, ph, g.index, g.depth);
    }

    function _checkNode(Game storage g, OneStepVerifier.Node calldata node, bytes32[] calldata proof) internal view {
        _checkNodeAt(g, g.node, node, proof);
    }

    function _checkNodeAt(Game storage g, uint256 j, OneStepVerifier.Node calldata node, bytes32[] calldata proof)
        internal
        view
    {
        bytes32 leaf = keccak256(abi.encode(node));
        if (proof.length != Semantics.depthOf(g.numNodes) || !Semantics.verifyLeaf(g.nodesRoot, j, leaf, proof)) {
            revert BadProof();
        }
    }

    /// The windows of a tree ensemble's feature codes (its one dynamic input), each the
    /// disputed row's part.
    function _treeInputs(Game storage g, OneStepVerifier.Node calldata node, Window[] calldata inputs)
        internal
        view
        returns (OneStepVerifier.Tensor[] memory xs)
    {
        uint256 row = g.element / OneStepVerifier.numel(node.outShape);
        uint256 traceDepth = Semantics.depthOf(g.numNodes);
        xs = new OneStepVerifier.Tensor[](inputs.length);
        for (uint256 i; i < inputs.length; ++i) {
            // a later window with an empty leaf proof shares the first one's (numel, root)
            if (i > 0 && inputs[i].leafProof.length == 0) {
                if (inputs[i].numel != inputs[0].numel || inputs[i].root != inputs[0].root) revert BadProof();
                xs[i] = _window(inputs[i], node.inShapes[0], g.rows, row);
            } else {
                xs[i] = _inputWindow(g, node.inputs[0], node.inShapes[0], inputs[i], row, traceDepth);
            }
        }
    }

    /// Row `row` of each dynamic input of node `j`, proven against the task's input commitment
    /// (graph inputs) or the agreed prefix of the defender's trace (earlier nodes).
    function _inputWindows(Game storage g, OneStepVerifier.Node calldata node, Window[] calldata inputs, uint256 row)
        internal
        view
        returns (OneStepVerifier.Tensor[] memory ins)
    {
        ins = new OneStepVerifier.Tensor[](inputs.length);
        uint256 traceDepth = Semantics.depthOf(g.numNodes);
        uint256 last = node.inputs.length - 1;
        for (uint256 i; i < inputs.length; ++i) {
            // a window past the inputs is one more of the last input; with an empty leaf proof
            // it shares the (proven) commitment of that input's first window
            if (i > last && inputs[i].leafProof.length == 0) {
                if (inputs[i].numel != inputs[last].numel || inputs[i].root != inputs[last].root) revert BadProof();
                ins[i] = _window(inputs[i], node.inShapes[last], g.rows, row);
            } else {
                uint256 s = i < last ? i : last;
                ins[i] = _inputWindow(g, node.inputs[s], node.inShapes[s], inputs[i], row, traceDepth);
            }
        }
    }

    /// Window `w` of the dynamic input `ref` (a graph input or an earlier node's output), proven
    /// against the task's input commitment or the agreed prefix of the defender's trace; its
    /// part in row `row`.
    function _inputWindow(
        Game storage g,
        uint256 ref,
        uint256[] calldata shape,
        Window calldata w,
        uint256 row,
        uint256 traceDepth
    ) internal view returns (OneStepVerifier.Tensor memory) {
        bytes32 c = Semantics.tensorCommitment(w.numel, w.root);
        bool ok;
        if (ref & OneStepVerifier.GRAPH_INPUT != 0) {
            ok = Semantics.verifyLeaf(g.p.inputCommitment, InputRange.index(ref), c, w.leafProof);
        } else {
            ok = ref < g.node && w.leafProof.length == traceDepth
                && Semantics.verifyLeaf(g.p.defenderTrace, ref, c, w.leafProof);
        }
        if (!ok) revert BadProof();
        return _window(w, shape, g.rows, row);
    }

    /// Window `w` of constant `slot` of `node`, proven against the weights root.
    function _constWindow(Game storage g, OneStepVerifier.Node calldata node, uint256 slot, Window calldata w)
        internal
        view
        returns (OneStepVerifier.Tensor memory)
    {
        if (slot >= node.consts.length || slot >= node.constShapes.length) revert BadInput();
        bytes32 c = Semantics.tensorCommitment(w.numel, w.root);
        if (!Semantics.verifyLeaf(g.p.weightsRoot, node.consts[slot], c, w.leafProof)) revert BadProof();
        return _window(w, node.constShapes[slot], 1, 0);
    }

    /// The part of window `w` that lies in row `row` of a tensor of `rows` rows of `shape`,
    /// indexed within the row: the one-step check reads one row as a batch-1 tensor.
    function _window(Window calldata w, uint256[] calldata shape, uint256 rows, uint256 row)
        internal
        pure
        returns (OneStepVerifier.Tensor memory t)
    {
        uint256 n1 = OneStepVerifier.numel(shape);
        if (n1 * rows != w.numel) revert BadInput();
        bytes32[] memory words = w.words; // one calldata copy: nested calldata reads are dear
        uint256 nWords = words.length;
        bytes32[] memory leaves = new bytes32[](nWords);
        for (uint256 i; i < nWords; ++i) {
            leaves[i] = keccak256(abi.encodePacked(words[i]));
        }
        uint256 depth = Semantics.depthOf((w.numel + 7) / 8);
        if (!Semantics.verifyRange(w.root, depth, w.startWord, leaves, w.rangeProof)) revert BadProof();
        // elements [from, to) of the tensor are both in the window and in the row
        uint256 base = row * n1;
        uint256 first = w.startWord * 8;
        uint256 from = first;
        uint256 to = from + nWords * 8;
        if (from < base) from = base;
        if (to > base + n1) to = base + n1;
        t.shape = shape;
        if (from >= to) return t; // nothing of the row: every read reverts OutsideWindow
        t.offset = from - base;
        t.data = new int256[](to - from);
        for (uint256 i = from; i < to; ++i) {
            uint256 word = uint256(words[(i - first) / 8]);
            t.data[i - from] = int256(int32(uint32(word >> (224 - 32 * ((i - first) % 8)))));
        }
    }

    function _paddingOutcome(bool defBad, bool chaBad) internal pure returns (Outcome) {
        return _outcome(!defBad, !chaBad);
    }

    function _outcome(bool defOk, bool chaOk) internal pure returns (Outcome) {
        if (defOk) return Outcome.DefenderWins; // both ok cannot happen: their claims differ
        if (chaOk) return Outcome.ChallengerWins;
        return Outcome.BothWrong;
    }

    function _end(uint256 id, Game storage g, Outcome o, int256 computed) internal {
        g.phase = Phase.Done;
        g.outcome = o;
        emit Ended(id, o, computed);
        taskManager.resolveDispute(g.p.taskId, o);
    }
}
