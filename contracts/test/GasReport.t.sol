// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {PartialSumKit} from "./utils/PartialSumKit.sol";
import {TreeKit} from "./utils/TreeKit.sol";
import {ModelKit} from "./utils/ModelKit.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {TaskRecord, Claim} from "../src/consumer/TaskRecord.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {Outcome} from "../src/IDisputeGame.sol";
import {OneStepVerifier} from "../src/OneStepVerifier.sol";

/// @notice The gas report: `forge test --match-contract GasReport -vv` prints the table.
/// Every figure is a whole transaction (execution with cold state, plus intrinsic and calldata
/// gas), measured on the same bytecode that is deployed. The targets are asserted.
contract GasReportTest is PartialSumKit, TreeKit {
    bytes32 internal constant INPUT = keccak256("input");
    bytes32 internal constant OUT = keccak256("output");
    bytes32 internal constant TRACE = keccak256("trace");

    function _row(string memory what, uint256 g) internal {
        emit log(string.concat("| ", what, " | ", vm.toString(g), " |"));
    }

    function _register() internal returns (uint256 g) {
        bytes memory ret;
        (g, ret) = _tx(
            modelOwner,
            address(registry),
            abi.encodeCall(
                registry.register,
                (ModelRegistry.VersionInput({
                        packageCid: "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
                        packageHash: keccak256("package"),
                        weightsRoot: keccak256("weights"),
                        graphRoot: keccak256("graph"),
                        semanticsVersion: 1,
                        metadataUri: "ipfs://bafkreimetadata",
                        zkVerifier: address(0),
                        outputs: _noOutputs(),
                        customFee: false,
                        feeToken: address(0)
                    }))
            )
        );
        (modelId,) = abi.decode(ret, (uint32, uint32));
    }

    function test_gas_settlement() public {
        emit log("| operation | gas |");
        emit log("|---|---|");
        _row("register model version (+ EAS provenance attestation)", _register());
        uint256 g;
        for (uint256 i; i < providers.length; ++i) {
            (g,) = _tx(providers[i], address(staking), abi.encodeCall(staking.stake, (STAKE)));
            if (i == 0) _row("stake", g);
            (g,) = _tx(providers[i], address(staking), abi.encodeCall(staking.optIn, (modelId)));
            if (i == 0) _row("opt in to a model", g);
        }
        vm.roll(block.number + 1); // committee draws read the state at the end of the block before the request
        // steady state: every provider has earned before (its credited balance slot is not a
        // first-time write) and the TaskManager holds funds
        for (uint256 i; i < providers.length; ++i) {
            _optimisticBy(providers[i]);
        }
        (uint256 req, uint256 sub, uint256 fin) = _optimistic();
        _row("optimistic: request", req);
        _row("optimistic: submit", sub);
        _row("optimistic: finalize (pays, appends receipt to hash chain)", fin);
        for (uint256 i; i < 62; ++i) {
            _optimistic();
        }
        (uint256 flush,) = _tx(challenger, address(receipts), abi.encodeCall(receipts.flushReceipts, ()));
        _row("receipt batch: one EAS attestation for 64 tasks", flush);
        _row("receipt batch: per task", flush / 64);
        (uint256 single,) = _tx(
            challenger,
            address(receipts),
            abi.encodeCall(receipts.attestReceipt, (_taskCount(), _rec(_taskCount()), _claim(_taskCount())))
        );
        _row("receipt: single per-task EAS attestation", single);
        uint256 total = req + sub + fin + flush / 64;
        _row("optimistic request+submit+finalize+receipt (batched, 64/batch) [target <= 300000]", total);
        _row("optimistic request+submit+finalize+single attestation", req + sub + fin + single);

        // a requester with a deposited balance pays the fee without an ERC20 transfer
        vm.prank(requester);
        tm.deposit(100 ether);
        (uint256 reqDeposit,) =
            _tx(requester, address(tm), abi.encodeCall(tm.request, (_requestInput(TaskManager.Mode.Optimistic, INPUT))));
        _row("optimistic: request paid from deposited balance", reqDeposit);
        assertLe(total, 300_000, "optimistic target");

        uint256 committee = _committee();
        _row("committee of 3: request+3 commits+3 reveals (finalizes) [target <= 600000]", committee);
        assertLe(committee, 600_000, "committee target");
    }

    function _optimistic() internal returns (uint256 req, uint256 sub, uint256 fin) {
        return _optimisticBy(providers[0]);
    }

    function _optimisticBy(address provider) internal returns (uint256 req, uint256 sub, uint256 fin) {
        TaskManager.RequestInput memory r = _requestInput(TaskManager.Mode.Optimistic, INPUT);
        bytes memory ret;
        (req, ret) = _tx(requester, address(tm), abi.encodeCall(tm.request, (r)));
        uint256 id = abi.decode(ret, (uint256));
        (sub,) = _tx(provider, address(tm), abi.encodeCall(tm.submit, (id, OUT, TRACE)));
        vm.warp(block.timestamp + cfg.params.challengeWindow + 1);
        vm.prevrandao(bytes32(uint256(7))); // a value that does not flag an audit for these ids
        (fin,) = _tx(providers[1], address(tm), abi.encodeCall(tm.finalize, (id, _rec(id), _claim(id), new int32[](0))));
    }

    function _committee() internal returns (uint256 total) {
        TaskManager.RequestInput memory r = _requestInput(TaskManager.Mode.Committee, INPUT);
        bytes memory ret;
        uint256 g;
        (g, ret) = _tx(requester, address(tm), abi.encodeCall(tm.request, (r)));
        _row("committee: request", g);
        total += g;
        uint256 id = abi.decode(ret, (uint256));
        vm.roll(block.number + 2);
        address[] memory m = _drawOf(id);
        bytes32[] memory cs = new bytes32[](3);
        for (uint256 i; i < 3; ++i) {
            bytes32 c = keccak256(abi.encode(id, m[i], OUT, TRACE, bytes32(i)));
            cs[i] = c;
            (g,) = _tx(m[i], address(tm), abi.encodeCall(tm.commit, (id, i, c, m)));
            _row(i == 0 ? "committee: first commit (draws, locks its bond)" : "committee: commit (locks its bond)", g);
            total += g;
        }
        for (uint256 i; i < 3; ++i) {
            (g,) = _tx(
                m[i],
                address(tm),
                abi.encodeCall(tm.reveal, (id, _rec(id), _claim(id), i, Claim(OUT, TRACE), bytes32(i), m, cs))
            );
            _row(i == 2 ? "committee: last reveal (finalizes, pays 3)" : "committee: reveal", g);
            total += g;
        }
        assertTrue(_status(id) == TaskManager.Status.Finalized, "committee finalized");
    }

    function _disputeRows(string memory name, DisputeGas memory g) internal {
        _row(string.concat(name, ": challenge (bond, opens game)"), g.challenge);
        _row(string.concat(name, ": post graph header"), g.graph);
        _row(string.concat(name, ": trace bisection (both parties)"), g.traceBisect);
        _row(string.concat(name, ": output headers"), g.header);
        _row(string.concat(name, ": tensor bisection (both parties)"), g.tensorBisect);
        _row(string.concat(name, ": words"), g.word);
        _row(string.concat(name, ": one-step check [target < 10000000]"), g.oneStep);
        _row(string.concat(name, ": full dispute total"), g.total);
        _row(string.concat(name, ": transactions"), g.txs);
    }

    function test_gas_dispute_mlp() public {
        Model memory m = _mlp();
        _execute(m);
        emit log("| MLP 784-128-10 dispute | gas |");
        emit log("|---|---|");
        (DisputeGas memory g,) = _playDispute(m, 0, 100, true);
        _disputeRows("dense 784->128 (node 0)", g);
        assertLt(g.oneStep, 10_000_000, "one-step target");

        // the same element settled by the partial-sum game (64-term chunks; the liar's sums
        // deviate from chunk 6 of 13)
        Run memory r = _setup(0, 100, true, 6);
        _play(r, 0);
        assertTrue(game.game(r.p.gid).outcome == Outcome.ChallengerWins, "liar loses");
        uint256 before = r.gas.total + g.oneStep;
        uint256 total = r.gas.total + r.start + r.bisect + r.step;
        _row("dense 784->128 (node 0), partial sums: start + accumulators", r.start);
        _row("dense 784->128 (node 0), partial sums: bisection over 13 chunks (both parties)", r.bisect);
        _row("dense 784->128 (node 0), partial sums: one-step check of a 64-term chunk", r.step);
        _row("dense 784->128 (node 0), partial sums: full dispute total", total);
        _row("dense 784->128 (node 0), partial sums: transactions", g.txs + 1 + 2 * _rounds(13));
        _row("dense 784->128 (node 0): full dispute total, full-row check (before)", before);
        uint256 settle = r.start + r.bisect + r.step;
        _row("dense 784->128 (node 0): element settlement after the word, full row (before)", g.oneStep);
        _row("dense 784->128 (node 0): element settlement after the word, partial sums (after)", settle);
        assertLt(settle, g.oneStep / 2, "partial sums settle the element in far less gas");
        assertLt(total, before, "and the whole dispute");
        (g,) = _playDispute(m, 1, 7, true);
        _row("dense 128->10 (node 1): one-step check", g.oneStep);
        _row("dense 128->10 (node 1): full dispute total", g.total);
        assertLt(g.oneStep, 10_000_000, "one-step target");
    }

    /// Midpoint rounds of the partial-sum game over `m` chunks.
    function _rounds(uint256 m) internal pure returns (uint256 r) {
        while (m > 1) {
            m -= m / 2;
            ++r;
        }
    }

    function test_gas_dispute_lenet() public {
        Model memory m = _lenet();
        _execute(m);
        emit log("| LeNet dispute | gas |");
        emit log("|---|---|");
        (DisputeGas memory g,) = _playDispute(m, 2, 300, true);
        _disputeRows("conv 6->16 5x5 (node 2)", g);
        assertLt(g.oneStep, 10_000_000, "one-step target");
        string[6] memory names =
            ["conv 1->6 5x5", "maxpool 2x2", "conv 6->16 5x5", "maxpool 2x2", "flatten", "dense 256->10"];
        for (uint256 j; j < 6; ++j) {
            if (j == 2) continue;
            (g,) = _playDispute(m, j, j == 5 ? 3 : 17, true);
            _row(string.concat(names[j], " (node ", vm.toString(j), "): one-step check"), g.oneStep);
            assertLt(g.oneStep, 10_000_000, "one-step target");
        }
    }

    /// The largest reduction the importer accepts: a `Reduce` mean of 224 `act16` values (the
    /// one-step window spans `MAX_REDUCE_SPAN` elements, docs/semantics.md section 8.1), and
    /// smaller ones for the per-element cost.
    function test_gas_dispute_reduce() public {
        _reduceGas(8);
        _reduceGas(64);
        uint256 g = _reduceGas(224);
        assertLt(g, 1_000_000, "one-step of the largest reduction under 1M gas");
    }

    function _reduceGas(uint256 span) internal returns (uint256) {
        Model memory m;
        m.input = _rand(21, span, -32_768, 32_767);
        m.inputShape = _u(1, span);
        m.nodes = new OneStepVerifier.Node[](1);
        OneStepVerifier.Node memory node;
        node.op = OneStepVerifier.OP_REDUCE;
        node.inputs = _u(G);
        node.inShapes = new uint256[][](1);
        node.inShapes[0] = _u(1, span);
        node.outShape = _u(1, 1);
        node.attrs = new int256[](6);
        // mean, identity requantization onto act16, axis 1
        (node.attrs[0], node.attrs[1], node.attrs[2], node.attrs[3], node.attrs[4], node.attrs[5]) =
        (1, 1, 0, -32_768, 32_767, 1);
        m.nodes[0] = node;
        m.outputNodes = _u(0);
        _execute(m);
        (DisputeGas memory g,) = _playDispute(m, 0, 0, true);
        _row(string.concat("reduce mean over ", vm.toString(span), " act16: one-step check"), g.oneStep);
        return g.oneStep;
    }

    /// The tree partial-sum step (docs/semantics.md section 8.6) walks one tree's path: its
    /// cost grows with the depth (one window per path row and tested code), not with the
    /// number of trees. 60 trees of depth 3 is the shape of testdata/models/tree_gb_bc.
    function test_gas_dispute_tree() public {
        uint256 small = _treeGas(60, 3);
        uint256 many = _treeGas(400, 3);
        assertLt(many, small + 20_000, "400 trees cost what 60 do");
        _treeGas(20, 6);
        uint256 d8 = _treeGas(8, 8);
        uint256 d10 = _treeGas(2, 10);
    }

    /// The worst case of the feature codes at the deepest path optimistic mode accepts
    /// (`vouch_semantics::tree::MAX_DISPUTE_DEPTH`, 6 branches): 256 features, each tested code
    /// proven by a window of its own, in a task of 512 rows (so their proofs are 14 levels deep).
    function test_gas_dispute_tree_worst_codes() public {
        (treePerCode, treeRows, treeFeatures) = (true, 512, 256);
        uint256 worst = _treeGas(4, 6);
        assertLt(worst, 900_000, "depth 6, 256 features, a window per code, 512 rows: under 900k gas");
    }

    function _treeGas(uint256 trees, uint256 depth) internal returns (uint256 g) {
        uint256 nf = treeFeatures == 0 ? FEATURES : treeFeatures;
        Model memory m = _forestF(trees, depth, 2, trees + depth, nf);
        if (treeRows > 0) {
            // a task of many rows: the feature codes' proofs are deeper
            m.rows = treeRows;
            m.input = _rand(99, treeRows * nf, -1, int256(2 * THRESHOLDS));
        }
        _execute(m);
        TreeRun memory r = _treeSetup(m, 1, true, trees / 2);
        uint256 lo = _treeBisect(r);
        bytes memory ret;
        (g, ret) = _tx(challenger, address(game), _treeStepCall(r.p, r.e, lo));
        assertTrue(game.game(r.p.gid).outcome == Outcome.ChallengerWins, "the liar loses the tree step");
        _row(
            string.concat(
                "tree step: ",
                vm.toString(trees),
                " trees of depth ",
                vm.toString(depth),
                treePerCode ? ", a window per code" : "",
                treeRows > 0 ? string.concat(", ", vm.toString(treeRows), " rows") : "",
                treeFeatures > 0 ? string.concat(", ", vm.toString(treeFeatures), " features") : "",
                " (one-step transaction)"
            ),
            g
        );
    }
}
