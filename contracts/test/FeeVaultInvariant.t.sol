// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Test} from "./utils/Test.sol";
import {RecordBook} from "./utils/RecordBook.sol";
import {Fixture} from "./utils/Fixture.sol";
import {PermitToken} from "./utils/PermitToken.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {TaskRecord, Claim} from "../src/consumer/TaskRecord.sol";
import {FeeVault} from "../src/FeeVault.sol";

/// @notice Drives random sequences of FeeVault money flows in two tokens (ETH, and a 6-decimal
/// EIP-2612 token): direct requests, client-signed requests with a permit, provider
/// submissions, finalizations, refunds past the deadline, claims and withdrawals; it keeps ghost
/// books of what went in and where it was credited.
contract FeeVaultHandler is RecordBook {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    address internal constant ETH = address(0);

    FeeVault internal vault;
    TaskManager internal tm;
    PermitToken internal usd;
    uint256 internal clientKey;
    address internal client;
    address internal provider;
    uint32 internal usdModel;
    uint32 internal ethModel;
    uint256 internal window;
    uint256 internal nextNonce;

    uint256[] public ids;
    /// task id => fee token
    mapping(uint256 => address) public tokenOf;
    mapping(uint256 => bool) public claimed;

    /// token => fees escrowed in
    mapping(address => uint256) public ghostIn;
    /// token => credited to the provider
    mapping(address => uint256) public ghostPaid;
    /// token => credited back to the client
    mapping(address => uint256) public ghostRefunded;
    /// token => withdrawn by anyone
    mapping(address => uint256) public ghostWithdrawn;
    /// token => slashed out of the vault (no vault path slashes a fee: a task whose provider
    /// is slashed refunds it; kept so the books name every way out)
    mapping(address => uint256) public ghostSlashed;
    uint256 public calls;

    constructor(
        FeeVault vault_,
        TaskManager tm_,
        PermitToken usd_,
        uint256 clientKey_,
        address provider_,
        uint32 usdModel_,
        uint32 ethModel_,
        uint256 window_
    ) {
        (vault, tm, usd, clientKey, provider) = (vault_, tm_, usd_, clientKey_, provider_);
        client = vm.addr(clientKey_);
        (usdModel, ethModel, window) = (usdModel_, ethModel_, window_);
    }

    function idsLength() external view returns (uint256) {
        return ids.length;
    }

    function _input(uint32 model, uint256 fee, uint256 salt) internal view returns (TaskManager.RequestInput memory r) {
        r.modelId = model;
        r.version = 1;
        r.mode = TaskManager.Mode.Optimistic;
        r.fee = uint88(fee);
        r.deadline = uint32(block.timestamp + 1 hours);
        r.inputCommitment = keccak256(abi.encode(salt, ids.length));
        r.rows = 1;
        r.inputCid = "bafkreiinput";
    }

    function _track(uint256 id, address token, uint256 fee) internal {
        ids.push(id);
        tokenOf[id] = token;
        ghostIn[token] += fee;
    }

    /// The client requests in the 6-decimal token, paying by allowance.
    function requestUsd(uint256 fee) external synced {
        calls++;
        fee = bound(fee, 1, 50_000_000);
        vm.startPrank(client);
        usd.approve(address(vault), fee);
        uint256 id = vault.request(_input(usdModel, fee, fee), address(usd));
        vm.stopPrank();
        _track(id, address(usd), fee);
    }

    /// The client requests in ETH, sending the fee.
    function requestEth(uint256 fee) external synced {
        calls++;
        fee = bound(fee, 1, 5 ether);
        vm.prank(client);
        uint256 id = vault.request{value: fee}(_input(ethModel, fee, fee), ETH);
        _track(id, ETH, fee);
    }

    /// A gateway submits a request the client signed, with a permit of the fee.
    function requestSigned(uint256 fee) external synced {
        calls++;
        fee = bound(fee, 1, 50_000_000);
        TaskManager.RequestInput memory r = _input(usdModel, fee, fee ^ 1);
        FeeVault.Signed memory s =
            FeeVault.Signed({client: client, feeToken: address(usd), nonce: nextNonce++, expiry: block.timestamp + 60});
        (uint8 v, bytes32 rr, bytes32 ss) = vm.sign(clientKey, vault.hashRequest(r, s));
        FeeVault.Permit memory p;
        p.value = fee;
        p.deadline = block.timestamp + 60;
        bytes32 digest = keccak256(
            abi.encodePacked(
                "\x19\x01",
                usd.DOMAIN_SEPARATOR(),
                keccak256(abi.encode(PERMIT_TYPEHASH, client, address(vault), fee, usd.nonces(client), p.deadline))
            )
        );
        (p.v, p.r, p.s) = vm.sign(clientKey, digest);
        vm.prank(address(0x6A7E));
        uint256 id = vault.requestSigned(r, s, abi.encodePacked(rr, ss, v), p);
        _track(id, address(usd), fee);
    }

    function _pick(uint256 seed) internal view returns (uint256 id, bool ok) {
        if (ids.length == 0) return (0, false);
        return (ids[seed % ids.length], true);
    }

    /// The provider posts a result for a requested task.
    function submit(uint256 seed) external synced {
        calls++;
        (uint256 id, bool ok) = _pick(seed);
        if (!ok) return;
        TaskManager.Task memory t = tm.getTask(id);
        if (t.status != TaskManager.Status.Requested || block.timestamp > t.deadline) return;
        vm.prank(provider);
        tm.submit(id, keccak256("out"), keccak256("trace"));
    }

    /// Time passes, then a submitted task is finalized or an unserved one refunded.
    function settle(uint256 seed) external synced {
        calls++;
        (uint256 id, bool ok) = _pick(seed);
        if (!ok) return;
        TaskManager.Task memory t = tm.getTask(id);
        if (t.status == TaskManager.Status.Submitted) {
            vm.warp(block.timestamp + window + 1);
            tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        } else if (t.status == TaskManager.Status.Requested) {
            if (block.timestamp <= t.deadline) vm.warp(uint256(t.deadline) + 1);
            tm.refund(id, _rec(id));
        }
    }

    /// Anyone claims a settled task's fee; the ghost books follow the task's state.
    function claim(uint256 seed) external synced {
        calls++;
        (uint256 id, bool ok) = _pick(seed);
        if (!ok || claimed[id]) return;
        TaskManager.Status st = tm.getTask(id).status;
        (, uint96 amount) = vault.escrows(id);
        if (st == TaskManager.Status.Finalized) {
            ghostPaid[tokenOf[id]] += amount;
        } else if (st == TaskManager.Status.Refunded || st == TaskManager.Status.Failed) {
            ghostRefunded[tokenOf[id]] += amount;
        } else {
            return;
        }
        vault.claim(id, _rec(id), _claim(id), new address[](0));
        claimed[id] = true;
    }

    /// The client or the provider withdraws its credit in one token.
    function withdraw(bool byProvider, bool inEth) external synced {
        calls++;
        address who = byProvider ? provider : client;
        address token = inEth ? ETH : address(usd);
        uint256 amount = vault.balances(token, who);
        if (amount == 0) return;
        vm.prank(who);
        vault.withdraw(token);
        ghostWithdrawn[token] += amount;
    }

    function _bookedTaskManager() internal view override returns (address) {
        return address(tm);
    }
}

/// @notice The FeeVault's books hold per token whatever the sequence of money flows:
/// what was escrowed equals what was paid, refunded, slashed and is still escrowed; what was
/// credited equals what was withdrawn plus what is withdrawable; and the vault holds exactly
/// its escrow plus the withdrawable credits.
contract FeeVaultInvariantTest is Fixture {
    uint256 internal constant CLIENT_KEY = 0xC11E47;
    FeeVaultHandler internal handler;
    FeeVault internal vault;
    PermitToken internal usd;
    address internal client;
    uint32 internal ethModel;

    function setUp() public override {
        super.setUp();
        vault = d.feeVault;
        usd = new PermitToken();
        client = vm.addr(CLIENT_KEY);
        modelId = _registerModel(keccak256("weights"), keccak256("graph"), address(0));
        ethModel = _registerModel(keccak256("weights2"), keccak256("graph2"), address(0));
        vm.startPrank(modelOwner);
        registry.setFeeToken(modelId, VERSION, true, address(usd));
        registry.setFeeToken(ethModel, VERSION, true, address(0));
        vm.stopPrank();
        vm.startPrank(providers[0]);
        staking.stake(STAKE);
        staking.optIn(modelId);
        staking.optIn(ethModel);
        vm.stopPrank();
        vm.roll(block.number + 1);
        usd.mint(client, 1e15);
        vm.deal(client, 1e9 ether);
        handler = new FeeVaultHandler(
            vault, tm, usd, CLIENT_KEY, providers[0], modelId, ethModel, cfg.params.challengeWindow
        );
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    function _books(address token) internal view {
        uint256 credits = vault.balances(token, client) + vault.balances(token, providers[0]);
        uint256 held = token == address(0) ? address(vault).balance : usd.balanceOf(address(vault));
        assertEq(held, vault.totalEscrow(token) + credits, "vault holds escrow + withdrawable");
        assertEq(
            handler.ghostIn(token),
            vault.totalEscrow(token) + handler.ghostPaid(token) + handler.ghostRefunded(token)
                + handler.ghostSlashed(token),
            "escrowed = still escrowed + paid + refunded + slashed"
        );
        assertEq(
            handler.ghostPaid(token) + handler.ghostRefunded(token),
            handler.ghostWithdrawn(token) + credits,
            "credited = withdrawn + withdrawable"
        );
    }

    function invariant_usd_books() public view {
        _books(address(usd));
    }

    function invariant_eth_books() public view {
        _books(address(0));
    }

    /// The provider's paid credit and the client's refunds never mix tokens: nothing of the
    /// TaskManager's token sits in the vault.
    function invariant_no_vouch_in_the_vault() public view {
        assertEq(token.balanceOf(address(vault)), 0, "no VOUCH in the vault");
    }

    /// The handler's flows really run (a campaign of reverted calls would prove nothing): a
    /// fixed sequence pays, refunds and withdraws in both tokens, and the books hold after it.
    function test_handler_flows_pay_refund_and_withdraw() public {
        handler.requestUsd(3_000_000);
        handler.requestSigned(2_500_000);
        handler.requestEth(1 ether);
        handler.requestEth(2 ether);
        handler.submit(0); // the first USD task
        handler.submit(2); // the first ETH task
        for (uint256 i; i < 4; ++i) {
            handler.settle(i);
            handler.claim(i);
        }
        for (uint256 i; i < 4; ++i) {
            handler.withdraw(i % 2 == 0, i < 2);
        }
        assertEq(handler.ghostPaid(address(usd)), 3_000_000, "USD paid");
        assertEq(handler.ghostRefunded(address(usd)), 2_500_000, "USD refunded");
        assertEq(handler.ghostPaid(address(0)), 1 ether, "ETH paid");
        assertEq(handler.ghostRefunded(address(0)), 2 ether, "ETH refunded");
        assertEq(handler.ghostWithdrawn(address(usd)), 5_500_000, "USD withdrawn");
        assertEq(handler.ghostWithdrawn(address(0)), 3 ether, "ETH withdrawn");
        assertEq(usd.balanceOf(providers[0]), 3_000_000, "the provider holds its USD fee");
        _books(address(usd));
        _books(address(0));
    }
}
