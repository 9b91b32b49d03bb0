"""vouch_client: a Python client of vouch, verifiable AI inference settled on Ethereum.

Sign in to a gateway with Ethereum, request an answer from a registered model, wait for it to
settle on-chain, read its outputs as floats, and check its receipt (chain state, the EAS
attestation, the output commitment) against the chain yourself.

| module | holds |
|---|---|
| ``gateway`` | ``Gateway`` (SIWE sign-in, tasks, SSE events, outputs), ``Task``, ``Output`` |
| ``chain`` | ``Chain`` (JSON-RPC reads of a ``Deployment``, ``read_task``), ``OutputSpec`` |
| ``record`` | the hashed task layout: ``TaskRecord``, ``Claim``, ``task_commitment`` |
| ``receipt`` | ``verify_receipt`` and its ``Receipt`` of ``Check`` results |
| ``commitment`` | the tensor and list commitments of ``docs/semantics.md`` |
| ``errors`` | ``VouchError`` and its subclasses |
"""

from .chain import Chain, Deployment, OutputSpec
from .errors import GatewayError, OutputError, RecordError, RpcError, TaskTimeout, VouchError
from .gateway import Gateway, Output, Task
from .receipt import Check, Receipt, verify_receipt
from .record import Claim, TaskRecord, task_commitment

__all__ = [
    "Chain",
    "Check",
    "Claim",
    "Deployment",
    "Gateway",
    "GatewayError",
    "Output",
    "OutputError",
    "OutputSpec",
    "Receipt",
    "RecordError",
    "RpcError",
    "Task",
    "TaskRecord",
    "TaskTimeout",
    "VouchError",
    "task_commitment",
    "verify_receipt",
]
__version__ = "0.1.0"
