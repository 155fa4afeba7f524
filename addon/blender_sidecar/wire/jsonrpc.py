"""JSON-RPC 2.0 messages as text: encoding requests and sorting what arrives. No sockets and no threads here.

The sidecar takes named params only, so params are always a JSON object (`{}` when none are given).
"""

import json

from .errors import RpcError

METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602


def _dumps(message):
    # allow_nan=False: NaN and Infinity are not JSON, and the sidecar would answer -32700 for the whole message.
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode_request(request_id, method, params=None):
    """The text of one request. Raises TypeError for positional params, ValueError/TypeError for non-JSON values."""
    if not isinstance(method, str) or not method:
        raise TypeError("a method name is a non-empty string, not {!r}".format(method))
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise TypeError("the sidecar takes named params only: pass a dict, not {}".format(type(params).__name__))
    return _dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})


def encode_error(request_id, code, message):
    return _dumps({"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}})


class Response(object):
    """An answer to one of our requests: `result`, or `error` (an RpcError without its method filled in yet)."""

    __slots__ = ("id", "result", "error")

    def __init__(self, request_id, result=None, error=None):
        self.id = request_id
        self.result = result
        self.error = error


class Notification(object):
    """A message from the server that wants no answer (`job.progress`, `sidecar.shutdown`, ...)."""

    __slots__ = ("method", "params")

    def __init__(self, method, params):
        self.method = method
        self.params = params


class Request(object):
    """A request from the server. The sidecar sends none today; the client answers each with -32601."""

    __slots__ = ("id", "method", "params")

    def __init__(self, request_id, method, params):
        self.id = request_id
        self.method = method
        self.params = params


def _error_of(obj):
    if not isinstance(obj, dict):
        return RpcError(-32603, "the sidecar sent a malformed error: {!r}".format(obj)[:200])
    code = obj.get("code")
    message = obj.get("message")
    return RpcError(
        code if isinstance(code, int) else -32603,
        message if isinstance(message, str) else "the sidecar gave no error message",
        obj.get("data"),
    )


def _classify(obj):
    if not isinstance(obj, dict) or obj.get("jsonrpc") != "2.0":
        return None
    method = obj.get("method")
    if isinstance(method, str):
        if "id" in obj:
            return Request(obj["id"], method, obj.get("params"))
        return Notification(method, obj.get("params"))
    if "id" not in obj:
        return None
    if "error" in obj:
        return Response(obj["id"], error=_error_of(obj["error"]))
    if "result" in obj:
        return Response(obj["id"], result=obj["result"])
    return None


def decode(text):
    """The messages in one WebSocket text message (a batch holds several), each a Response, Notification or
    Request; anything that is none of those is left out. Raises ValueError when the text is not JSON."""
    data = json.loads(text)
    items = data if isinstance(data, list) else [data]
    out = []
    for item in items:
        message = _classify(item)
        if message is not None:
            out.append(message)
    return out
