"""The gateway's HTTP API: Sign-In with Ethereum, tasks, their event stream, settled outputs.

A session::

    gw = Gateway("http://127.0.0.1:8080")
    gw.sign_in(private_key)                 # EIP-4361 message signed with personal_sign
    task = gw.request(model_cid, {"input": [[0.0] * 64]}, mode="optimistic", max_fee=10**18)
    task = gw.wait(task.id)                 # follows /tasks/{id}/events until terminal
    out = gw.output(task.id)                # the settled output, checked against its CID
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from .errors import GatewayError, OutputError, TaskTimeout


def rfc3339(unix: int) -> str:
    """``2026-01-02T03:04:05Z`` for unix seconds (the form the gateway writes and reads)."""
    return datetime.fromtimestamp(unix, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def siwe_message(
    *,
    domain: str,
    address: str,
    uri: str,
    chain_id: int,
    nonce: str,
    issued_at: int,
    expiration_time: int | None = None,
    statement: str | None = "Sign in to vouch.",
) -> str:
    """The text of an EIP-4361 (Sign-In with Ethereum) message; ``address`` EIP-55."""
    lines = [f"{domain} wants you to sign in with your Ethereum account:", address, ""]
    if statement is not None:
        lines += [statement, ""]
    lines += [
        f"URI: {uri}",
        "Version: 1",
        f"Chain ID: {chain_id}",
        f"Nonce: {nonce}",
        f"Issued At: {rfc3339(issued_at)}",
    ]
    if expiration_time is not None:
        lines.append(f"Expiration Time: {rfc3339(expiration_time)}")
    return "\n".join(lines)


def sign_personal(account: LocalAccount, message: str) -> str:
    """An EIP-191 ``personal_sign`` signature of ``message``, 0x-hex (65 bytes)."""
    signed = account.sign_message(encode_defunct(text=message))
    return "0x" + bytes(signed.signature).hex()


@dataclass(frozen=True)
class Task:
    """A task as the gateway reports it (``GET /tasks/{id}``)."""

    id: str
    status: str
    terminal: bool
    mode: str
    model: str
    input_cid: str
    max_fee: str
    requester: str
    output_cid: str | None = None
    commitment: str | None = None
    detail: str | None = None

    @classmethod
    def from_json(cls, v: dict[str, Any]) -> Task:
        """A task from the API's JSON object."""
        try:
            return cls(
                id=str(v["id"]),
                status=str(v["status"]),
                terminal=bool(v["terminal"]),
                mode=str(v["mode"]),
                model=str(v["model"]),
                input_cid=str(v["input_cid"]),
                max_fee=str(v["max_fee"]),
                requester=str(v["requester"]),
                output_cid=v.get("output_cid"),
                commitment=v.get("commitment"),
                detail=v.get("detail"),
            )
        except (KeyError, TypeError) as e:
            raise GatewayError("the task read", 200, "bad_answer", f"not a task: {v!r}") from e

    @property
    def chain_id(self) -> int:
        """The on-chain task id (the gateway's ids are the TaskManager's, in hex)."""
        return int(self.id, 0)


@dataclass(frozen=True)
class Output:
    """A settled output: the output JSON the gateway serves, whose bytes hash to ``cid``."""

    #: Each graph output by name: its real values (integer value times scale) as nested lists.
    outputs: dict[str, Any]
    #: The output names in package order (the order of the output commitment).
    names: list[str]
    #: The output commitment the gateway computed (0x-hex); a receipt check recomputes it.
    commitment: str
    #: The CID of ``raw`` (the task's ``output_cid``).
    cid: str
    #: The bytes served.
    raw: bytes

    def __getitem__(self, name: str) -> Any:
        return self.outputs[name]


def cid_digest(cid: str) -> bytes | None:
    """The sha2-256 digest a CIDv1 ``raw`` CID (``bafkrei...``) names; ``None`` for any other
    kind of CID (a file over 1 MiB is a dag-pb DAG, whose root is not the file's hash)."""
    if not cid.startswith("b"):
        return None
    body = cid[1:].upper()
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except ValueError:
        return None
    if raw[:4] != b"\x01\x55\x12\x20" or len(raw) != 36:
        return None
    return raw[4:]


def _error(what: str, r: httpx.Response) -> GatewayError:
    try:
        body = r.json()
        err = body.get("error", {}) if isinstance(body, dict) else {}
        code, message = str(err.get("code", "error")), str(err.get("message", body))
    except ValueError:
        body, code, message = r.text, "error", r.text[:200]
    return GatewayError(what, r.status_code, code, message, body)


class Gateway:
    """A client of one vouch gateway; ``sign_in`` once, then call the task methods."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.token: str | None = None
        #: The signed-in identity (``did:pkh:eip155:<chain>:<address>``).
        self.did: str | None = None
        self._http = httpx.Client(base_url=self.url, timeout=timeout)

    def close(self) -> None:
        """Closes the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _send(self, what: str, method: str, path: str, body: Any = None) -> Any:
        try:
            r = self._http.request(method, path, json=body, headers=self._headers())
        except httpx.HTTPError as e:
            raise GatewayError(what, 0, "unreachable", f"{self.url}{path}: {e}") from e
        if r.status_code >= 400:
            raise _error(what, r)
        try:
            return r.json()
        except ValueError as e:
            raise GatewayError(what, r.status_code, "bad_answer", "the answer is not JSON") from e

    def nonce(self) -> dict[str, Any]:
        """``GET /auth/nonce``: ``nonce``, ``expires_at``, ``domain``, ``chain_ids``."""
        v: dict[str, Any] = self._send("a nonce", "GET", "/auth/nonce")
        return v

    def login(self, message: str, signature: str) -> dict[str, Any]:
        """``POST /auth/login`` with a signed EIP-4361 message; keeps the session token.
        Returns ``token``, ``did``, ``address``, ``expires_at``."""
        v: dict[str, Any] = self._send(
            "the sign-in", "POST", "/auth/login", {"message": message, "signature": signature}
        )
        self.token, self.did = str(v["token"]), str(v["did"])
        return v

    def sign_in(self, key: str | bytes | LocalAccount, *, ttl: int = 3600) -> str:
        """Signs in with Ethereum as ``key`` (a private key or an eth-account account) for
        ``ttl`` seconds; returns the session's ``did:pkh``. The domain and chain id are the
        ones the gateway announces with its nonce."""
        account: LocalAccount = key if isinstance(key, LocalAccount) else Account.from_key(key)
        n = self.nonce()
        chain_ids = n.get("chain_ids") or []
        if not chain_ids:
            raise GatewayError("a nonce", 200, "bad_answer", f"no chain id announced: {n!r}")
        scheme = urlsplit(self.url).scheme or "http"
        now = int(time.time())
        message = siwe_message(
            domain=str(n["domain"]),
            address=account.address,
            uri=f"{scheme}://{n['domain']}",
            chain_id=int(chain_ids[0]),
            nonce=str(n["nonce"]),
            issued_at=now,
            expiration_time=now + ttl,
        )
        self.login(message, sign_personal(account, message))
        assert self.did is not None
        return self.did

    def models(self) -> list[dict[str, Any]]:
        """``GET /models``: ``cid``, ``name``, ``inputs``, ``modes``, ``frozen`` of each."""
        models: list[dict[str, Any]] = self._send("the model list", "GET", "/models")["models"]
        return models

    def request(
        self, model: str, input: dict[str, Any], *, mode: str = "optimistic", max_fee: int
    ) -> Task:
        """``POST /tasks``: asks for ``model`` (package CID) on ``input`` (each input name to
        a nested list of floats, rows first) in ``mode`` (``optimistic``, ``committee``,
        ``zk``), paying at most ``max_fee`` base units from the identity's spend cap."""
        body = {"model": model, "input": input, "mode": mode, "max_fee": str(max_fee)}
        return Task.from_json(self._send("the task", "POST", "/tasks", body))

    def task(self, task_id: str) -> Task:
        """``GET /tasks/{id}``."""
        return Task.from_json(self._send("the task read", "GET", f"/tasks/{task_id}"))

    def events(self, task_id: str, *, timeout: float = 120.0) -> Iterator[dict[str, Any]]:
        """Follows ``GET /tasks/{id}/events`` (Server-Sent Events): yields each ``status``
        event's data (``seq``, ``status``, ``terminal``, ``detail``, ``at_ms``) until a
        terminal one. ``timeout`` bounds the wait for each event."""
        url = f"/tasks/{task_id}/events"
        try:
            with self._http.stream(
                "GET", url, headers=self._headers(), timeout=httpx.Timeout(30.0, read=timeout)
            ) as r:
                if r.status_code >= 400:
                    r.read()
                    raise _error("the event stream", r)
                event, data = "message", list[str]()
                for line in r.iter_lines():
                    if line == "":
                        if data and event == "status":
                            ev = json.loads("\n".join(data))
                            yield ev
                            if ev.get("terminal"):
                                return
                        elif data and event == "error":
                            raise GatewayError("the event stream", 200, "stream_error", "\n".join(data))
                        event, data = "message", list[str]()
                    elif line.startswith(":"):
                        continue
                    else:
                        field, _, value = line.partition(":")
                        value = value[1:] if value.startswith(" ") else value
                        if field == "event":
                            event = value
                        elif field == "data":
                            data.append(value)
        except httpx.TimeoutException as e:
            raise TaskTimeout(task_id, timeout, "no event") from e
        except httpx.HTTPError as e:
            raise GatewayError("the event stream", 0, "unreachable", f"{self.url}{url}: {e}") from e

    def wait(self, task_id: str, *, timeout: float = 120.0) -> Task:
        """Follows the task's events until it is terminal (``finalized``, ``failed``,
        ``cancelled``) and returns its view; ``TaskTimeout`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        last = None
        for ev in self.events(task_id, timeout=timeout):
            last = ev.get("status")
            if ev.get("terminal"):
                break
            if time.monotonic() > deadline:
                raise TaskTimeout(task_id, timeout, last)
        t = self.task(task_id)
        if not t.terminal:
            raise TaskTimeout(task_id, timeout, t.status)
        return t

    def output(self, task_id: str) -> Output:
        """``GET /tasks/{id}/output``: the settled output. Its bytes are checked against the
        task's ``output_cid`` (a ``raw`` CID is the sha2-256 of the bytes)."""
        t = self.task(task_id)
        path = f"/tasks/{task_id}/output"
        try:
            r = self._http.get(path, headers=self._headers())
        except httpx.HTTPError as e:
            raise GatewayError("the output", 0, "unreachable", f"{self.url}{path}: {e}") from e
        if r.status_code >= 400:
            raise _error("the output", r)
        raw = r.content
        if t.output_cid is None:
            raise OutputError(f"task {task_id} reports no output CID")
        digest = cid_digest(t.output_cid)
        if digest is not None and hashlib.sha256(raw).digest() != digest:
            raise OutputError(f"the output served for task {task_id} does not hash to {t.output_cid}")
        return parse_output(raw, t.output_cid)


def parse_output(raw: bytes, cid: str) -> Output:
    """An output from the bytes the gateway serves."""
    try:
        v = json.loads(raw)
        outputs, names, commitment = v["outputs"], v["names"], v["commitment"]
    except (ValueError, KeyError, TypeError) as e:
        raise OutputError(f"not an output document (outputs, names, commitment): {e!r}") from e
    if not isinstance(outputs, dict) or not isinstance(names, list) or set(names) != set(outputs):
        raise OutputError("the output's names do not match its outputs")
    return Output(outputs=outputs, names=[str(n) for n in names], commitment=str(commitment), cid=cid, raw=raw)
