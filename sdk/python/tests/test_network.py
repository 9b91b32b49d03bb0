"""The client against a real local network (``vouch up``, see conftest.py): sign-in, tasks
settled on-chain, a task read on the hashed layout (the record the TaskManager accepts),
outputs as floats, receipt checks passing and failing on tampering, and the README's
quickstart run as written."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak

from vouch_client import (
    Chain,
    Deployment,
    Gateway,
    GatewayError,
    Output,
    RecordError,
    RpcError,
    Task,
    task_commitment,
    verify_receipt,
)
from vouch_client._abi import encode_call
from vouch_client.gateway import siwe_message, sign_personal

from .conftest import ROOT, Network

ROWS = json.loads((ROOT / "testdata/models/digits_mlp/input.json").read_text())["input"]
FEE = 10**17
#: Generous bounds for a loaded machine (not performance assertions).
SETTLE_SECONDS = 180.0
ATTEST_SECONDS = 60.0


@pytest.fixture(scope="module")
def chain(network: Network) -> Iterator[Chain]:
    deployment = Deployment.from_json(network.info["deployment"])
    with Chain(network.rpc_url, deployment) as c:
        yield c


@pytest.fixture(scope="module")
def gw(network: Network) -> Iterator[Gateway]:
    with Gateway(network.gateway) as g:
        g.sign_in(Account.create())
        yield g


@pytest.fixture(scope="module")
def settled(network: Network, gw: Gateway) -> tuple[Task, Output]:
    """One optimistic task of three rows, settled, with its output."""
    t = gw.request(network.model_cid, {"input": ROWS[:3]}, mode="optimistic", max_fee=FEE)
    t = gw.wait(t.id, timeout=SETTLE_SECONDS)
    assert t.status == "finalized", t
    return t, gw.output(t.id)


def test_sign_in_gives_a_did_and_a_bad_signature_is_refused(network: Network) -> None:
    me = Account.create()
    with Gateway(network.gateway) as g:
        did = g.sign_in(me)
        assert did.lower().endswith(me.address.lower()) and did.startswith("did:pkh:eip155:")
        assert g.models(), "the published model is listed"
    with Gateway(network.gateway) as g:
        n = g.nonce()
        now = int(time.time())
        msg = siwe_message(
            domain=n["domain"], address=me.address, uri=f"http://{n['domain']}",
            chain_id=n["chain_ids"][0], nonce=n["nonce"], issued_at=now, expiration_time=now + 60,
        )
        with pytest.raises(GatewayError) as e:
            g.login(msg, sign_personal(Account.create(), msg))  # someone else's signature
        assert (e.value.status, e.value.code) == (401, "bad_signature")
        assert g.token is None
        with pytest.raises(GatewayError) as e:
            g.request(network.model_cid, {"input": ROWS[:1]}, max_fee=FEE)
        assert e.value.status == 401
        # the nonce survives a refused signature: the right signer can still use it
        g.login(msg, sign_personal(me, msg))
        assert g.did == did


def test_no_output_before_settlement(network: Network, gw: Gateway) -> None:
    # an optimistic task cannot finalize before its challenge window (4 s) has passed
    t = gw.request(network.model_cid, {"input": ROWS[5:6]}, mode="optimistic", max_fee=FEE)
    with pytest.raises(GatewayError) as e:
        gw.output(t.id)
    assert (e.value.status, e.value.code) == (404, "no_output"), e.value
    assert gw.wait(t.id, timeout=SETTLE_SECONDS).status == "finalized"
    assert gw.output(t.id).names


def test_outputs_are_floats_on_the_registered_scales(chain: Chain, settled: tuple[Task, Output]) -> None:
    task, out = settled
    t = chain.task(task.chain_id)
    specs = chain.outputs_of(t["modelId"], t["version"])
    assert len(specs) == len(out.names) >= 1
    for name, spec in zip(out.names, specs):
        rows = out[name]
        assert len(rows) == 3 and all(len(r) == spec.size for r in rows)
        for x in (x for r in rows for x in r):
            assert isinstance(x, float)
            assert round(x / spec.scale) * spec.scale == x
    assert out.commitment == task.commitment == "0x" + t["outputCommitment"].hex()


def test_read_task_gives_the_record_the_chain_accepts(chain: Chain, settled: tuple[Task, Output]) -> None:
    task, out = settled
    t = chain.read_task(task.chain_id)
    r, res = t["record"], t["result"]
    assert t["statusName"] == "finalized" and res is not None
    assert (r.rows, r.mode, t["rows"], t["modeName"]) == (3, 0, 3, "optimistic")
    assert t["outputCommitment"] == res.output and "0x" + res.output.hex() == task.commitment
    assert t["commitment"] == task_commitment(r, res)
    # the TaskManager itself accepts the record and result, and refuses another requester's
    chain.call("TaskManager", "checkRecord", task.chain_id, r.as_tuple(), res.as_tuple())
    forged = dataclasses.replace(r, requester=Account.create().address)
    with pytest.raises(RpcError) as e:
        chain.call("TaskManager", "checkRecord", task.chain_id, forged.as_tuple(), res.as_tuple())
    assert keccak(text="BadRecord()")[:4].hex() in str(e.value), e.value


def test_receipt_fails_on_a_tampered_record(network: Network, chain: Chain, settled: tuple[Task, Output]) -> None:
    task, out = settled
    t = chain.read_task(task.chain_id)
    forged = dataclasses.replace(t["record"], requester=Account.create().address)
    bad = verify_receipt(chain, task.chain_id, out, record=forged, wait=ATTEST_SECONDS)
    assert [c.name for c in bad.failed()] == ["task record"], str(bad)
    assert bad.failed()[0].detail.startswith(
        "the record given is not the task's: the record and result commit to 0x"
    ), str(bad)
    assert f"the task's commitment is 0x{t['commitment'].hex()}" in bad.failed()[0].detail
    other_input = dataclasses.replace(t["record"], input_commitment=keccak(b"another input"))
    names = [c.name for c in verify_receipt(chain, task.chain_id, out, record=other_input).failed()]
    assert "task record" in names and "receipt leaf" in names and "output commitment" not in names, names

    # an endpoint serving a forged TaskRequested log: read_task refuses it
    class Lying(Chain):
        def logs(self, contract: str, event: str, topic1: bytes | None = None) -> list[dict[str, Any]]:
            found = super().logs(contract, event, topic1)
            if event == "TaskRequested":
                found = [{**log, "requester": forged.requester} for log in found]
            return found

    with Lying(network.rpc_url, chain.deployment) as lying:
        with pytest.raises(RecordError, match="the record read from its logs is not the task's"):
            lying.read_task(task.chain_id)
        lying_receipt = verify_receipt(lying, task.chain_id, out)
        assert [c.name for c in lying_receipt.failed()] == ["task record"], str(lying_receipt)
        assert "of the TaskRequested log is not the task's" in lying_receipt.failed()[0].detail


def test_receipt_passes_and_fails_on_a_tampered_output(chain: Chain, settled: tuple[Task, Output]) -> None:
    task, out = settled
    rec = verify_receipt(chain, task.chain_id, out, wait=ATTEST_SECONDS)
    assert rec.ok, str(rec)
    names = [c.name for c in rec.checks]
    assert names == [
        "task finalized", "task record", "receipt leaf", "attestation on EAS",
        "attestation commits to the leaf", "output commitment",
    ]
    # one element one scale step off
    name = out.names[0]
    spec = chain.outputs_of(*(lambda t: (t["modelId"], t["version"]))(chain.task(task.chain_id)))[0]
    rows = [list(r) for r in out[name]]
    rows[1][2] += spec.scale
    forged = dataclasses.replace(out, outputs={**out.outputs, name: rows})
    bad = verify_receipt(chain, task.chain_id, forged)
    assert [c.name for c in bad.failed()] == ["output commitment"], str(bad)
    # a value that is no multiple of the scale
    rows[1][2] += spec.scale / 3
    bad = verify_receipt(chain, task.chain_id, dataclasses.replace(out, outputs={**out.outputs, name: rows}))
    assert [c.name for c in bad.failed()] == ["output commitment"], str(bad)
    assert "not an integer multiple" in bad.failed()[0].detail


def _send(chain: Chain, to: str, data: bytes) -> None:
    """A transaction from anvil's unlocked dev account 9 (the demo client's), mined at once."""
    sender = chain.rpc("eth_accounts", [])[9]
    h = chain.rpc("eth_sendTransaction", [{"from": sender, "to": to, "data": "0x" + data.hex()}])
    for _ in range(100):
        r = chain.rpc("eth_getTransactionReceipt", [h])
        if r is not None:
            assert r["status"] == "0x1", r
            return
        time.sleep(0.1)
    pytest.fail(f"transaction {h} not mined")


def test_receipt_fails_on_a_tampered_attestation(network: Network, chain: Chain, gw: Gateway, settled: tuple[Task, Output]) -> None:
    task, out = settled
    other = gw.request(network.model_cid, {"input": ROWS[3:4]}, mode="optimistic", max_fee=FEE)
    other = gw.wait(other.id, timeout=SETTLE_SECONDS)
    assert other.status == "finalized", other
    attester = chain.deployment.address("ReceiptAttester")
    # per-task attestations (anyone may ask for one) for both tasks
    for t in (task, other):
        if chain.call("ReceiptAttester", "receiptUid", t.chain_id) == bytes(32):
            v = chain.read_task(t.chain_id)
            args = (t.chain_id, v["record"].as_tuple(), v["result"].as_tuple())
            _send(chain, attester, encode_call("ReceiptAttester", "attestReceipt", args))
    rec = verify_receipt(chain, task.chain_id, out)
    assert rec.ok and "receipt schema" in rec.checks[3].detail, str(rec)
    # `receiptUid` is the ReceiptAttester's mapping at slot 2 (after attestedCount and
    # attestedHead); the slot is checked against the getter before it is touched
    slot = "0x" + keccak(encode(["uint256", "uint256"], [task.chain_id, 2])).hex()
    mine = chain.call("ReceiptAttester", "receiptUid", task.chain_id)
    theirs = chain.call("ReceiptAttester", "receiptUid", other.chain_id)
    assert chain.rpc("eth_getStorageAt", [attester, slot, "latest"]) == "0x" + mine.hex()
    try:
        # the other task's attestation: right schema and attester, another receipt
        chain.rpc("anvil_setStorageAt", [attester, slot, "0x" + theirs.hex()])
        bad = verify_receipt(chain, task.chain_id, out)
        assert [c.name for c in bad.failed()] == ["attestation commits to the leaf"], str(bad)
        # an attestation that is not on EAS at all
        chain.rpc("anvil_setStorageAt", [attester, slot, "0x" + keccak(b"forged").hex()])
        bad = verify_receipt(chain, task.chain_id, out)
        assert "attestation on EAS" in [c.name for c in bad.failed()], str(bad)
    finally:
        chain.rpc("anvil_setStorageAt", [attester, slot, "0x" + mine.hex()])
    assert verify_receipt(chain, task.chain_id, out).ok


def test_quickstart_runs_as_written(network: Network) -> None:
    chain_id = network.info["deployment"]["chainId"]
    env = {
        **os.environ,
        # this checkout's client, whatever the environment has installed
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "sdk" / "python"), os.environ.get("PYTHONPATH")) if p),
        "VOUCH_GATEWAY": network.gateway,
        "VOUCH_RPC": network.rpc_url,
        "VOUCH_DEPLOYMENT": str(network.dir / "deployments" / f"{chain_id}.json"),
    }
    script = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"
    r = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "task 0x" in r.stdout and "finalized" in r.stdout
    assert "all checks passed" in r.stdout
