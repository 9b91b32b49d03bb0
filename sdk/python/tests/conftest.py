"""A real local network for the tests: ``vouch up`` (anvil on a free port, the contracts, the
digits MLP published, staked provider nodes, a challenger that attests receipts every 3 s,
and the gateway on a free port), started once per test session and stopped at its end.

The binary is ``$VOUCH_BIN`` or ``target/debug/vouch`` (``cargo build -p vouch``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
#: How long `vouch up` may take to print where everything is (a generous bound for a loaded
#: machine; not a performance assertion).
STARTUP_SECONDS = 600.0


@dataclass
class Network:
    """Where the local network is, as ``vouch up --json`` printed it."""

    info: dict[str, Any]
    dir: Path

    @property
    def gateway(self) -> str:
        """The gateway's base URL."""
        return str(self.info["gateway"])

    @property
    def rpc_url(self) -> str:
        """The devnet's JSON-RPC URL."""
        return str(self.info["rpc_url"])

    @property
    def model_cid(self) -> str:
        """The published model's package CID."""
        return str(self.info["model"]["cid"])


def _read_json(stdout: Any, out: list[Any], done: threading.Event) -> None:
    lines = []
    for line in stdout:
        lines.append(line)
        if line.rstrip("\n") == "}":
            out.append(json.loads("".join(lines)))
            break
    done.set()
    # keep draining so `vouch up` never blocks on a full pipe
    for _ in stdout:
        pass


@pytest.fixture(scope="session")
def network() -> Iterator[Network]:
    """Starts ``vouch up`` in a temporary directory; stops it (SIGTERM) at the end."""
    binary = Path(os.environ.get("VOUCH_BIN", ROOT / "target" / "debug" / "vouch"))
    if not binary.is_file():
        pytest.fail(f"{binary} is missing: run `cargo build -p vouch` (or set VOUCH_BIN)")
    with tempfile.TemporaryDirectory(prefix="vouch-pysdk-") as tmp:
        d = Path(tmp)
        log = open(d / "up.log", "w")
        cmd = [
            str(binary), "up", "--json", "--rpc-port", "0", "--gateway", "127.0.0.1:0",
            "--dir", str(d / "net"), "--providers", "2", "--window", "4", "--no-zk",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
        got: list[Any] = []
        done = threading.Event()
        reader = threading.Thread(target=_read_json, args=(proc.stdout, got, done), daemon=True)
        reader.start()
        try:
            done.wait(STARTUP_SECONDS)
            if not got:
                log.flush()
                tail = (d / "up.log").read_text()[-3000:]
                pytest.fail(f"`vouch up` printed no network (exit {proc.poll()}):\n{tail}")
            yield Network(info=got[0], dir=d / "net")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
