"""Checking a task's receipt from chain state, as ``vouch receipt verify`` does, plus the
output: every check reads the chain itself (JSON-RPC), nothing is taken from the gateway.

1. ``task finalized``: ``TaskManager.getTask``'s state word says ``finalized``;
2. ``task record``: the record of the task's ``TaskRequested`` log and the standing result of
   its last ``ResultSubmitted`` log open the task's commitment (``record``); the later checks
   use them;
3. ``receipt leaf``: the task's ``Finalized`` event carries the leaf
   ``keccak256(abi.encode(taskId, modelId, version, inputCommitment, outputCommitment, mode,
   traceRoot))`` recomputed from the task (``docs/semantics.md`` section 8.3);
4. ``attestation on EAS``: the ReceiptAttester's attestation covering the task (its own, or
   the batch whose index range holds the task's receipt) is on EAS with the receipt schema,
   attested by the ReceiptAttester, not revoked;
5. ``attestation commits to the leaf``: its data is the leaf preimage, or (a batch) the hash
   chain ``head = keccak256(abi.encode(head, leaf))`` over the batch's ``Finalized`` events
   from ``prevHead`` gives its ``head`` and holds this task's leaf;
6. ``output commitment`` (with an output): the values, requantized with the scales the
   ``ModelRegistry`` holds for the version, commit (section 6) to the task's on-chain output
   commitment.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.crypto import keccak

from .chain import TASK_STATUS, Chain, OutputSpec, task_view
from .commitment import flatten, output_commitment, requantize
from .errors import OutputError
from .gateway import Output
from .record import Claim, TaskRecord, record_mismatch

RECEIPT_TYPES = ["uint256", "uint256", "uint256", "bytes32", "bytes32", "uint256", "bytes32"]


@dataclass(frozen=True)
class Check:
    """One check: its name, whether it holds, and why."""

    name: str
    ok: bool
    detail: str


@dataclass
class Receipt:
    """The checks of one task's receipt."""

    task_id: int
    checks: list[Check] = field(default_factory=list)
    #: The output's integer values by name (set when an output was checked).
    values: dict[str, list[int]] | None = None
    #: Whether the receipt is not attested yet (the attester flushes in batches).
    pending: bool = False

    @property
    def ok(self) -> bool:
        """Whether every check holds (and there is at least one)."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failed(self) -> list[Check]:
        """The checks that do not hold."""
        return [c for c in self.checks if not c.ok]

    def add(self, name: str, ok: bool, good: str, bad: str) -> bool:
        """Records a check; returns ``ok``."""
        self.checks.append(Check(name, ok, good if ok else bad))
        return ok

    def __str__(self) -> str:
        lines = [f"  {'ok  ' if c.ok else 'FAIL'}  {c.name}: {c.detail}" for c in self.checks]
        verdict = "all checks passed" if self.ok else f"{len(self.failed())} checks failed"
        return "\n".join([f"receipt of task {self.task_id}: {verdict}", *lines])


def receipt_data(task_id: int, t: dict[str, Any]) -> bytes:
    """The receipt leaf preimage (also a per-task attestation's data)."""
    return encode(
        RECEIPT_TYPES,
        [
            task_id,
            t["modelId"],
            t["version"],
            t["inputCommitment"],
            t["outputCommitment"],
            t["mode"],
            t["traceRoot"],
        ],
    )


def chain_step(head: bytes, leaf: bytes) -> bytes:
    """One step of the TaskManager's receipt hash chain."""
    return keccak(encode(["bytes32", "bytes32"], [head, leaf]))


def output_values(output: Output, specs: Sequence[OutputSpec], rows: int) -> dict[str, list[int]]:
    """The integer values of each output (package order), from its real values and the
    registered scales; each must hold ``rows * size`` elements."""
    if len(specs) != len(output.names):
        raise OutputError(f"the registry lists {len(specs)} outputs, the output has {len(output.names)}")
    values = {}
    for name, spec in zip(output.names, specs):
        reals = flatten(output.outputs[name])
        if len(reals) != rows * spec.size:
            raise OutputError(
                f"output {name} has {len(reals)} elements, {rows} rows of {spec.size} are registered"
            )
        values[name] = requantize(reals, spec.scale)
    return values


def verify_receipt(
    chain: Chain,
    task_id: int,
    output: Output | None = None,
    *,
    wait: float = 0.0,
    record: TaskRecord | None = None,
    result: Claim | None = None,
) -> Receipt:
    """Runs the checks of the module docs on task ``task_id``; ``output`` (from
    ``Gateway.output``) adds the output commitment check; ``record`` and ``result`` are
    checked instead of those the task's logs carry (ones a contract or a gateway handed you).
    While the receipt is not attested yet, checks again every second for up to ``wait``
    seconds. RPC failures raise ``RpcError``; a check that does not hold is a failed
    ``Check`` in the result."""
    deadline = time.monotonic() + wait
    while True:
        rec = _verify(chain, task_id, output, record, result)
        if not rec.pending or time.monotonic() >= deadline:
            return rec
        time.sleep(1.0)


def _verify(
    chain: Chain, task_id: int, output: Output | None, record: TaskRecord | None, result: Claim | None
) -> Receipt:
    rec = Receipt(task_id)
    status = chain.state(task_id)["status"]
    name = TASK_STATUS[status] if status < len(TASK_STATUS) else "unknown"
    if not rec.add("task finalized", name == "finalized", f"task {task_id}", f"task {task_id} is {name}"):
        return rec
    state, logged, standing = chain.task_parts(task_id)
    t = task_view(state, record or logged, result or standing)
    r: TaskRecord = t["record"]
    why = record_mismatch(t["commitment"], t["flags"], r, t["result"])
    rec.add(
        "task record",
        why is None,
        f"requested by {r.requester} (input 0x{r.input_commitment.hex()}, {r.rows} rows): "
        f"record and result open the commitment 0x{t['commitment'].hex()}",
        f"the record {'given' if record else 'of the TaskRequested log'} is not the task's: {why}",
    )
    topic = task_id.to_bytes(32, "big")
    fins = chain.logs("TaskManager", "Finalized", topic)
    leaf = keccak(receipt_data(task_id, t))
    if not fins:
        rec.add("receipt leaf", False, "", "no Finalized event")
        return rec
    fin = fins[0]
    rec.add(
        "receipt leaf",
        fin["receiptLeaf"] == leaf and fin["output"] == t["outputCommitment"],
        f"0x{leaf.hex()} (index {fin['receiptIndex']})",
        f"the Finalized event has leaf 0x{fin['receiptLeaf'].hex()}, the task's fields give 0x{leaf.hex()}",
    )
    _attestation(chain, rec, task_id, t, fin)
    if output is not None:
        _output(chain, rec, task_id, t, output)
    return rec


def _attestation(chain: Chain, rec: Receipt, task_id: int, t: dict[str, Any], fin: dict[str, Any]) -> None:
    attester = chain.deployment.address("ReceiptAttester")
    uid: bytes = chain.call("ReceiptAttester", "receiptUid", task_id)
    batch = None
    if uid != bytes(32):
        schema: bytes = chain.call("ReceiptAttester", "receiptSchema")
    else:
        idx = fin["receiptIndex"]
        batches = chain.logs("ReceiptAttester", "ReceiptsAttested")
        batch = next((b for b in batches if b["fromIndex"] <= idx < b["toIndex"]), None)
        if batch is None:
            rec.add("attestation on EAS", False, "", f"the receipt of task {task_id} is not attested yet")
            rec.pending = True
            return
        uid = batch["uid"]
        schema = chain.call("ReceiptAttester", "receiptBatchSchema")
    a = chain.call("EAS", "getAttestation", uid)
    rec.add(
        "attestation on EAS",
        a["uid"] == uid
        and a["schema"] == schema
        and a["attester"].lower() == attester.lower()
        and a["revocationTime"] == 0,
        f"uid 0x{uid.hex()} ({'batch' if batch else 'receipt'} schema, attester {attester}, not revoked)",
        f"uid 0x{uid.hex()}: schema 0x{a['schema'].hex()} (want 0x{schema.hex()}), attester "
        f"{a['attester']} (want {attester}), revoked at {a['revocationTime']}",
    )
    data: bytes = a["data"]
    if batch is None:
        rec.add(
            "attestation commits to the leaf",
            data == receipt_data(task_id, t),
            "its data is the leaf preimage",
            "its data is not this task's receipt",
        )
        return
    try:
        lo, hi, prev, head = decode(["uint64", "uint64", "bytes32", "bytes32"], data)
    except Exception:
        rec.add("attestation commits to the leaf", False, "", "the batch data does not decode")
        return
    evs = sorted(
        (e for e in chain.logs("TaskManager", "Finalized") if lo <= e["receiptIndex"] < hi),
        key=lambda e: e["receiptIndex"],
    )
    complete = [e["receiptIndex"] for e in evs] == list(range(lo, hi))
    h = prev
    for e in evs:
        h = chain_step(h, e["receiptLeaf"])
    ours = any(e["taskId"] == task_id and e["receiptLeaf"] == fin["receiptLeaf"] for e in evs)
    rec.add(
        "attestation commits to the leaf",
        complete and ours and h == head and batch["head"] == head and lo == batch["fromIndex"],
        f"receipts {lo}..{hi}: the hash chain over {len(evs)} leaves gives head 0x{head.hex()}",
        f"receipts {lo}..{hi}: {len(evs)} leaves found, recomputed head 0x{h.hex()}, attested "
        f"0x{head.hex()}{'' if ours else ', without this task'}",
    )


def _output(chain: Chain, rec: Receipt, task_id: int, t: dict[str, Any], output: Output) -> None:
    rows = t["rows"]
    onchain = t["outputCommitment"]
    try:
        specs = chain.outputs_of(t["modelId"], t["version"])
        values = output_values(output, specs, rows)
    except OutputError as e:
        rec.add("output commitment", False, "", str(e))
        return
    ours = output_commitment([values[n] for n in output.names])
    if rec.add(
        "output commitment",
        ours == onchain,
        f"{sum(len(v) for v in values.values())} values of {len(values)} outputs commit to 0x{onchain.hex()}",
        f"the output's values commit to 0x{ours.hex()}, the chain holds 0x{onchain.hex()}",
    ):
        rec.values = values
