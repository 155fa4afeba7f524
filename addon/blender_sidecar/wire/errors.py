"""What the wire client raises. Every error is a `WireError`; each message is one sentence a user can act on.

- `SidecarNotFound`: there is no running sidecar to connect to (no, stale or unreadable sidecar.json).
- `ConnectionClosed`: the connection could not be opened, or it is gone; pending calls fail with it.
  `HandshakeError` is the case where the server answered the upgrade with something other than 101.
- `ProtocolError`: the peer broke RFC 6455 (or sent a message over the size limit); the connection is closed.
- `RpcError`: the sidecar answered a call with a JSON-RPC error object; the connection stays usable.
- `CallTimeout`: no answer came in time; the connection stays usable and a late answer is dropped.
"""


class WireError(Exception):
    """Base class of every error this package raises."""


class SidecarNotFound(WireError):
    """No running sidecar could be found through sidecar.json (absent, stale or unreadable)."""


class ConnectionClosed(WireError):
    """The connection is not open: it could not be opened, the peer closed it, or it dropped.

    `code` and `reason` are the WebSocket close code and reason when the peer sent a close frame, else None and "".
    """

    def __init__(self, message, code=None, reason=""):
        super().__init__(message)
        self.code = code
        self.reason = reason


class HandshakeError(ConnectionClosed):
    """The server refused the WebSocket upgrade; `status` is its HTTP status, `reason` the `error` text it gave."""

    def __init__(self, message, status=None, reason=""):
        super().__init__(message, code=None, reason=reason)
        self.status = status


class ProtocolError(WireError):
    """The peer broke the WebSocket protocol; `close_code` is the code the client closed the connection with."""

    def __init__(self, message, close_code=1002):
        super().__init__(message)
        self.close_code = close_code


class MessageTooBig(ProtocolError):
    """An incoming message is larger than the client's `max_message_size`; the connection was closed with 1009."""

    def __init__(self, message):
        super().__init__(message, close_code=1009)


class RpcError(WireError):
    """The sidecar answered with a JSON-RPC error: `code`, `message` and optional `data` exactly as sent.

    For -32602 (invalid params) `data` is `{"errors": [{"field": ..., "message": ...}, ...]}`.
    """

    def __init__(self, code, message, data=None, method=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.method = method

    def __repr__(self):
        return "RpcError(code={!r}, message={!r}, data={!r})".format(self.code, self.message, self.data)


class CallTimeout(WireError):
    """A call got no answer within `timeout` seconds."""

    def __init__(self, method, timeout):
        super().__init__("{} got no answer within {:g} s; the sidecar may be busy or stuck".format(method, timeout))
        self.method = method
        self.timeout = timeout
