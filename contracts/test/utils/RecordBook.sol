// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Test} from "./Test.sol";
import {Vm} from "./Vm.sol";
import {TaskManager} from "../../src/TaskManager.sol";
import {TaskRecord, Claim} from "../../src/consumer/TaskRecord.sol";

/// @notice Task records and standing results rebuilt from the TaskManager's logs, as a client
/// rebuilds them: the record from the task's `TaskRequested`, the standing result from its last
/// `ResultSubmitted`. Logs are recorded (`vm.recordLogs`) from the fixture's deployment on;
/// `_rec` and `_claim` read what was recorded since the last read. Invariant handlers wrap
/// their actions in `synced`, which records and reads the logs within the call.
abstract contract RecordBook is Test {
    /// The non-indexed fields of `TaskRequested` (decoded as one struct: the event data with an
    /// offset word in front).
    struct RequestedData {
        uint16 version;
        uint8 mode;
        uint256 fee;
        uint32 deadline;
        bytes32 inputCommitment;
        uint16 rows;
        string inputCid;
        bytes inlineInput;
        address callback;
        uint32 callbackGas;
        bool vault;
    }

    /// Records and standing results, rebuilt from the TaskManager's logs as a client does: the
    /// record from `TaskRequested`, the standing result from the last `ResultSubmitted`.
    mapping(uint256 => TaskRecord) private _recs;
    mapping(uint256 => Claim) private _claims;

    /// Reads the logs recorded since the last call into `_recs` and `_claims`.
    function _syncLogs() internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.emitter != _bookedTaskManager() || l.topics.length == 0) continue;
            if (l.topics[0] == TaskManager.TaskRequested.selector) {
                RequestedData memory x = abi.decode(bytes.concat(abi.encode(uint256(32)), l.data), (RequestedData));
                _recs[uint256(l.topics[1])] = TaskRecord({
                    requester: address(uint160(uint256(l.topics[2]))),
                    fee: uint88(x.fee),
                    modelId: uint32(uint256(l.topics[3])),
                    version: x.version,
                    mode: x.mode,
                    vault: x.vault,
                    rows: x.rows,
                    inputCommitment: x.inputCommitment,
                    callback: x.callback,
                    callbackGas: x.callbackGas
                });
            } else if (l.topics[0] == TaskManager.ResultSubmitted.selector) {
                (bytes32 output, bytes32 traceRoot) = abi.decode(l.data, (bytes32, bytes32));
                _claims[uint256(l.topics[1])] = Claim({output: output, traceRoot: traceRoot});
            }
        }
    }

    /// The task's record, from its `TaskRequested` event.
    function _rec(uint256 id) internal returns (TaskRecord memory) {
        _syncLogs();
        return _recs[id];
    }

    /// The task's standing result, from its last `ResultSubmitted` event (zero before one).
    function _claim(uint256 id) internal returns (Claim memory) {
        _syncLogs();
        return _claims[id];
    }

    /// Records the logs of the wrapped call and reads them before it returns.
    modifier synced() {
        vm.recordLogs();
        _;
        _syncLogs();
    }

    /// The TaskManager whose logs the book reads.
    function _bookedTaskManager() internal view virtual returns (address);
}
