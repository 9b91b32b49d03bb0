// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Test} from "./utils/Test.sol";
import {EAS} from "@ethereum-attestation-service/eas-contracts/contracts/EAS.sol";
import {SchemaRegistry} from "@ethereum-attestation-service/eas-contracts/contracts/SchemaRegistry.sol";

contract SmokeTest is Test {
    function test_eas_deploys() public {
        SchemaRegistry reg = new SchemaRegistry();
        EAS eas = new EAS(reg);
        assertEq(address(eas.getSchemaRegistry()), address(reg), "registry");
    }
}
