// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {IEAS} from "@ethereum-attestation-service/eas-contracts/contracts/IEAS.sol";
import {ISchemaRegistry} from "@ethereum-attestation-service/eas-contracts/contracts/ISchemaRegistry.sol";
import {ISchemaResolver} from "@ethereum-attestation-service/eas-contracts/contracts/resolver/ISchemaResolver.sol";

/// @title EasSchemas
/// @notice Schemas on a shared EAS: registers an irrevocable, resolver-less schema only when its
/// UID is not in the schema registry yet (registering it twice reverts `AlreadyExists`), so any
/// number of vouch deployments can use one EAS and its schema registry.
library EasSchemas {
    /// @notice The schema's UID, as the registry computes it:
    /// `keccak256(abi.encodePacked(schema, resolver, revocable))` with no resolver, irrevocable.
    function uidOf(string memory schema) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(schema, ISchemaResolver(address(0)), false));
    }

    /// @notice The UID of `schema` on `eas`'s registry, registering it first if it is not there.
    function ensure(IEAS eas, string memory schema) internal returns (bytes32 uid) {
        ISchemaRegistry registry = eas.getSchemaRegistry();
        uid = uidOf(schema);
        if (registry.getSchema(uid).uid == bytes32(0)) {
            registry.register(schema, ISchemaResolver(address(0)), false);
        }
    }
}
