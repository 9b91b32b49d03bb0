"""The errors the client raises: one base class, one subclass per place a call can fail."""

from __future__ import annotations

from typing import Any


class VouchError(Exception):
    """Base class of every error this package raises."""


class GatewayError(VouchError):
    """The gateway refused a call or could not be reached.

    ``status`` is the HTTP status (0 when the gateway was not reached), ``code`` the error
    code of the gateway's body (``{"error": {"code", "message"}}``, e.g. ``bad_signature``,
    ``no_output``), ``message`` its message.
    """

    def __init__(self, what: str, status: int, code: str, message: str, body: Any = None) -> None:
        super().__init__(f"the gateway refused {what} ({status} {code}): {message}")
        self.what = what
        self.status = status
        self.code = code
        self.message = message
        self.body = body


class RpcError(VouchError):
    """A JSON-RPC call to the chain failed (transport, error answer or undecodable result)."""

    def __init__(self, method: str, message: str) -> None:
        super().__init__(f"{method}: {message}")
        self.method = method
        self.message = message


class TaskTimeout(VouchError):
    """A task did not reach a terminal status in time; ``last`` is its last view."""

    def __init__(self, task_id: str, seconds: float, last: Any) -> None:
        super().__init__(f"task {task_id} not settled after {seconds:g} s (last status: {last})")
        self.task_id = task_id
        self.seconds = seconds
        self.last = last


class OutputError(VouchError):
    """An output the gateway served does not hold together: its bytes do not hash to the
    task's output CID, it is not the JSON the API defines, or its values are not whole
    multiples of the output scales."""


class RecordError(VouchError):
    """The record of a task read from its ``TaskRequested`` log (or its standing result, from
    its last ``ResultSubmitted`` log) does not open the commitment the task stores: the logs
    were forged, or the task's logs are missing. ``task_id`` is the task, ``why`` what differs."""

    def __init__(self, task_id: int, why: str) -> None:
        super().__init__(f"task {task_id}: the record read from its logs is not the task's: {why}")
        self.task_id = task_id
        self.why = why
