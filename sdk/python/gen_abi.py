"""Writes ``vouch_client/abi/<Contract>.json`` from the Foundry artifacts in ``contracts/out``.

The SDK ships the ABIs of the contracts it reads (so an installed package needs no checkout);
``tests/test_offline.py`` re-runs this extraction and fails when the shipped copies drift from
the contracts. Usage: ``python sdk/python/gen_abi.py [--check]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent.parent / "contracts" / "out"
DEST = HERE / "vouch_client" / "abi"
CONTRACTS = ("TaskManager", "ModelRegistry", "ReceiptAttester", "EAS")


def render(name: str) -> str:
    """The shipped text of contract ``name``'s ABI, from its Foundry artifact."""
    artifact = OUT / f"{name}.sol" / f"{name}.json"
    if not artifact.is_file():
        raise SystemExit(f"{artifact} is missing: build the contracts first (scripts/test-contracts.sh)")
    abi = json.loads(artifact.read_text())["abi"]
    return json.dumps(abi, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    """Writes (or with ``--check`` compares) every shipped ABI; returns the exit status."""
    check = "--check" in argv
    stale = []
    for name in CONTRACTS:
        text = render(name)
        path = DEST / f"{name}.json"
        if check:
            if not path.is_file() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.write_text(text)
    if stale:
        print("stale ABIs (run python sdk/python/gen_abi.py):", *stale, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
