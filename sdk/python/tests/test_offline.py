"""Checks that need no network: the shipped ABIs match the contracts, and the commitment code
agrees with the Rust engine's test vectors (testdata/vectors, written by
``cargo run -p vouch-engine --example write_vectors``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vouch_client.commitment import list_commitment, requantize, tensor_commitment
from vouch_client.errors import OutputError
from vouch_client.gateway import cid_digest, siwe_message

ROOT = Path(__file__).resolve().parents[3]
VECTORS = sorted((ROOT / "testdata" / "vectors").glob("*.json"))


def test_shipped_abis_match_the_contracts() -> None:
    gen = ROOT / "sdk" / "python" / "gen_abi.py"
    r = subprocess.run([sys.executable, str(gen), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_tensor_commitments_match_the_engine_vectors() -> None:
    assert len(VECTORS) > 10, "testdata/vectors is missing"
    cases = 0
    for path in VECTORS:
        for case in json.loads(path.read_text())["cases"]:
            want = case.get("output_commitment")
            if want is None:
                continue
            got = tensor_commitment(case["output"]["data"])
            assert "0x" + got.hex() == want, f"{path.name} {case['name']}"
            cases += 1
    assert cases > 50


def test_a_changed_element_changes_the_commitment() -> None:
    case = json.loads((ROOT / "testdata" / "vectors" / "linear.json").read_text())["cases"][0]
    data = list(case["output"]["data"])
    data[-1] += 1
    assert "0x" + tensor_commitment(data).hex() != case["output_commitment"]


def test_list_of_one_is_its_member() -> None:
    c = tensor_commitment([1, -2, 3])
    assert list_commitment([c]) == c
    assert list_commitment([c, c]) != c


def test_requantize_is_exact_or_refuses() -> None:
    s = 2.0**-7
    assert requantize([3 * s, -5 * s, 0.0], s) == [3, -5, 0]
    with pytest.raises(OutputError):
        requantize([3 * s + s / 3], s)


def test_raw_cid_digest() -> None:
    # the CID of an empty file under CIDv1 raw sha2-256 (as `ipfs add --cid-version 1 --raw-leaves`)
    d = cid_digest("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
    assert d is not None and d.hex().startswith("e3b0c442")
    assert cid_digest("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG") is None


def test_siwe_message_layout() -> None:
    m = siwe_message(
        domain="localhost:8080",
        address="0x" + "ab" * 20,
        uri="http://localhost:8080",
        chain_id=31337,
        nonce="abcdefgh12345678X",
        issued_at=0,
        expiration_time=60,
    )
    assert m.splitlines()[:4] == [
        "localhost:8080 wants you to sign in with your Ethereum account:",
        "0x" + "ab" * 20,
        "",
        "Sign in to vouch.",
    ]
    assert m.endswith("Issued At: 1970-01-01T00:00:00Z\nExpiration Time: 1970-01-01T00:01:00Z")


def test_the_readme_snippet_is_the_tested_quickstart() -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```python\n", readme.index("## Python client")) + len("```python\n")
    snippet = readme[start : readme.index("```", start)]
    quickstart = (ROOT / "sdk" / "python" / "examples" / "quickstart.py").read_text()
    assert snippet.strip() and snippet in quickstart
