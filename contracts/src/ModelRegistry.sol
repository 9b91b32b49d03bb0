// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {
    IEAS,
    AttestationRequest,
    AttestationRequestData
} from "@ethereum-attestation-service/eas-contracts/contracts/IEAS.sol";
import {ISchemaResolver} from "@ethereum-attestation-service/eas-contracts/contracts/resolver/ISchemaResolver.sol";

/// @title ModelRegistry
/// @notice Append-only registry of model versions. A version binds the package's content id
/// and sha256, the keccak Merkle roots the contracts check (`weightsRoot` over the constant
/// tensors and `graphRoot` over the node descriptors, see OneStepVerifier), the semantics
/// version, a metadata URI and an optional zk verifier. Registering emits an EAS provenance
/// attestation. Versions never change; only their status does: settlement contracts record
/// strikes (lost disputes, failed audits) and a version freezes automatically at
/// `freezeThreshold` strikes; unfreezing and deprecating are governance (Timelock) actions.
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
    }

    struct Version {
        bytes32 packageHash;
        bytes32 weightsRoot;
        bytes32 graphRoot;
        address zkVerifier;
        uint32 semanticsVersion;
        Status status;
        uint32 strikes;
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
    uint32 public freezeThreshold;
    uint32 public modelCount;
    mapping(address => bool) public reporters;
    mapping(uint32 => address) public modelOwner;
    mapping(uint32 => uint32) public versionCount;
    mapping(uint32 => mapping(uint32 => Version)) internal _versions;

    event ModelCreated(uint32 indexed modelId, address indexed owner);
    event VersionRegistered(
        uint32 indexed modelId, uint32 indexed version, bytes32 packageHash, string packageCid, bytes32 provenanceUid
    );
    event OwnershipTransferred(uint32 indexed modelId, address indexed from, address indexed to);
    event StatusChanged(uint32 indexed modelId, uint32 indexed version, Status status);
    event StrikeRecorded(uint32 indexed modelId, uint32 indexed version, uint32 strikes);
    event ReporterSet(address indexed reporter, bool allowed);
    event FreezeThresholdSet(uint32 threshold);
    event GovernanceTransferred(address indexed to);

    error NotGovernance();
    error NotModelOwner();
    error NotReporter();
    error UnknownVersion(uint32 modelId, uint32 version);
    error BadSemanticsVersion(uint32 semanticsVersion);
    error BadStatus();
    error ZeroAddress();

    modifier onlyGovernance() {
        if (msg.sender != governance) revert NotGovernance();
        _;
    }

    constructor(IEAS eas_, address governance_, uint32 freezeThreshold_) {
        if (governance_ == address(0)) revert ZeroAddress();
        eas = eas_;
        governance = governance_;
        freezeThreshold = freezeThreshold_;
        provenanceSchema = eas_.getSchemaRegistry().register(PROVENANCE_SCHEMA, ISchemaResolver(address(0)), false);
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

    function _addVersion(uint32 modelId, VersionInput calldata input) internal returns (uint32 version) {
        // docs/semantics.md: version 2 widened version 1 (act16, i16 weights, i64 accumulators);
        // the one-step verifier executes both.
        if (input.semanticsVersion == 0 || input.semanticsVersion > 2) {
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

    function status(uint32 modelId, uint32 version) external view returns (Status) {
        return _versions[modelId][version].status;
    }

    function isActive(uint32 modelId, uint32 version) external view returns (bool) {
        return _versions[modelId][version].status == Status.Active;
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

    // ---------------------------------------------------------------- settlement reporters

    /// @notice Records a lost dispute or a failed audit against a version; freezes it at the
    /// threshold. Only settlement contracts allowed by governance may call it.
    function recordStrike(uint32 modelId, uint32 version) external {
        if (!reporters[msg.sender]) revert NotReporter();
        Version storage v = _versions[modelId][version];
        if (v.status == Status.None) revert UnknownVersion(modelId, version);
        uint32 strikes = ++v.strikes;
        emit StrikeRecorded(modelId, version, strikes);
        if (v.status == Status.Active && freezeThreshold != 0 && strikes >= freezeThreshold) {
            v.status = Status.Frozen;
            emit StatusChanged(modelId, version, Status.Frozen);
        }
    }

    // ---------------------------------------------------------------- governance

    /// @notice Unfreeze (Active, strikes reset) or deprecate (final) a version.
    function setStatus(uint32 modelId, uint32 version, Status newStatus) external onlyGovernance {
        Version storage v = _versions[modelId][version];
        if (v.status == Status.None) revert UnknownVersion(modelId, version);
        if (v.status == Status.Deprecated) revert BadStatus();
        if (newStatus == Status.Active) {
            v.strikes = 0;
        } else if (newStatus != Status.Deprecated && newStatus != Status.Frozen) {
            revert BadStatus();
        }
        v.status = newStatus;
        emit StatusChanged(modelId, version, newStatus);
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
