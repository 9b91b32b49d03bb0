// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {
    IEAS,
    AttestationRequest,
    AttestationRequestData
} from "@ethereum-attestation-service/eas-contracts/contracts/IEAS.sol";
import {EasSchemas} from "./EasSchemas.sol";

/// @title ModelRegistry
/// @notice Append-only registry of model versions. A version binds the package's content id
/// and sha256, the keccak Merkle roots the contracts check (`weightsRoot` over the constant
/// tensors and `graphRoot` over the node descriptors, see OneStepVerifier), the semantics
/// version, a metadata URI and an optional zk verifier. Registering emits an EAS provenance
/// attestation. Versions never change; only their status does: settlement contracts record
/// strikes (a provider's result lost a dispute or failed an audit) and a version freezes
/// automatically once `freezeThreshold` *distinct* providers have a strike on it, so one
/// provider's own lies never freeze a model (ProviderStaking ejects a provider that keeps
/// losing). A frozen version refuses optimistic and committee requests but still serves zk
/// requests (a proof cannot lie). Governance (Timelock) freezes, unfreezes and deprecates; a
/// guardian set by governance may only unfreeze, at once, for a version frozen wrongly.
///
/// A version also records its graph outputs (`outputsOf`): each output's elements per row and
/// its scale as the exact bits of the package's binary64 scale, so a consumer contract can
/// check delivered output values against an output commitment and convert them to fixed point
/// (docs/semantics.md section 10). Like the roots, they are the model owner's claim about the
/// package, checkable by anyone holding it.
contract ModelRegistry {
    enum Status {
        None,
        Active,
        Frozen,
        Deprecated
    }

    struct VersionInput {
        string packageCid;
        bytes32 packageHash; // sha256 of the package bytes
        bytes32 weightsRoot;
        bytes32 graphRoot;
        uint32 semanticsVersion;
        string metadataUri;
        address zkVerifier; // zero when the version has no zk verifier
        OutputSpec[] outputs; // the graph outputs in package order (empty: values cannot be delivered)
        bool customFee; // fees in `feeToken` through the FeeVault (as `setFeeToken`), set at registration
        address feeToken; // with `customFee`: an ERC-20, or address(0) for ETH; ignored otherwise
    }

    /// One graph output: elements per row and the IEEE-754 binary64 bits of its scale.
    struct OutputSpec {
        uint32 size;
        uint64 scaleBits;
    }

    /// What a zk settlement checks a version against (`zkVersion`).
    struct ZkVersion {
        bytes32 weightsRoot;
        bytes32 graphRoot;
        address verifier; // address(0): not usable (see `zkVersion`)
        uint32[] sizes; // `outputsOf`
        uint64[] scales;
    }

    struct Version {
        bytes32 packageHash;
        bytes32 weightsRoot;
        bytes32 graphRoot;
        address zkVerifier;
        uint32 semanticsVersion;
        Status status;
        bool customFee; // fees in `feeTokenOf` (through the FeeVault) instead of the TaskManager's token
        uint32 strikes; // distinct providers with a strike since the version was last unfrozen
        uint32 epoch; // bumped by every unfreeze: strikes of earlier epochs no longer count
        uint64 registeredAt;
        bytes32 provenanceUid;
        string packageCid;
        string metadataUri;
    }

    string public constant PROVENANCE_SCHEMA =
        "uint32 modelId,uint32 version,string packageCid,bytes32 packageHash,bytes32 weightsRoot,bytes32 graphRoot,uint32 semanticsVersion,address zkVerifier";

    IEAS public immutable eas;
    bytes32 public immutable provenanceSchema;

    address public governance;
    /// May unfreeze a frozen version at once; nothing else.
    address public guardian;
    uint32 public freezeThreshold;
    uint32 public modelCount;
    mapping(address => bool) public reporters;
    mapping(uint32 => address) public modelOwner;
    mapping(uint32 => uint32) public versionCount;
    mapping(uint32 => mapping(uint32 => Version)) internal _versions;
    /// keccak256(modelId, version, provider) => epoch + 1 of the provider's last strike
    mapping(bytes32 => uint32) internal _struck;
    /// modelId => version => outputs, 12 bytes each: `uint32 size ‖ uint64 scaleBits`, packed
    /// (up to two outputs fit one slot with the length)
    mapping(uint32 => mapping(uint32 => bytes)) internal _outputs;
    /// modelId => version => the fee token of a version with `customFee` (address(0): ETH)
    mapping(uint32 => mapping(uint32 => address)) public feeTokenOf;

    event ModelCreated(uint32 indexed modelId, address indexed owner);
    event VersionRegistered(
        uint32 indexed modelId, uint32 indexed version, bytes32 packageHash, string packageCid, bytes32 provenanceUid
    );
    event OwnershipTransferred(uint32 indexed modelId, address indexed from, address indexed to);
    event StatusChanged(uint32 indexed modelId, uint32 indexed version, Status status);
    event StrikeRecorded(uint32 indexed modelId, uint32 indexed version, address indexed provider, uint32 strikes);
    event GuardianSet(address indexed guardian);
    event ReporterSet(address indexed reporter, bool allowed);
    event FreezeThresholdSet(uint32 threshold);
    event GovernanceTransferred(address indexed to);
    event FeeTokenSet(uint32 indexed modelId, uint32 indexed version, bool custom, address token);

    error NotGovernance();
    error NotGuardian();
    error NotModelOwner();
    error NotReporter();
    error UnknownVersion(uint32 modelId, uint32 version);
    error BadSemanticsVersion(uint32 semanticsVersion);
    error BadStatus();
    error ZeroAddress();
    error BadOutput(uint256 index);

    modifier onlyGovernance() {
        if (msg.sender != governance) revert NotGovernance();
        _;
    }

    constructor(IEAS eas_, address governance_, uint32 freezeThreshold_) {
        if (governance_ == address(0)) revert ZeroAddress();
        eas = eas_;
        governance = governance_;
        freezeThreshold = freezeThreshold_;
        provenanceSchema = EasSchemas.ensure(eas_, PROVENANCE_SCHEMA);
    }

    // ---------------------------------------------------------------- model owners

    /// @notice Creates a model owned by the caller and registers its first version.
    function register(VersionInput calldata input) external returns (uint32 modelId, uint32 version) {
        modelId = ++modelCount;
        modelOwner[modelId] = msg.sender;
        emit ModelCreated(modelId, msg.sender);
        version = _addVersion(modelId, input);
    }

    /// @notice Appends a version to an existing model; earlier versions stay as they were.
    function addVersion(uint32 modelId, VersionInput calldata input) external returns (uint32) {
        if (msg.sender != modelOwner[modelId]) revert NotModelOwner();
        return _addVersion(modelId, input);
    }

    function transferModelOwnership(uint32 modelId, address to) external {
        if (msg.sender != modelOwner[modelId]) revert NotModelOwner();
        if (to == address(0)) revert ZeroAddress();
        modelOwner[modelId] = to;
        emit OwnershipTransferred(modelId, msg.sender, to);
    }

    /// @notice Sets the token a version's fees are paid in: `custom == false` is the
    /// TaskManager's own token (the default, escrowed by the TaskManager); `custom == true` is
    /// `token` (an ERC-20, or address(0) for ETH), escrowed by the FeeVault. Tasks already
    /// requested keep the token they escrowed; signed requests name the token, so a change
    /// cannot make a client pay in another one.
    function setFeeToken(uint32 modelId, uint32 version, bool custom, address token) external {
        if (msg.sender != modelOwner[modelId]) revert NotModelOwner();
        Version storage v = _versions[modelId][version];
        if (v.status == Status.None) revert UnknownVersion(modelId, version);
        v.customFee = custom;
        feeTokenOf[modelId][version] = custom ? token : address(0);
        emit FeeTokenSet(modelId, version, custom, token);
    }

    function _addVersion(uint32 modelId, VersionInput calldata input) internal returns (uint32 version) {
        // docs/semantics.md: version 2 widened version 1 (act16, i16 weights, i64 accumulators),
        // version 3 added the zk statement (circomlib's Poseidon), version 4 Lut tables of 2^k
        // entries, version 5 wide [N, 2] biases and version 6 per-channel multipliers ([N, 3]
        // biases); the one-step verifier executes all six. A zk verifier needs version 3 or
        // later: older packages committed zk inputs with a Poseidon no current prover computes,
        // so their zk tasks could not be answered. The limit is the Rust `SEMANTICS_VERSION`
        // (crates/chain/tests/semantics_limit.rs fails when they differ).
        if (input.semanticsVersion == 0 || input.semanticsVersion > 6) {
            revert BadSemanticsVersion(input.semanticsVersion);
        }
        if (input.zkVerifier != address(0) && input.semanticsVersion < 3) {
            revert BadSemanticsVersion(input.semanticsVersion);
        }
        version = ++versionCount[modelId];
        Version storage v = _versions[modelId][version];
        v.packageHash = input.packageHash;
        v.weightsRoot = input.weightsRoot;
        v.graphRoot = input.graphRoot;
        v.zkVerifier = input.zkVerifier;
        v.semanticsVersion = input.semanticsVersion;
        v.status = Status.Active;
        v.registeredAt = uint64(block.timestamp);
        v.packageCid = input.packageCid;
        v.metadataUri = input.metadataUri;
        bytes memory outs;
        for (uint256 i; i < input.outputs.length; ++i) {
            OutputSpec calldata o = input.outputs[i];
            // a positive, finite, non-zero binary64: sign bit clear, exponent not all ones
            uint64 e = o.scaleBits >> 52;
            if (o.size == 0 || o.scaleBits == 0 || e >= 0x7FF) revert BadOutput(i);
            outs = bytes.concat(outs, bytes4(o.size), bytes8(o.scaleBits));
        }
        _outputs[modelId][version] = outs;
        if (input.customFee) {
            // the version's fee token in the same transaction (so no task can be requested in the
            // TaskManager's token before the owner's `setFeeToken`)
            v.customFee = true;
            feeTokenOf[modelId][version] = input.feeToken;
            emit FeeTokenSet(modelId, version, true, input.feeToken);
        }
        bytes32 uid = eas.attest(
            AttestationRequest({
                schema: provenanceSchema,
                data: AttestationRequestData({
                    recipient: msg.sender,
                    expirationTime: 0,
                    revocable: false,
                    refUID: bytes32(0),
                    data: _provenanceData(modelId, version, input),
                    value: 0
                })
            })
        );
        v.provenanceUid = uid;
        emit VersionRegistered(modelId, version, input.packageHash, input.packageCid, uid);
    }

    function _provenanceData(uint32 modelId, uint32 version, VersionInput calldata input)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encode(
            modelId,
            version,
            input.packageCid,
            input.packageHash,
            input.weightsRoot,
            input.graphRoot,
            input.semanticsVersion,
            input.zkVerifier
        );
    }

    // ---------------------------------------------------------------- reads

    function getVersion(uint32 modelId, uint32 version) external view returns (Version memory) {
        return _versions[modelId][version];
    }

    /// @notice Elements per row and scale bits (IEEE-754 binary64) of each graph output of a
    /// version, in package order.
    function outputsOf(uint32 modelId, uint32 version)
        external
        view
        returns (uint32[] memory sizes, uint64[] memory scales)
    {
        return _outputsOf(modelId, version);
    }

    function _outputsOf(uint32 modelId, uint32 version)
        internal
        view
        returns (uint32[] memory sizes, uint64[] memory scales)
    {
        bytes memory outs = _outputs[modelId][version];
        uint256 n = outs.length / 12;
        sizes = new uint32[](n);
        scales = new uint64[](n);
        for (uint256 i; i < n; ++i) {
            uint256 w;
            assembly ("memory-safe") {
                w := mload(add(add(outs, 0x20), mul(i, 12)))
            }
            sizes[i] = uint32(w >> 224);
            scales[i] = uint64(w >> 160);
        }
    }

    function status(uint32 modelId, uint32 version) external view returns (Status) {
        return _versions[modelId][version].status;
    }

    function isActive(uint32 modelId, uint32 version) external view returns (bool) {
        return _versions[modelId][version].status == Status.Active;
    }

    /// @notice Whether a new request may use the version: an active one in every mode, a
    /// frozen one in zk mode only (its proof is checked against the version's own verifier, so
    /// no result can be wrong and no honest party can lose a bond), and in zk mode only a version
    /// with a verifier (the TaskManager reads no other registry state at request time).
    /// `customFee` must match the version's: a version with its own fee token is requested
    /// through the FeeVault only, one in the TaskManager's token never through it.
    function isUsable(uint32 modelId, uint32 version, bool zk, bool customFee) external view returns (bool) {
        Version storage v = _versions[modelId][version];
        Status st = v.status;
        return (st == Status.Active || (zk && st == Status.Frozen)) && v.customFee == customFee
            && (!zk || v.zkVerifier != address(0));
    }

    /// @notice A version's fee token: `custom == false` means the TaskManager's own token (and
    /// `token` is then address(0): `feeTokenOf` is read only for a custom-fee version).
    function feeToken(uint32 modelId, uint32 version) external view returns (bool custom, address token) {
        custom = _versions[modelId][version].customFee;
        if (custom) token = feeTokenOf[modelId][version];
    }

    /// @notice The roots and verifier the settlement contracts check against.
    function commitments(uint32 modelId, uint32 version)
        external
        view
        returns (bytes32 weightsRoot, bytes32 graphRoot, address zkVerifier)
    {
        Version storage v = _versions[modelId][version];
        if (v.status == Status.None) revert UnknownVersion(modelId, version);
        return (v.weightsRoot, v.graphRoot, v.zkVerifier);
    }

    /// @notice A zk settlement's reads in one call: the version's roots, verifier and outputs
    /// (`commitments` and `outputsOf`). With `request`, the verifier is address(0) unless the
    /// version is usable for a zk request with this fee setting (`isUsable(.., true, customFee)`).
    function zkVersion(uint32 modelId, uint32 version, bool request, bool customFee)
        external
        view
        returns (ZkVersion memory z)
    {
        Version storage v = _versions[modelId][version];
        if (v.status == Status.None) revert UnknownVersion(modelId, version);
        (z.weightsRoot, z.graphRoot, z.verifier) = (v.weightsRoot, v.graphRoot, v.zkVerifier);
        if (request && !((v.status == Status.Active || v.status == Status.Frozen) && v.customFee == customFee)) {
            z.verifier = address(0);
        }
        (z.sizes, z.scales) = _outputsOf(modelId, version);
    }

    // ---------------------------------------------------------------- settlement reporters

    /// @notice Records that `provider`'s result on a version lost a dispute or failed an audit.
    /// Only its first strike in the version's epoch counts; the version freezes once
    /// `freezeThreshold` distinct providers have one. Only settlement contracts allowed by
    /// governance may call it.
    function recordStrike(uint32 modelId, uint32 version, address provider) external {
        if (!reporters[msg.sender]) revert NotReporter();
        Version storage v = _versions[modelId][version];
        if (v.status == Status.None) revert UnknownVersion(modelId, version);
        bytes32 key = keccak256(abi.encode(modelId, version, provider));
        uint32 mark = v.epoch + 1;
        uint32 strikes = v.strikes;
        if (_struck[key] != mark) {
            _struck[key] = mark;
            v.strikes = ++strikes;
        }
        emit StrikeRecorded(modelId, version, provider, strikes);
        if (v.status == Status.Active && freezeThreshold != 0 && strikes >= freezeThreshold) {
            v.status = Status.Frozen;
            emit StatusChanged(modelId, version, Status.Frozen);
        }
    }

    /// @notice Whether `provider` has a strike on the version in its current epoch.
    function hasStrike(uint32 modelId, uint32 version, address provider) external view returns (bool) {
        return _struck[keccak256(abi.encode(modelId, version, provider))] == _versions[modelId][version].epoch + 1;
    }

    // ---------------------------------------------------------------- governance

    /// @notice Unfreeze (Active, strikes reset) or deprecate (final) a version.
    function setStatus(uint32 modelId, uint32 version, Status newStatus) external onlyGovernance {
        Version storage v = _versions[modelId][version];
        if (v.status == Status.None) revert UnknownVersion(modelId, version);
        if (v.status == Status.Deprecated) revert BadStatus();
        if (newStatus == Status.Active) {
            _resetStrikes(v);
        } else if (newStatus != Status.Deprecated && newStatus != Status.Frozen) {
            revert BadStatus();
        }
        v.status = newStatus;
        emit StatusChanged(modelId, version, newStatus);
    }

    /// @notice The guardian's (or governance's) emergency path: a frozen version becomes
    /// active again at once, with its strikes reset. Nothing else can be changed this way.
    function unfreeze(uint32 modelId, uint32 version) external {
        if (msg.sender != guardian && msg.sender != governance) revert NotGuardian();
        Version storage v = _versions[modelId][version];
        if (v.status != Status.Frozen) revert BadStatus();
        _resetStrikes(v);
        v.status = Status.Active;
        emit StatusChanged(modelId, version, Status.Active);
    }

    function _resetStrikes(Version storage v) internal {
        v.strikes = 0;
        ++v.epoch;
    }

    /// @notice Sets (or with zero removes) the guardian.
    function setGuardian(address guardian_) external onlyGovernance {
        guardian = guardian_;
        emit GuardianSet(guardian_);
    }

    function setReporter(address reporter, bool allowed) external onlyGovernance {
        reporters[reporter] = allowed;
        emit ReporterSet(reporter, allowed);
    }

    function setFreezeThreshold(uint32 threshold) external onlyGovernance {
        freezeThreshold = threshold;
        emit FreezeThresholdSet(threshold);
    }

    function transferGovernance(address to) external onlyGovernance {
        if (to == address(0)) revert ZeroAddress();
        governance = to;
        emit GovernanceTransferred(to);
    }
}
