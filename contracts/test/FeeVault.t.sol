// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

import {Fixture} from "./utils/Fixture.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {TaskRecord, Claim} from "../src/consumer/TaskRecord.sol";
import {FeeVault} from "../src/FeeVault.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {BlobNotCarried} from "../src/BlobInput.sol";

/// A stablecoin-like token: 6 decimals, EIP-2612 permit.
contract Usd6 is ERC20, ERC20Permit {
    constructor() ERC20("Test USD", "TUSD") ERC20Permit("Test USD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

/// A token that burns 1% of every transfer (fee-on-transfer).
contract Taxed is ERC20 {
    constructor() ERC20("Taxed", "TAX") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 tax = value / 100;
            super._update(from, address(0), tax);
            value -= tax;
        }
        super._update(from, to, value);
    }
}

/// Shared set-up: the deployed protocol, a model whose version 1 takes fees in a 6-decimal
/// permit token, a client with a private key, stakes opted in.
abstract contract FeeVaultBase is Fixture {
    bytes32 internal constant INPUT = keccak256("input");
    bytes32 internal constant OUT = keccak256("output");
    uint88 internal constant USD_FEE = 2_500_000; // 2.50 at 6 decimals
    uint256 internal constant CLIENT_KEY = 0xC11E47;

    FeeVault internal vault;
    Usd6 internal usd;
    address internal client;
    address internal gateway = address(0x6A7E);
    bytes32 internal trace = keccak256("trace");

    function setUp() public virtual override {
        super.setUp();
        vault = d.feeVault;
        usd = new Usd6();
        client = vm.addr(CLIENT_KEY);
        modelId = _registerModel(keccak256("weights"), keccak256("graph"), address(0));
        vm.prank(modelOwner);
        registry.setFeeToken(modelId, VERSION, true, address(usd));
        for (uint256 i; i < providers.length; ++i) {
            _stakeAndOptIn(providers[i], modelId);
        }
        usd.mint(client, 1_000_000_000);
        vm.deal(client, 100 ether);
    }

    function _usdInput(TaskManager.Mode mode) internal view returns (TaskManager.RequestInput memory r) {
        r = _requestInput(mode, INPUT);
        r.fee = USD_FEE;
    }

    /// The client requests through the vault, paying by allowance.
    function _usdRequest(TaskManager.Mode mode) internal returns (uint256 id) {
        vm.startPrank(client);
        usd.approve(address(vault), USD_FEE);
        id = vault.request(_usdInput(mode), address(usd));
        vm.stopPrank();
    }

    function _submitAndFinalize(uint256 id) internal {
        vm.prank(providers[0]);
        tm.submit(id, OUT, trace);
        vm.warp(block.timestamp + cfg.params.challengeWindow + 1);
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
    }

    /// The TaskManager credits of the fixture's actors plus the client's and the gateway's.
    function _sumCredits() internal view virtual override returns (uint256 sum) {
        sum = super._sumCredits() + tm.balances(client) + tm.balances(gateway);
    }

    /// The vault's books for `token`: what it holds equals escrow plus the credits of every actor.
    function _assertVaultBooks(address token) internal view {
        uint256 credits = vault.balances(token, client) + vault.balances(token, requester);
        for (uint256 i; i < providers.length; ++i) {
            credits += vault.balances(token, providers[i]);
        }
        uint256 held = token == address(0) ? address(vault).balance : ERC20(token).balanceOf(address(vault));
        assertEq(held, vault.totalEscrow(token) + credits, "vault holds escrow + credits");
    }
}

contract FeeVaultTest is FeeVaultBase {
    // ------------------------------------------------------------ custom token, paid directly

    function test_usd_fee_escrowed_paid_and_withdrawn() public {
        uint256 tmBefore = token.balanceOf(address(tm));
        uint256 id = _usdRequest(TaskManager.Mode.Optimistic);
        TaskRecord memory rec = _rec(id);
        assertEq(rec.requester, client, "the client is the requester");
        assertTrue(rec.vault, "the vault escrows the fee");
        assertEq(rec.fee, USD_FEE, "the record carries the fee as requested");
        assertEq(tm.getTask(id).flags & 64, 64, "vault flag");
        assertEq(usd.balanceOf(address(vault)), USD_FEE, "fee in the vault");
        assertEq(vault.totalEscrow(address(usd)), USD_FEE, "escrowed");
        (uint96 escrow,,,) = tm.ledger();
        assertEq(escrow, 0, "nothing in the TaskManager's escrow");
        assertEq(token.balanceOf(address(tm)), tmBefore, "no VOUCH moved");

        vm.expectRevert(FeeVault.NotSettled.selector);
        vault.claim(id, _rec(id), _claim(id), new address[](0));
        _submitAndFinalize(id);
        vault.claim(id, _rec(id), _claim(id), new address[](0));
        assertEq(vault.balances(address(usd), providers[0]), USD_FEE, "the whole fee to the provider");
        assertEq(tm.balances(providers[0]), 0, "nothing credited in VOUCH");
        vm.expectRevert(FeeVault.NothingToClaim.selector);
        vault.claim(id, _rec(id), _claim(id), new address[](0));
        _assertVaultBooks(address(usd));

        vm.prank(providers[0]);
        vault.withdraw(address(usd));
        assertEq(usd.balanceOf(providers[0]), USD_FEE, "withdrawn");
        vm.expectRevert(FeeVault.NothingToWithdraw.selector);
        vm.prank(providers[0]);
        vault.withdraw(address(usd));
        _assertConserved();
    }

    function test_fee_token_set_at_registration() public {
        vm.prank(modelOwner);
        (uint32 id, uint32 version) = registry.register(
            ModelRegistry.VersionInput({
                packageCid: "bafkreiusd",
                packageHash: keccak256("usd package"),
                weightsRoot: keccak256("usd weights"),
                graphRoot: keccak256("usd graph"),
                semanticsVersion: 4,
                metadataUri: "",
                zkVerifier: address(0),
                outputs: _noOutputs(),
                customFee: true,
                feeToken: address(usd)
            })
        );
        (bool custom, address feeToken) = registry.feeToken(id, version);
        assertTrue(custom, "custom fee from registration");
        assertEq(feeToken, address(usd), "the version's token");
        // requested through the vault in that token, from the first task on
        TaskManager.RequestInput memory r = _usdInput(TaskManager.Mode.Optimistic);
        r.modelId = id;
        vm.startPrank(client);
        usd.approve(address(vault), USD_FEE);
        uint256 task = vault.request(r, address(usd));
        vm.stopPrank();
        (address escrowToken, uint96 amount) = vault.escrows(task);
        assertEq(escrowToken, address(usd), "escrowed in the registered token");
        assertEq(uint256(amount), uint256(USD_FEE), "the fee");
        // a version registered without it keeps the TaskManager's token
        (custom,) = registry.feeToken(_registerModel(keccak256("w3"), keccak256("g3"), address(0)), 1);
        assertFalse(custom, "default: the TaskManager's token");
    }

    function test_eth_fee_refunded_to_the_requester() public {
        vm.prank(modelOwner);
        registry.setFeeToken(modelId, VERSION, true, address(0));
        TaskManager.RequestInput memory r = _requestInput(TaskManager.Mode.Optimistic, INPUT);
        r.fee = 0.01 ether;
        vm.expectRevert(FeeVault.BadValue.selector);
        vm.prank(client);
        vault.request{value: 0.02 ether}(r, address(0));
        vm.prank(client);
        uint256 id = vault.request{value: 0.01 ether}(r, address(0));
        assertEq(address(vault).balance, 0.01 ether, "ETH escrowed");
        vm.warp(r.deadline + 1);
        tm.refund(id, _rec(id));
        vault.claim(id, _rec(id), _claim(id), new address[](0));
        assertEq(vault.balances(address(0), client), 0.01 ether, "refund credited");
        _assertVaultBooks(address(0));
        uint256 before = client.balance;
        vm.prank(client);
        vault.withdraw(address(0));
        assertEq(client.balance, before + 0.01 ether, "ETH back");
    }

    /// The blob check sits in the TaskManager's `_request`: a vault request naming blobs is
    /// refused without them and accepted in a transaction carrying them.
    function test_a_vault_request_naming_blobs_is_checked_too() public {
        bytes32[] memory hs = new bytes32[](1);
        hs[0] = bytes32((uint256(1) << 248) | 7);
        TaskManager.RequestInput memory r = _usdInput(TaskManager.Mode.Optimistic);
        r.inputCid = string.concat("blob:", vm.toString(hs[0]));
        vm.startPrank(client);
        usd.approve(address(vault), USD_FEE);
        vm.expectRevert(abi.encodeWithSelector(BlobNotCarried.selector, 0));
        vault.request(r, address(usd));
        vm.blobhashes(hs);
        uint256 id = vault.request(r, address(usd));
        vm.stopPrank();
        assertEq(tm.getTask(id).modelId, modelId, "requested");
    }

    function test_custom_token_refusals() public {
        // the TaskManager refuses a custom-token version directly, and requestFor from anyone but the vault
        vm.expectRevert(TaskManager.ModelNotActive.selector);
        vm.prank(client);
        tm.request(_usdInput(TaskManager.Mode.Optimistic));
        vm.expectRevert(TaskManager.UseFeeVault.selector);
        tm.requestFor(client, _usdInput(TaskManager.Mode.Optimistic), true);
        // the caller names the token it pays in
        vm.startPrank(client);
        usd.approve(address(vault), USD_FEE);
        vm.expectRevert(abi.encodeWithSelector(FeeVault.WrongFeeToken.selector, address(usd)));
        vault.request(_usdInput(TaskManager.Mode.Optimistic), address(0));
        // ETH sent with a token fee
        vm.expectRevert(FeeVault.BadValue.selector);
        vault.request{value: 1}(_usdInput(TaskManager.Mode.Optimistic), address(usd));
        vm.stopPrank();
        // a version in the TaskManager's token is not requested through the vault
        vm.prank(modelOwner);
        registry.setFeeToken(modelId, VERSION, false, address(0));
        vm.expectRevert(FeeVault.NotCustomFee.selector);
        vm.prank(client);
        vault.request(_usdInput(TaskManager.Mode.Optimistic), address(usd));
        // only the model owner sets the token
        vm.expectRevert(ModelRegistry.NotModelOwner.selector);
        registry.setFeeToken(modelId, VERSION, true, address(usd));
    }

    function test_fee_on_transfer_token_refused() public {
        Taxed taxed = new Taxed();
        taxed.mint(client, 1e18);
        vm.prank(modelOwner);
        registry.setFeeToken(modelId, VERSION, true, address(taxed));
        TaskManager.RequestInput memory r = _requestInput(TaskManager.Mode.Optimistic, INPUT);
        r.fee = 1000;
        vm.startPrank(client);
        taxed.approve(address(vault), 1000);
        vm.expectRevert(abi.encodeWithSelector(FeeVault.FeeOnTransfer.selector, 990));
        vault.request(r, address(taxed));
        vm.stopPrank();
    }

    function test_token_change_keeps_tasks_in_flight_in_their_token() public {
        uint256 id = _usdRequest(TaskManager.Mode.Optimistic);
        vm.prank(modelOwner);
        registry.setFeeToken(modelId, VERSION, true, address(0));
        _submitAndFinalize(id);
        vault.claim(id, _rec(id), _claim(id), new address[](0));
        assertEq(vault.balances(address(usd), providers[0]), USD_FEE, "paid in the escrowed token");
    }

    function test_committee_fee_shared_by_the_agreeing_members() public {
        uint256 id = _usdRequest(TaskManager.Mode.Committee);
        vm.roll(block.number + 2);
        address[] memory m = _drawOf(id);
        bytes32[] memory commits = new bytes32[](m.length);
        for (uint256 i; i < m.length; ++i) {
            commits[i] = keccak256(abi.encode(id, m[i], OUT, trace, bytes32(i)));
            vm.prank(m[i]);
            tm.commit(id, i, commits[i], m);
        }
        for (uint256 i; i < m.length; ++i) {
            vm.prank(m[i]);
            tm.reveal(id, _rec(id), _claim(id), i, Claim(OUT, trace), bytes32(i), m, commits);
        }
        assertTrue(_status(id) == TaskManager.Status.Finalized, "finalized");
        address[] memory wrong = new address[](m.length);
        vm.expectRevert(FeeVault.BadMembers.selector);
        vault.claim(id, _rec(id), _claim(id), wrong);
        vault.claim(id, _rec(id), _claim(id), m);
        uint256 share = USD_FEE / m.length;
        assertEq(vault.balances(address(usd), m[0]), USD_FEE - share * (m.length - 1), "first: share + dust");
        for (uint256 i = 1; i < m.length; ++i) {
            assertEq(vault.balances(address(usd), m[i]), share, "member share");
        }
        _assertVaultBooks(address(usd));
    }

    function test_bind_once_by_the_deployer() public {
        vm.expectRevert(FeeVault.AlreadyBound.selector);
        vault.bind(tm);
    }

    // ------------------------------------------------------------ money flows (fuzz)

    /// Any sequence of requests settled by finalize or refund: the vault's escrow in equals paid
    /// out plus refunded, and its token balance equals escrow plus credits throughout.
    function testFuzz_escrow_in_equals_paid_plus_refunded(uint88[6] memory fees, uint8 outcomes) public {
        uint256 paidIn;
        uint256[] memory ids = new uint256[](fees.length);
        for (uint256 i; i < fees.length; ++i) {
            TaskManager.RequestInput memory r = _usdInput(TaskManager.Mode.Optimistic);
            r.fee = uint88(bound(fees[i], 1, 1_000_000));
            paidIn += r.fee;
            vm.startPrank(client);
            usd.approve(address(vault), r.fee);
            ids[i] = vault.request(r, address(usd));
            vm.stopPrank();
            if ((outcomes >> i) & 1 == 1) {
                vm.prank(providers[0]);
                tm.submit(ids[i], OUT, trace);
            }
            _assertVaultBooks(address(usd));
        }
        vm.warp(block.timestamp + 2 hours);
        for (uint256 i; i < fees.length; ++i) {
            if ((outcomes >> i) & 1 == 1) tm.finalize(ids[i], _rec(ids[i]), _claim(ids[i]), new int32[](0));
            else tm.refund(ids[i], _rec(ids[i]));
            vault.claim(ids[i], _rec(ids[i]), _claim(ids[i]), new address[](0));
            _assertVaultBooks(address(usd));
        }
        uint256 paid = vault.balances(address(usd), providers[0]);
        uint256 refunded = vault.balances(address(usd), client);
        assertEq(paidIn, paid + refunded, "escrow in = paid out + refunded");
        assertEq(vault.totalEscrow(address(usd)), 0, "nothing left escrowed");
        _assertConserved();
    }
}

/// Client-signed requests: `FeeVault.requestSigned` and every refusal.
contract SignedRequestTest is FeeVaultBase {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    function _signed(address feeToken, uint256 nonce) internal view returns (FeeVault.Signed memory s) {
        s = FeeVault.Signed({client: client, feeToken: feeToken, nonce: nonce, expiry: block.timestamp + 10 minutes});
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// The client's EIP-2612 permit for `spender` on `tok`.
    function _permit(ERC20Permit tok, address spender, uint256 value) internal view returns (FeeVault.Permit memory p) {
        p.value = value;
        p.deadline = block.timestamp + 10 minutes;
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, client, spender, value, tok.nonces(client), p.deadline));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", tok.DOMAIN_SEPARATOR(), structHash));
        (p.v, p.r, p.s) = vm.sign(CLIENT_KEY, digest);
    }

    function _noPermit() internal pure returns (FeeVault.Permit memory p) {}

    function test_signed_request_with_permit_is_paid_by_the_client() public {
        TaskManager.RequestInput memory r = _usdInput(TaskManager.Mode.Optimistic);
        FeeVault.Signed memory s = _signed(address(usd), 7);
        bytes memory sig = _sign(CLIENT_KEY, vault.hashRequest(r, s));
        FeeVault.Permit memory p = _permit(usd, address(vault), USD_FEE);
        uint256 before = usd.balanceOf(client);
        vm.prank(gateway);
        uint256 id = vault.requestSigned(r, s, sig, p);
        assertEq(_rec(id).requester, client, "requester is the signer");
        assertEq(usd.balanceOf(client), before - USD_FEE, "fee from the client");
        assertEq(usd.balanceOf(gateway), 0, "the gateway paid nothing");
        assertTrue(vault.nonceUsed(client, 7), "nonce used");
        _submitAndFinalize(id);
        vault.claim(id, _rec(id), _claim(id), new address[](0));
        assertEq(vault.balances(address(usd), providers[0]), USD_FEE, "provider paid");
        _assertVaultBooks(address(usd));
    }

    function test_signed_request_in_the_taskmanager_token() public {
        vm.prank(modelOwner);
        registry.setFeeToken(modelId, VERSION, false, address(0));
        token.transfer(client, FEE);
        TaskManager.RequestInput memory r = _requestInput(TaskManager.Mode.Optimistic, INPUT);
        FeeVault.Signed memory s = _signed(address(token), 1);
        bytes memory sig = _sign(CLIENT_KEY, vault.hashRequest(r, s));
        // the permit's spender is the TaskManager, which takes its own token
        FeeVault.Permit memory p = _permit(token, address(tm), FEE);
        vm.prank(gateway);
        uint256 id = vault.requestSigned(r, s, sig, p);
        assertEq(_rec(id).requester, client, "requester");
        assertEq(token.balanceOf(client), 0, "fee from the client");
        (uint96 escrow,,,) = tm.ledger();
        assertEq(escrow, FEE, "escrowed by the TaskManager");
        _assertConserved();
    }

    function test_signed_request_refusals() public {
        TaskManager.RequestInput memory r = _usdInput(TaskManager.Mode.Optimistic);
        FeeVault.Signed memory s = _signed(address(usd), 1);
        bytes32 digest = vault.hashRequest(r, s);
        bytes memory sig = _sign(CLIENT_KEY, digest);
        vm.prank(client);
        usd.approve(address(vault), type(uint256).max);

        // signed by someone else
        vm.expectRevert(FeeVault.BadSignature.selector);
        vault.requestSigned(r, s, _sign(0xBAD, digest), _noPermit());
        // a field changed after signing
        TaskManager.RequestInput memory tampered = _usdInput(TaskManager.Mode.Optimistic);
        tampered.fee = USD_FEE + 1;
        vm.expectRevert(FeeVault.BadSignature.selector);
        vault.requestSigned(tampered, s, sig, _noPermit());
        tampered = _usdInput(TaskManager.Mode.Optimistic);
        tampered.callback = address(0xCA11);
        vm.expectRevert(FeeVault.BadSignature.selector);
        vault.requestSigned(tampered, s, sig, _noPermit());
        // another chain: the domain's chain id differs, so the signature recovers someone else
        uint256 snap = vm.snapshotState();
        vm.chainId(block.chainid + 1);
        vm.expectRevert(FeeVault.BadSignature.selector);
        vault.requestSigned(r, s, sig, _noPermit());
        vm.revertToState(snap);
        // expired
        snap = vm.snapshotState();
        vm.warp(s.expiry + 1);
        vm.expectRevert(FeeVault.Expired.selector);
        vault.requestSigned(r, s, sig, _noPermit());
        vm.revertToState(snap);
        // accepted once, then a replay is refused
        vm.prank(gateway);
        vault.requestSigned(r, s, sig, _noPermit());
        vm.expectRevert(FeeVault.NonceUsed.selector);
        vm.prank(gateway);
        vault.requestSigned(r, s, sig, _noPermit());
        // a cancelled nonce
        FeeVault.Signed memory s2 = _signed(address(usd), 2);
        bytes memory sig2 = _sign(CLIENT_KEY, vault.hashRequest(r, s2));
        vm.prank(client);
        vault.cancelNonce(2);
        vm.expectRevert(FeeVault.NonceUsed.selector);
        vault.requestSigned(r, s2, sig2, _noPermit());
        // the token the client signed for is not the version's
        FeeVault.Signed memory s3 = _signed(address(token), 3);
        bytes memory sig3 = _sign(CLIENT_KEY, vault.hashRequest(r, s3));
        vm.expectRevert(abi.encodeWithSelector(FeeVault.WrongFeeToken.selector, address(usd)));
        vault.requestSigned(r, s3, sig3, _noPermit());
        // an ETH fee cannot be signed for
        vm.prank(modelOwner);
        registry.setFeeToken(modelId, VERSION, true, address(0));
        FeeVault.Signed memory s4 = _signed(address(0), 4);
        bytes memory sig4 = _sign(CLIENT_KEY, vault.hashRequest(r, s4));
        vm.expectRevert(FeeVault.EthNeedsSender.selector);
        vault.requestSigned(r, s4, sig4, _noPermit());
    }

    /// A signed custom-token request nobody answers: after its deadline anyone (here the gateway
    /// that relayed it) refunds it, and the fee goes back to the client, in the token it was
    /// paid in, exactly once; the gateway gets nothing.
    function test_expired_signed_request_refunds_the_client_once_in_its_token() public {
        TaskManager.RequestInput memory r = _usdInput(TaskManager.Mode.Optimistic);
        FeeVault.Signed memory s = _signed(address(usd), 21);
        bytes memory sig = _sign(CLIENT_KEY, vault.hashRequest(r, s));
        uint256 before = usd.balanceOf(client);
        vm.prank(gateway);
        uint256 id = vault.requestSigned(r, s, sig, _permit(usd, address(vault), USD_FEE));
        assertEq(usd.balanceOf(client), before - USD_FEE, "paid by the client");

        // not refundable, nor claimable, before the deadline
        vm.expectRevert(TaskManager.TooEarly.selector);
        tm.refund(id, _rec(id));
        vm.expectRevert(FeeVault.NotSettled.selector);
        vault.claim(id, _rec(id), _claim(id), new address[](0));

        vm.warp(uint256(r.deadline) + 1);
        vm.prank(gateway);
        tm.refund(id, _rec(id));
        assertEq(uint256(_status(id)), uint256(TaskManager.Status.Refunded), "refunded");
        vm.prank(gateway);
        vault.claim(id, _rec(id), _claim(id), new address[](0));
        assertEq(vault.balances(address(usd), client), USD_FEE, "credited to the client");
        assertEq(vault.balances(address(usd), gateway), 0, "nothing to the relaying gateway");
        assertEq(vault.balances(address(0), client), 0, "not in another token");
        assertEq(tm.balances(client) + tm.balances(gateway), 0, "nothing in the TaskManager's token");
        assertEq(vault.totalEscrow(address(usd)), 0, "escrow released");

        // exactly once: the task and its escrow are spent
        vm.expectRevert(abi.encodeWithSelector(TaskManager.BadStatus.selector, TaskManager.Status.Refunded));
        tm.refund(id, _rec(id));
        vm.expectRevert(FeeVault.NothingToClaim.selector);
        vault.claim(id, _rec(id), _claim(id), new address[](0));
        vm.prank(gateway);
        vm.expectRevert(FeeVault.NothingToWithdraw.selector);
        vault.withdraw(address(usd));

        vm.prank(client);
        vault.withdraw(address(usd));
        assertEq(usd.balanceOf(client), before, "the client has its fee back");
        assertEq(usd.balanceOf(gateway), 0, "the gateway has none of it");
        vm.prank(client);
        vm.expectRevert(FeeVault.NothingToWithdraw.selector);
        vault.withdraw(address(usd));
        _assertVaultBooks(address(usd));
    }

    /// The same in the TaskManager's own token: the TaskManager took the fee from the client
    /// and refunds it to the client's balance there, once; the gateway gets nothing.
    function test_expired_signed_request_in_the_taskmanager_token_refunds_the_client() public {
        vm.prank(modelOwner);
        registry.setFeeToken(modelId, VERSION, false, address(0));
        token.transfer(client, FEE);
        TaskManager.RequestInput memory r = _requestInput(TaskManager.Mode.Optimistic, INPUT);
        FeeVault.Signed memory s = _signed(address(token), 22);
        bytes memory sig = _sign(CLIENT_KEY, vault.hashRequest(r, s));
        vm.prank(gateway);
        uint256 id = vault.requestSigned(r, s, sig, _permit(token, address(tm), FEE));
        assertEq(token.balanceOf(client), 0, "paid by the client");

        vm.warp(uint256(r.deadline) + 1);
        vm.prank(gateway);
        tm.refund(id, _rec(id));
        assertEq(tm.balances(client), FEE, "credited to the client");
        assertEq(tm.balances(gateway), 0, "nothing to the relaying gateway");
        (uint96 escrow,,,) = tm.ledger();
        assertEq(escrow, 0, "escrow released");
        // the vault escrowed nothing for it, so it has nothing to claim
        vm.expectRevert(FeeVault.NothingToClaim.selector);
        vault.claim(id, _rec(id), _claim(id), new address[](0));
        vm.expectRevert(abi.encodeWithSelector(TaskManager.BadStatus.selector, TaskManager.Status.Refunded));
        tm.refund(id, _rec(id));
        _assertConserved();

        vm.prank(client);
        tm.withdraw();
        assertEq(token.balanceOf(client), FEE, "the client has its fee back");
        assertEq(token.balanceOf(gateway), 0, "the gateway has none of it");
        _assertConserved();
    }

    /// A signed committee request the providers cannot staff is refused before anything is
    /// taken (as the Rust client refuses a direct one); once enough providers qualify at the
    /// snapshot the same signed request is accepted.
    function test_signed_committee_request_refused_until_a_committee_can_be_drawn() public {
        uint32 sparse = _registerModel(keccak256("sparse weights"), keccak256("sparse graph"), address(0));
        vm.prank(modelOwner);
        registry.setFeeToken(sparse, VERSION, true, address(usd));
        uint256 needed = cfg.params.committeeSize;
        assertGt(providers.length, needed - 1, "enough fixture providers");
        for (uint256 i; i + 1 < needed; ++i) {
            vm.prank(providers[i]);
            staking.optIn(sparse);
        }
        vm.roll(block.number + 1);
        TaskManager.RequestInput memory r = _usdInput(TaskManager.Mode.Committee);
        r.modelId = sparse;
        FeeVault.Signed memory s = _signed(address(usd), 31);
        bytes memory sig = _sign(CLIENT_KEY, vault.hashRequest(r, s));
        FeeVault.Permit memory p = _permit(usd, address(vault), USD_FEE);
        uint256 before = usd.balanceOf(client);
        uint256 tasks = _taskCount();

        vm.prank(gateway);
        vm.expectRevert(abi.encodeWithSelector(FeeVault.NoCommittee.selector, needed, needed - 1));
        vault.requestSigned(r, s, sig, p);
        assertEq(usd.balanceOf(client), before, "nothing taken");
        assertFalse(vault.nonceUsed(client, 31), "nonce not spent");
        assertEq(_taskCount(), tasks, "no task");
        // optimistic requests of the same model are not affected
        TaskManager.RequestInput memory o = _usdInput(TaskManager.Mode.Optimistic);
        o.modelId = sparse;
        FeeVault.Signed memory so = _signed(address(usd), 32);
        vm.prank(client);
        usd.approve(address(vault), USD_FEE);
        vault.requestSigned(o, so, _sign(CLIENT_KEY, vault.hashRequest(o, so)), _noPermit());

        // one more provider opts in; it counts from the next block (the draw's snapshot)
        vm.prank(providers[needed - 1]);
        staking.optIn(sparse);
        vm.prank(gateway);
        vm.expectRevert(abi.encodeWithSelector(FeeVault.NoCommittee.selector, needed, needed - 1));
        vault.requestSigned(r, s, sig, p);
        vm.roll(block.number + 1);
        vm.prank(gateway);
        uint256 id = vault.requestSigned(r, s, sig, p);
        assertEq(uint256(tm.getTask(id).mode), uint256(TaskManager.Mode.Committee), "committee task");
        assertEq(usd.balanceOf(client), before - 2 * uint256(USD_FEE), "both fees from the client");
        _assertVaultBooks(address(usd));
    }

    /// A full committee makes the signed path accept committee tasks in the TaskManager's token
    /// too (the check is the same whichever token pays).
    function test_signed_committee_request_in_the_taskmanager_token_is_checked() public {
        vm.prank(modelOwner);
        registry.setFeeToken(modelId, VERSION, false, address(0));
        token.transfer(client, 2 * uint256(FEE));
        TaskManager.RequestInput memory r = _requestInput(TaskManager.Mode.Committee, INPUT);
        FeeVault.Signed memory s = _signed(address(token), 41);
        bytes memory sig = _sign(CLIENT_KEY, vault.hashRequest(r, s));
        vm.prank(client);
        token.approve(address(tm), type(uint256).max);
        uint256 id = vault.requestSigned(r, s, sig, _noPermit());
        assertEq(uint256(tm.getTask(id).mode), uint256(TaskManager.Mode.Committee), "accepted");
        // every provider leaves: the next signed committee request is refused
        for (uint256 i; i < providers.length; ++i) {
            vm.prank(providers[i]);
            staking.optOut(modelId);
        }
        vm.roll(block.number + 1);
        FeeVault.Signed memory s2 = _signed(address(token), 42);
        bytes memory sig2 = _sign(CLIENT_KEY, vault.hashRequest(r, s2));
        vm.expectRevert(abi.encodeWithSelector(FeeVault.NoCommittee.selector, uint256(cfg.params.committeeSize), 0));
        vault.requestSigned(r, s2, sig2, _noPermit());
        assertEq(token.balanceOf(client), FEE, "one fee taken");
    }

    function test_front_run_permit_is_ignored_and_allowance_decides() public {
        TaskManager.RequestInput memory r = _usdInput(TaskManager.Mode.Optimistic);
        FeeVault.Signed memory s = _signed(address(usd), 9);
        bytes memory sig = _sign(CLIENT_KEY, vault.hashRequest(r, s));
        FeeVault.Permit memory p = _permit(usd, address(vault), USD_FEE);
        // someone uses the permit first: the allowance it set still pays the fee
        usd.permit(client, address(vault), p.value, p.deadline, p.v, p.r, p.s);
        uint256 id = vault.requestSigned(r, s, sig, p);
        (, uint96 amount) = vault.escrows(id);
        assertEq(amount, USD_FEE, "escrowed");
        // without permit or allowance the transfer fails
        FeeVault.Signed memory s2 = _signed(address(usd), 10);
        bytes memory sig2 = _sign(CLIENT_KEY, vault.hashRequest(r, s2));
        vm.expectRevert();
        vault.requestSigned(r, s2, sig2, _noPermit());
    }
}
