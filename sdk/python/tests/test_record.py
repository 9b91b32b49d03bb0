"""The hashed layout's commitment (``vouch_client.record``) against an independent encoder:
Foundry's ``cast abi-encode`` and ``cast keccak`` (``node_modules/.bin``, installed by
``scripts/bootstrap-node.sh``). ``test_network.py`` checks it against the TaskManager itself."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest
from eth_utils.crypto import keccak

from vouch_client.record import FLAG_RESULT, Claim, TaskRecord, record_mismatch, task_commitment

from .test_offline import ROOT

CAST = ROOT / "node_modules" / ".bin" / "cast"
RECORD_SIG = "f((address,uint88,uint32,uint16,uint8,bool,uint16,bytes32,address,uint32))"


def cast(*args: str) -> bytes:
    if not CAST.is_file():
        pytest.fail(f"{CAST} is missing: run scripts/bootstrap-node.sh")
    out = subprocess.run([str(CAST), *args], capture_output=True, text=True, check=True).stdout.strip()
    return bytes.fromhex(out[2:])


def cast_record_hash(r: TaskRecord) -> bytes:
    tup = (
        f"({r.requester},{r.fee},{r.model_id},{r.version},{r.mode},{str(r.vault).lower()},{r.rows},"
        f"0x{r.input_commitment.hex()},{r.callback},{r.callback_gas})"
    )
    encoded = cast("abi-encode", RECORD_SIG, tup)
    return cast("keccak", "0x" + encoded.hex())


RECORDS = [
    TaskRecord(
        requester="0x70997970C51812dc3A010C7d01b50e0d17dc79C8", fee=10**18, model_id=1, version=1,
        mode=0, vault=False, rows=1, input_commitment=keccak(b"input a"),
        callback="0x0000000000000000000000000000000000000000", callback_gas=0,
    ),
    # every field at its type's largest value
    TaskRecord(
        requester="0xFFfFfFffFFfffFFfFFfFFFFFffFFFffffFfFFFfF", fee=2**88 - 1, model_id=2**32 - 1,
        version=2**16 - 1, mode=2, vault=True, rows=2**16 - 1, input_commitment=keccak(b"input b"),
        callback="0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", callback_gas=2**32 - 1,
    ),
]
RESULT = Claim(output=keccak(b"output"), trace_root=keccak(b"trace"))


def test_record_commitment_is_the_abi_encoding_hash_cast_computes() -> None:
    for r in RECORDS:
        assert task_commitment(r) == cast_record_hash(r)


def test_a_result_is_folded_into_the_commitment() -> None:
    r = RECORDS[0]
    c0 = cast_record_hash(r)
    enc = cast("abi-encode", "f(bytes32,bytes32,bytes32)", "0x" + c0.hex(), "0x" + RESULT.output.hex(), "0x" + RESULT.trace_root.hex())
    assert task_commitment(r, RESULT) == cast("keccak", "0x" + enc.hex())


def test_a_tampered_record_is_named_with_both_commitments() -> None:
    r = RECORDS[0]
    stored = task_commitment(r, RESULT)
    assert record_mismatch(stored, FLAG_RESULT, r, RESULT) is None
    assert record_mismatch(task_commitment(r), 0, r, RESULT) is None  # no RESULT flag: ignored
    other = dataclasses.replace(r, requester="0x90F79bf6EB2c4f870365E785982E1f101E93b906")
    assert record_mismatch(stored, FLAG_RESULT, other, RESULT) == (
        f"the record and result commit to 0x{task_commitment(other, RESULT).hex()}, "
        f"the task's commitment is 0x{stored.hex()}"
    )
    why = record_mismatch(stored, FLAG_RESULT, dataclasses.replace(r, input_commitment=keccak(b"c")), RESULT)
    assert why is not None and why.startswith("the record and result commit to 0x")
    assert record_mismatch(stored, FLAG_RESULT, r, None) == "the task holds a result but it has no ResultSubmitted log"
    why = record_mismatch(stored, FLAG_RESULT, dataclasses.replace(r, fee=2**88), RESULT)
    assert why is not None and why.startswith("the record does not encode: ")
