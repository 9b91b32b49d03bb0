"""The output commitment of ``docs/semantics.md`` (sections 6 and 10) in Python.

- canonical tensor bytes: each element as 4 bytes big-endian two's complement, 8 to a 32-byte
  word, the last word zero-padded;
- tensor Merkle root: leaves ``keccak256(word)``, padded with zero leaves to a power of two,
  parents ``keccak256(left || right)``, a single leaf is the root, an empty tensor is zero;
- tensor commitment: ``keccak256(uint256(numel) || root)``;
- list commitment: the Merkle root (same rule) whose leaves are the member commitments;
- a task's output commitment: the list commitment of its outputs' tensor commitments, in
  package order, each output's rows end to end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from eth_utils.crypto import keccak

from .errors import OutputError

ZERO = bytes(32)


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """The root of ``leaves`` (32 bytes each) under section 6's rule."""
    if not leaves:
        return ZERO
    level = list(leaves)
    width = 1
    while width < len(level):
        width *= 2
    level += [ZERO] * (width - len(level))
    while len(level) > 1:
        level = [keccak(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def tensor_bytes(values: Sequence[int]) -> bytes:
    """Canonical tensor bytes, zero-padded to whole 32-byte words."""
    for v in values:
        if not -(2**31) <= v < 2**31:
            raise OutputError(f"{v} does not fit an i32 element")
    raw = b"".join(int(v).to_bytes(4, "big", signed=True) for v in values)
    pad = (-len(raw)) % 32
    return raw + bytes(pad)


def tensor_commitment(values: Sequence[int]) -> bytes:
    """``keccak256(uint256(numel) || root)`` of a tensor's elements (row-major)."""
    data = tensor_bytes(values)
    leaves = [keccak(data[i : i + 32]) for i in range(0, len(data), 32)]
    return keccak(len(values).to_bytes(32, "big") + merkle_root(leaves))


def list_commitment(members: Sequence[bytes]) -> bytes:
    """The list commitment of member commitments (not re-hashed), in order."""
    return merkle_root(members)


def flatten(nested: Any) -> list[float]:
    """Row-major elements of a nested JSON array (a bare number is one element)."""
    if isinstance(nested, list):
        out: list[float] = []
        for x in nested:
            out.extend(flatten(x))
        return out
    if isinstance(nested, bool) or not isinstance(nested, (int, float)):
        raise OutputError(f"an output element is not a number: {nested!r}")
    return [float(nested)]


def requantize(values: Sequence[float], scale: float) -> list[int]:
    """The integers ``q`` with ``q * scale == value`` exactly for each value (the gateway
    dequantizes as ``f64(q) * scale``); an error names the first value that is not one."""
    if not (scale > 0 and math.isfinite(scale)):
        raise OutputError(f"output scale {scale!r} is not positive and finite")
    out = []
    for i, v in enumerate(values):
        q = round(v / scale)
        if float(q) * scale != v:
            raise OutputError(f"element {i} ({v!r}) is not an integer multiple of the scale {scale!r}")
        out.append(q)
    return out


def output_commitment(outputs: Sequence[Sequence[int]]) -> bytes:
    """A task's output commitment from each output's integer values (rows end to end), in
    package order."""
    return list_commitment([tensor_commitment(v) for v in outputs])
