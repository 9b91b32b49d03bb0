"""Reading a vouch deployment over plain JSON-RPC (``eth_call``, ``eth_getLogs``).

A task is read on the hashed layout (``Chain.read_task``): the state word and commitment from
``TaskManager.getTask``, the record from the task's ``TaskRequested`` log and the standing
result from its last ``ResultSubmitted`` log, both checked against the commitment (``record``).

No node library: calls are encoded with eth-abi from the ABIs shipped in ``abi/`` (generated
from the Foundry artifacts by ``gen_abi.py``), so any EVM JSON-RPC endpoint will do.
"""

from __future__ import annotations

import itertools
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from . import _abi
from .errors import RecordError, RpcError
from .record import FLAG_RESULT, Claim, TaskRecord, record_mismatch

#: ``TaskManager.Status`` names, by value.
TASK_STATUS = ("none", "requested", "submitted", "disputed", "finalized", "refunded", "failed")
#: ``TaskManager.Mode`` names, by value.
TASK_MODE = ("optimistic", "committee", "zk")

_CONTRACT_KEYS = {
    "TaskManager": "taskManager",
    "ModelRegistry": "registry",
    "ReceiptAttester": "receipts",
    "EAS": "eas",
}


@dataclass(frozen=True)
class Deployment:
    """The addresses of one vouch deployment: the ``deployments/<chain id>.json`` file that
    ``vouch deploy`` writes (``vouch up --json`` prints the same object as ``deployment``)."""

    chain_id: int
    #: The block of the last deployment transaction (log searches start there).
    block: int
    #: Contract addresses by the file's names (``taskManager``, ``registry``, ``eas``, ...).
    contracts: dict[str, str]

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Deployment:
        """A deployment from the parsed JSON object."""
        try:
            return cls(
                chain_id=int(doc["chainId"]),
                block=int(doc["block"]),
                contracts={str(k): str(v) for k, v in doc["contracts"].items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ValueError(f"not a vouch deployment (chainId, block, contracts): {e!r}") from e

    @classmethod
    def load(cls, path: str | Path) -> Deployment:
        """A deployment from its JSON file."""
        return cls.from_json(json.loads(Path(path).read_text()))

    def address(self, contract: str) -> str:
        """The address of ``TaskManager``, ``ModelRegistry``, ``ReceiptAttester`` or ``EAS``."""
        key = _CONTRACT_KEYS.get(contract, contract)
        if key not in self.contracts:
            raise KeyError(f"the deployment has no {contract} address")
        return self.contracts[key]


@dataclass(frozen=True)
class OutputSpec:
    """One graph output of a model version as the ``ModelRegistry`` holds it."""

    #: Elements per row.
    size: int
    #: The real value of one integer step (the registered binary64 bits, exactly).
    scale: float


def scale_from_bits(bits: int) -> float:
    """The binary64 number whose bits are ``bits``."""
    value: float = struct.unpack(">d", bits.to_bytes(8, "big"))[0]
    return value


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _unhex(s: str) -> bytes:
    return bytes.fromhex(s[2:] if s.startswith("0x") else s)


class Chain:
    """Read-only access to a deployment through a JSON-RPC endpoint."""

    def __init__(self, rpc_url: str, deployment: Deployment, *, timeout: float = 30.0) -> None:
        self.rpc_url = rpc_url
        self.deployment = deployment
        self._http = httpx.Client(timeout=timeout)
        self._ids = itertools.count(1)

    def close(self) -> None:
        """Closes the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> Chain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rpc(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC call; its ``result``."""
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            r = self._http.post(self.rpc_url, json=body)
            r.raise_for_status()
            answer = r.json()
        except (httpx.HTTPError, ValueError) as e:
            raise RpcError(method, f"{self.rpc_url}: {e}") from e
        if not isinstance(answer, dict):
            raise RpcError(method, f"not a JSON-RPC answer: {answer!r}")
        if answer.get("error") is not None:
            raise RpcError(method, json.dumps(answer["error"]))
        return answer.get("result")

    def call(self, contract: str, function: str, *args: Any) -> Any:
        """``eth_call`` of a view function at the latest block, decoded (see ``_abi``)."""
        data = _abi.encode_call(contract, function, args)
        tx = {"to": self.deployment.address(contract), "data": _hex(data)}
        result = self.rpc("eth_call", [tx, "latest"])
        what = f"{contract}.{function}"
        if not isinstance(result, str):
            raise RpcError("eth_call", f"{what}: no result")
        try:
            return _abi.decode_result(contract, function, _unhex(result))
        except Exception as e:  # eth-abi raises several kinds on short or bad data
            raise RpcError("eth_call", f"{what}: cannot decode {result[:80]}: {e}") from e

    def logs(self, contract: str, event: str, topic1: bytes | None = None) -> list[dict[str, Any]]:
        """Every ``event`` log of ``contract`` since the deployment block, decoded, in chain
        order; ``topic1`` filters on the first indexed parameter (a task id, as 32 bytes)."""
        topics: list[Any] = [_hex(_abi.topic0(contract, event))]
        if topic1 is not None:
            topics.append(_hex(topic1))
        flt = {
            "address": self.deployment.address(contract),
            "fromBlock": hex(self.deployment.block),
            "toBlock": "latest",
            "topics": topics,
        }
        out = []
        for log in self.rpc("eth_getLogs", [flt]) or []:
            try:
                decoded = _abi.decode_log(
                    contract, event, [_unhex(t) for t in log["topics"]], _unhex(log["data"])
                )
            except Exception as e:
                raise RpcError("eth_getLogs", f"{contract}.{event}: undecodable log: {e}") from e
            decoded["_tx"] = log.get("transactionHash")
            out.append(decoded)
        return out

    def state(self, task_id: int) -> dict[str, Any]:
        """``TaskManager.getTask``: the state word (``provider``, ``modelId``, ``mode``,
        ``status``, ``flags``, ``deadline``) and the ``commitment``; status 0: no such task."""
        t: dict[str, Any] = self.call("TaskManager", "getTask", task_id)
        return t

    def task_parts(self, task_id: int) -> tuple[dict[str, Any], TaskRecord, Claim | None]:
        """Task ``task_id``'s state, its record (from its ``TaskRequested`` log) and, when the
        state holds a result, the standing result (from its last ``ResultSubmitted`` log), not
        checked against the commitment (``record.record_mismatch`` does that). Raises
        ``RpcError`` when the task does not exist or its log is missing."""
        topic = task_id.to_bytes(32, "big")
        state = self.state(task_id)
        if state["status"] == 0:
            raise RpcError("getTask", f"task {task_id} does not exist on {self.deployment.address('TaskManager')}")
        requested = self.logs("TaskManager", "TaskRequested", topic)
        if len(requested) != 1:
            raise RpcError("eth_getLogs", f"task {task_id} has {len(requested)} TaskRequested logs (want 1)")
        try:
            record = TaskRecord.from_log(requested[0])
        except ValueError as e:
            raise RpcError("eth_getLogs", f"task {task_id}: {e}") from e
        result = None
        if state["flags"] & FLAG_RESULT:
            submitted = self.logs("TaskManager", "ResultSubmitted", topic)
            if submitted:
                last = submitted[-1]
                result = Claim(output=last["output"], trace_root=last["traceRoot"])
        return state, record, result

    def read_task(self, task_id: int) -> dict[str, Any]:
        """Task ``task_id`` on the hashed layout, checked: the fields ``getTask`` returned before
        it (``requester``, ``fee``, ``flags``, ``provider``, ``modelId``, ``version``, ``mode``,
        ``status``, ``deadline``, ``inputCommitment``, ``outputCommitment``, ``traceRoot``; the
        last two zero while no result stands), with ``statusName``, ``modeName``, ``rows``,
        ``commitment``, ``record`` (a ``TaskRecord``) and ``result`` (a ``Claim`` or ``None``).
        Raises ``RecordError`` when the logs do not open the task's commitment (an endpoint
        serving forged logs) and ``RpcError`` when the task does not exist."""
        state, record, result = self.task_parts(task_id)
        why = record_mismatch(state["commitment"], state["flags"], record, result)
        if why is not None:
            raise RecordError(task_id, why)
        return task_view(state, record, result)

    def task(self, task_id: int) -> dict[str, Any]:
        """The same as ``read_task`` (the name before the hashed layout)."""
        return self.read_task(task_id)

    def outputs_of(self, model_id: int, version: int) -> list[OutputSpec]:
        """``ModelRegistry.outputsOf``: the version's graph outputs in package order."""
        r = self.call("ModelRegistry", "outputsOf", model_id, version)
        return [
            OutputSpec(size=int(n), scale=scale_from_bits(int(b)))
            for n, b in zip(r["sizes"], r["scales"])
        ]


def task_view(state: dict[str, Any], record: TaskRecord, result: Claim | None) -> dict[str, Any]:
    """The fields of ``Chain.read_task`` from a task's parts (not checked here)."""
    zero = bytes(32)
    status, mode = state["status"], state["mode"]
    return {
        "requester": record.requester,
        "fee": record.fee,
        "flags": state["flags"],
        "provider": state["provider"],
        "modelId": state["modelId"],
        "version": record.version,
        "mode": mode,
        "status": status,
        "deadline": state["deadline"],
        "inputCommitment": record.input_commitment,
        "outputCommitment": result.output if result else zero,
        "traceRoot": result.trace_root if result else zero,
        "statusName": TASK_STATUS[status] if status < len(TASK_STATUS) else "unknown",
        "modeName": TASK_MODE[mode] if mode < len(TASK_MODE) else "unknown",
        "rows": record.rows,
        "commitment": state["commitment"],
        "record": record,
        "result": result,
    }
