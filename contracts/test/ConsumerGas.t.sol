// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {ModelKit} from "./utils/ModelKit.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {FeeVault} from "../src/FeeVault.sol";
import {TaskRecord, Claim} from "../src/consumer/TaskRecord.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {IVouchTaskManager} from "../src/consumer/IVouchTaskManager.sol";
import {VouchResults} from "../src/consumer/VouchResults.sol";
import {LendingRiskGate} from "../src/examples/LendingRiskGate.sol";
import {VouchZkVerifierMlp10} from "../src/verifiers/VouchZkVerifierMlp10.sol";
import {VouchZkVerifierMlp784} from "../src/verifiers/VouchZkVerifierMlp784.sol";

/// @notice What a verified decision consumed by a contract costs (request with a callback,
/// result, finalize with the values, the risk gate acting), per transaction: execution with
/// cold state plus intrinsic and calldata gas, as `ModelKit._tx` counts it.
/// `forge test --match-contract ConsumerGas -vv` prints the rows; the anvil receipts of the
/// same flow on the digits model are `bench/consumer/run.sh`.
contract ConsumerGasTest is ModelKit {
    bytes32 internal constant INPUT = keccak256("input");
    bytes32 internal constant TRACE = keccak256("trace");
    uint64 internal constant P15 = 0x3f00000000000000;

    LendingRiskGate internal gate;

    function _row(string memory what, uint256 g) internal {
        emit log(string.concat("| ", what, " | ", vm.toString(g), " |"));
    }

    function _cool() internal {
        _coolAll();
        vm.cool(address(tm.delivery()));
        vm.cool(address(gate));
    }

    function _probs() internal pure returns (int32[] memory v) {
        v = new int32[](10);
        v[0] = 700;
        v[3] = 30_000;
        for (uint256 i = 1; i < 10; ++i) {
            if (i != 3) v[i] = 259;
        }
    }

    function _optimistic(address borrower, bool deposit) internal returns (uint256 req, uint256 sub, uint256 fin) {
        TaskManager.RequestInput memory r = _requestInput(TaskManager.Mode.Optimistic, INPUT);
        (r.callback, r.callbackGas) = (address(gate), 100_000);
        if (deposit) {
            vm.prank(borrower);
            tm.deposit(FEE);
        }
        _cool();
        bytes memory ret;
        (req, ret) = _tx(borrower, address(tm), abi.encodeCall(tm.request, (r)));
        uint256 id = abi.decode(ret, (uint256));
        int32[] memory v = _probs();
        (uint32[] memory sizes,) = registry.outputsOf(modelId, VERSION);
        bytes32 out = VouchResults.commitment(v, sizes, 1);
        _cool();
        (sub,) = _tx(providers[0], address(tm), abi.encodeCall(tm.submit, (id, out, TRACE)));
        vm.warp(block.timestamp + cfg.params.challengeWindow);
        vm.prevrandao(bytes32(uint256(7))); // no audit flag for these ids
        _cool();
        (fin,) = _tx(providers[0], address(tm), abi.encodeCall(tm.finalize, (id, _rec(id), _claim(id), v)));
        assertEq(gate.creditLineOf(borrower), 1_000 ether, "the gate acted");
        assertFalse(tm.getTask(id).flags & 16 != 0, "callback ok");
    }

    function test_gas_consumer_decision() public {
        outputSpecs.push(ModelRegistry.OutputSpec({size: 10, scaleBits: P15}));
        modelId = _registerModel(keccak256("weights"), keccak256("graph"), address(0));
        _stakeAndOptIn(providers[0], modelId);
        gate = new LendingRiskGate(IVouchTaskManager(address(tm)), modelId, VERSION, 0, 0, 0.2e18, 1_000 ether);
        _optimistic(requester, false); // warm-up: the provider was paid before, the gate's bitmap word used
        address borrower = address(0xB0B);
        _fund(borrower, 1_000 ether);
        (uint256 req, uint256 sub, uint256 fin) = _optimistic(borrower, false);
        emit log("| optimistic decision, new borrower, fee by transferFrom | gas |");
        emit log("|---|---|");
        _row("request (callback)", req);
        _row("submit", sub);
        _row("finalize with values + gate acts", fin);
        _row("total", req + sub + fin);
        address b2 = address(0xB0B2);
        _fund(b2, 1_000 ether);
        (req, sub, fin) = _optimistic(b2, true);
        emit log("| optimistic decision, new borrower, fee from a deposit | gas |");
        _row("request (callback)", req);
        _row("submit", sub);
        _row("finalize with values + gate acts", fin);
        _row("total", req + sub + fin);
    }

    function test_gas_consumer_decision_zk() public {
        VouchZkVerifierMlp10 v = new VouchZkVerifierMlp10();
        _zkDecision("mlp_10_20_2", 2, v.WEIGHTS_ROOT(), address(v));
    }

    /// The shape of the digits model (784-128-10, ten outputs, three public inputs): the model
    /// `bench/consumer/run.sh` measures in zk mode as anvil receipts.
    function test_gas_consumer_decision_zk_784() public {
        VouchZkVerifierMlp784 v = new VouchZkVerifierMlp784();
        _zkDecision("mlp_784_128_10", 10, v.WEIGHTS_ROOT(), address(v));
    }

    function _zkDecision(string memory name, uint32 outputs, bytes32 weightsRoot, address v) internal {
        string memory j =
            vm.readFile(string.concat(vm.projectRoot(), "/../testdata/proofs/v3/", name, ".calldata.json"));
        outputSpecs.push(ModelRegistry.OutputSpec({size: outputs, scaleBits: P15}));
        modelId = _registerModel(weightsRoot, keccak256("graph"), v);
        gate = new LendingRiskGate(IVouchTaskManager(address(tm)), modelId, VERSION, 0, 1, 1e30, 1_000 ether);
        // a warm-up decision first: the provider was paid before, the gate's bitmap word used
        _zk(j, address(0xB0B0B), v, false);
        (uint256 req, uint256 sub) = _zk(j, address(0xB0B0C), v, false);
        emit log(string.concat("| zk decision in two transactions (", name, " proof), new borrower | gas |"));
        emit log("|---|---|");
        _row("request (callback), fee by transferFrom", req);
        _row("submitZk (verifies, settles, delivers, gate acts)", sub);
        _row("total", req + sub);
        (req, sub) = _zk(j, address(0xB0B0D), v, true);
        _row("request (callback), fee from a deposit", req);
        _row("total, fee from a deposit", req + sub);
        uint256 g = _oneTx(j, 0xA11CE1, v, false);
        emit log(string.concat("| zk decision in one transaction (", name, " proof), new borrower | gas |"));
        _row(
            "FeeVault.requestSignedZk (signed request, verifies, settles, delivers, gate acts), fee by transferFrom", g
        );
        g = _oneTx(j, 0xA11CE2, v, true);
        _row("FeeVault.requestSignedZk, fee from a deposit", g);
    }

    function _zk(string memory j, address borrower, address verifier, bool deposit)
        internal
        returns (uint256 req, uint256 sub)
    {
        _fund(borrower, 1_000 ether);
        if (deposit) {
            vm.prank(borrower);
            tm.deposit(FEE);
        }
        TaskManager.RequestInput memory r =
            _requestInput(TaskManager.Mode.Zk, vm.parseJsonBytes32(j, ".input_commitment"));
        (r.callback, r.callbackGas) = (address(gate), 100_000);
        _cool();
        bytes memory ret;
        (req, ret) = _tx(borrower, address(tm), abi.encodeCall(tm.request, (r)));
        bytes memory call = _submitZkCall(abi.decode(ret, (uint256)), j);
        _cool();
        vm.cool(verifier);
        (sub,) = _tx(providers[0], address(tm), call);
        assertEq(gate.creditLineOf(borrower), 1_000 ether, "the gate acted");
    }

    /// The one-transaction decision: the borrower signs the request, the provider sends it with
    /// the proof (`FeeVault.requestSignedZk`).
    function _oneTx(string memory j, uint256 pk, address verifier, bool deposit) internal returns (uint256 g) {
        address borrower = vm.addr(pk);
        _fund(borrower, 1_000 ether);
        if (deposit) {
            vm.prank(borrower);
            tm.deposit(FEE);
        }
        TaskManager.RequestInput memory r =
            _requestInput(TaskManager.Mode.Zk, vm.parseJsonBytes32(j, ".input_commitment"));
        (r.callback, r.callbackGas) = (address(gate), 100_000);
        bytes memory call = _signedZkCall(r, borrower, pk, j);
        _cool();
        vm.cool(verifier);
        (g,) = _tx(providers[0], address(d.feeVault), call);
        assertEq(gate.creditLineOf(borrower), 1_000 ether, "the gate acted");
    }

    function _signedZkCall(TaskManager.RequestInput memory r, address borrower, uint256 pk, string memory j)
        internal
        view
        returns (bytes memory)
    {
        FeeVault.Signed memory s = FeeVault.Signed({
            client: borrower, feeToken: address(token), nonce: 1, expiry: block.timestamp + 1 hours
        });
        bytes memory sig = _sig(pk, d.feeVault.hashRequest(r, s));
        bytes32 out = vm.parseJsonBytes32(j, ".output_commitment");
        return abi.encodeCall(FeeVault.requestSignedZk, (r, s, sig, _noPermit(), out, vm.parseJsonBytes(j, ".proof")));
    }

    function _submitZkCall(uint256 id, string memory j) internal returns (bytes memory) {
        bytes32 out = vm.parseJsonBytes32(j, ".output_commitment");
        return abi.encodeCall(tm.submitZk, (id, _rec(id), out, vm.parseJsonBytes(j, ".proof")));
    }

    function _sig(uint256 pk, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, digest);
        return abi.encodePacked(r, s, v);
    }

    function _noPermit() internal pure returns (FeeVault.Permit memory p) {}
}
