"""The hashed task layout (issue 17): a ``TaskManager`` task stores a state word and one
commitment. The fields a request fixes (its ``TaskRecord``) are re-read from the task's
``TaskRequested`` log and its standing result (a ``Claim``) from its last ``ResultSubmitted``
log; the task's commitment decides whether they are the task's:

- ``c0 = keccak256(abi.encode(rec))`` while no result stands;
- ``keccak256(abi.encode(c0, output, traceRoot))`` once one does (flag ``RESULT``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi.abi import encode
from eth_utils.crypto import keccak

#: The ABI type of ``TaskRecord`` (``contracts/src/consumer/TaskRecord.sol``).
RECORD_TYPE = "(address,uint88,uint32,uint16,uint8,bool,uint16,bytes32,address,uint32)"
#: The state word's flag: the commitment folds a result.
FLAG_RESULT = 128
#: Every flag of the state word, by name.
FLAGS = {
    "audit": 1,
    "auditClosed": 2,
    "auditFailed": 4,
    "delivered": 8,
    "callbackFailed": 16,
    "hasCallback": 32,
    "vault": 64,
    "result": FLAG_RESULT,
}


@dataclass(frozen=True)
class TaskRecord:
    """The fields a request fixes, as the task's ``TaskRequested`` log carries them."""

    #: Who requested (and paid for) the task (checksummed address).
    requester: str
    #: The fee as requested, in base units (a FeeVault task: of the version's own token).
    fee: int
    model_id: int
    version: int
    #: 0 optimistic, 1 committee, 2 zk.
    mode: int
    #: Whether the FeeVault escrows the fee in the version's own token.
    vault: bool
    rows: int
    input_commitment: bytes
    #: The consumer contract called with the result (the zero address: none).
    callback: str
    callback_gas: int

    @classmethod
    def from_log(cls, log: dict[str, Any]) -> TaskRecord:
        """The record of a decoded ``TaskRequested`` log (``Chain.logs``)."""
        try:
            return cls(
                requester=log["requester"],
                fee=int(log["fee"]),
                model_id=int(log["modelId"]),
                version=int(log["version"]),
                mode=int(log["mode"]),
                vault=bool(log["vault"]),
                rows=int(log["rows"]),
                input_commitment=bytes(log["inputCommitment"]),
                callback=log["callback"],
                callback_gas=int(log["callbackGas"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"a TaskRequested log without the record fields: {e!r}") from e

    def as_tuple(self) -> tuple[Any, ...]:
        """The record as the ``TaskRecord`` tuple calls take (``_abi.encode_call``)."""
        return (
            self.requester,
            self.fee,
            self.model_id,
            self.version,
            self.mode,
            self.vault,
            self.rows,
            self.input_commitment,
            self.callback,
            self.callback_gas,
        )

    def encode(self) -> bytes:
        """``abi.encode(rec)``: each field one word (a static struct)."""
        return encode([RECORD_TYPE], [self.as_tuple()])


@dataclass(frozen=True)
class Claim:
    """A result: an output commitment and a trace root (zk: the proof's keccak)."""

    output: bytes
    trace_root: bytes

    def as_tuple(self) -> tuple[bytes, bytes]:
        """The claim as the ``Claim`` tuple calls take."""
        return (self.output, self.trace_root)


def record_hash(rec: TaskRecord) -> bytes:
    """``keccak256(abi.encode(rec))``: the commitment of a task without a result."""
    return keccak(rec.encode())


def task_commitment(rec: TaskRecord, result: Claim | None = None) -> bytes:
    """The commitment a task with record ``rec`` stores: ``record_hash`` alone, or folded with
    the standing ``result``."""
    c0 = record_hash(rec)
    if result is None:
        return c0
    return keccak(encode(["bytes32", "bytes32", "bytes32"], [c0, result.output, result.trace_root]))


def record_mismatch(commitment: bytes, flags: int, rec: TaskRecord, result: Claim | None) -> str | None:
    """Why ``rec`` (with ``result`` when ``flags`` hold ``RESULT``) does not open
    ``commitment``; ``None`` when it does."""
    has_result = bool(flags & FLAG_RESULT)
    if has_result and result is None:
        return "the task holds a result but it has no ResultSubmitted log"
    try:
        mine = task_commitment(rec, result if has_result else None)
    except Exception as e:  # eth-abi raises several kinds on out-of-range fields
        return f"the record does not encode: {e}"
    if mine == commitment:
        return None
    what = "record and result" if has_result else "record"
    return f"the {what} commit to 0x{mine.hex()}, the task's commitment is 0x{commitment.hex()}"
