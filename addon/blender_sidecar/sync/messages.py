"""What the connection's reader thread tells the sync engine on the main thread, through the add-on's one queue
(drained by timer.py). No bpy. The payloads are the sidecar's own (docs/rpc.md: gn.subscribe, gn.set, gn.changed).
"""

from dataclasses import dataclass
from typing import Any, Optional

from ..wire import ConnectionClosed, RpcError


@dataclass
class MsgGnChanged:
    """A `gn.changed` notification: {channel, revision, changes}."""

    params: dict


@dataclass
class MsgGnAnswer:
    """The answer to a sync call (`what` is "subscribe" or "write") the engine sent for `channel` with `token`:
    `result`, or an error: `code`, `message` and `data` as the sidecar sent them, or `closed` when the connection
    dropped before the answer (the call's fate is unknown)."""

    what: str
    channel: str
    token: int
    result: Any = None
    code: Optional[int] = None
    message: str = ""
    data: Any = None
    closed: bool = False

    @property
    def ok(self):
        return self.code is None and not self.closed


def answer(what, channel, token):
    """A reply function for `Connection.call(..., reply=...)`: runs on the reader thread, returns the message."""

    def reply(result, error):
        if error is None:
            return MsgGnAnswer(what, channel, token, result)
        if isinstance(error, RpcError):
            return MsgGnAnswer(what, channel, token, None, error.code, error.message, error.data)
        closed = isinstance(error, ConnectionClosed)
        return MsgGnAnswer(what, channel, token, None, None if closed else -32603, str(error), None, closed)

    return reply
