"""Calls and events by name from the shipped Foundry ABIs, with eth-abi encoding."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.crypto import keccak

Param = dict[str, Any]


@lru_cache(maxsize=None)
def load(contract: str) -> tuple[Param, ...]:
    """The ABI of ``contract`` (``TaskManager``, ``ModelRegistry``, ``ReceiptAttester``, ``EAS``)."""
    text = resources.files("vouch_client").joinpath("abi", f"{contract}.json").read_text()
    return tuple(json.loads(text))


def item(contract: str, kind: str, name: str) -> Param:
    """The ABI entry of function or event ``name`` of ``contract``."""
    for entry in load(contract):
        if entry.get("type") == kind and entry.get("name") == name:
            return entry
    raise KeyError(f"{contract} has no {kind} {name}")


def canonical(p: Param) -> str:
    """The canonical ABI type of a parameter (tuples spelled out)."""
    t: str = p["type"]
    if t.startswith("tuple"):
        inner = ",".join(canonical(c) for c in p["components"])
        return f"({inner}){t[len('tuple'):]}"
    return t


def signature(entry: Param) -> str:
    """``name(type,...)`` of a function or event."""
    return f"{entry['name']}({','.join(canonical(p) for p in entry['inputs'])})"


def named(p: Param, value: Any) -> Any:
    """A decoded value with its tuples turned into dicts keyed by component name."""
    t: str = p["type"]
    if t == "tuple":
        return {c["name"]: named(c, v) for c, v in zip(p["components"], value)}
    if t.startswith("tuple"):
        inner = {**p, "type": t[: t.rindex("[")]}
        return [named(inner, v) for v in value]
    return value


def encode_call(contract: str, name: str, args: tuple[Any, ...]) -> bytes:
    """The calldata of ``contract.name(*args)``."""
    f = item(contract, "function", name)
    selector = keccak(text=signature(f))[:4]
    return selector + encode([canonical(p) for p in f["inputs"]], list(args))


def decode_result(contract: str, name: str, data: bytes) -> Any:
    """The return value of ``contract.name``: one value, or a dict by output name when the
    function returns several (unnamed outputs are keyed by position)."""
    f = item(contract, "function", name)
    outs = f["outputs"]
    values = decode([canonical(p) for p in outs], data)
    if len(outs) == 1:
        return named(outs[0], values[0])
    return {(p["name"] or str(i)): named(p, v) for i, (p, v) in enumerate(zip(outs, values))}


def topic0(contract: str, event: str) -> bytes:
    """The signature hash of ``contract``'s event ``event``."""
    return keccak(text=signature(item(contract, "event", event)))


def decode_log(contract: str, event: str, topics: list[bytes], data: bytes) -> dict[str, Any]:
    """A log of ``event`` as a dict by parameter name (indexed value types from the topics)."""
    e = item(contract, "event", event)
    indexed = [p for p in e["inputs"] if p["indexed"]]
    plain = [p for p in e["inputs"] if not p["indexed"]]
    out: dict[str, Any] = {}
    for p, t in zip(indexed, topics[1:]):
        out[p["name"]] = decode([canonical(p)], t)[0]
    for p, v in zip(plain, decode([canonical(p) for p in plain], data)):
        out[p["name"]] = named(p, v)
    return out
