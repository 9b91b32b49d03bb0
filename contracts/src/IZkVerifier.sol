// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

/// @title IZkVerifier
/// @notice Verifier of a succinct proof that the registered model (identified by its weights
/// root and graph root) maps the committed input to the committed output. Registered per model
/// version in the ModelRegistry; implemented by the zk issue.
interface IZkVerifier {
    function verifyProof(
        bytes32 weightsRoot,
        bytes32 graphRoot,
        bytes32 inputCommitment,
        bytes32 outputCommitment,
        bytes calldata proof
    ) external view returns (bool);
}
