"""What the connection's threads tell Blender's main thread: small messages put on one queue, drained by one timer.

No bpy, and nothing here refers to Blender data: the main thread applies each message to the panel's state
(`state.SidecarState.apply`). Payloads are the sidecar's own notification and result objects (see docs/rpc.md).
"""

from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass
class MsgConnection:
    """The connection changed: `state` is disconnected, connecting, starting, connected, reconnecting, stopping or
    failed; `message` says why in one sentence; `alert` (INFO, WARN, ERROR) also puts it in the Alerts list."""

    state: str
    message: str = ""
    url: str = ""
    pid: int = 0
    alert: Optional[str] = None


@dataclass
class MsgInfo:
    """The sidecar's `sidecar.info` result."""

    info: dict


@dataclass
class MsgJobs:
    """A `job.list` result: the jobs the sidecar knows, newest first (sent after connecting and reconnecting)."""

    jobs: list


@dataclass
class MsgJobState:
    """A `job.state` notification: jobId, kind, state, previous, and error or result when it ended."""

    params: dict


@dataclass
class MsgProgress:
    """A `job.progress` notification: jobId, total, done, skipped, failed, running, unitsPerSecond, etaSeconds."""

    params: dict


@dataclass
class MsgWorkers:
    """A `worker.stats` notification or `worker.list` result: each worker's id, pid, state, cpuPercent, rssMB."""

    workers: list
    size: Optional[int] = None


@dataclass
class MsgAlert:
    """Something to show in the Alerts list: `level` is INFO, WARN or ERROR. An alert with a `key` (the sidecar's
    own, from its `alert` topic) replaces the one with the same key; `resolved` removes it."""

    level: str
    text: str
    key: str = ""
    resolved: bool = False


@dataclass
class MsgCallResult:
    """The answer to a call an operator sent: `result`, or `error` as one sentence (`error_data` as the sidecar sent
    it). `context` is what the operator attached, e.g. {"purpose": "submit", "placeholder": ..., "temporary_blend": ...}.
    """

    method: str
    result: Any = None
    error: Optional[str] = None
    error_data: Any = None
    context: dict = field(default_factory=dict)
