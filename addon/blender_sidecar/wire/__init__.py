"""The add-on's wire to the sidecar: a JSON-RPC 2.0 client over WebSocket, pure standard library, no bpy.

It runs inside Blender (on its bundled Python) and in plain Python, as a scripting client:

    import sys; sys.path.insert(0, "addon")
    from blender_sidecar.wire import SidecarClient, RpcError

    with SidecarClient.connect() as client:          # finds the sidecar through sidecar.json
        print(client.call("sidecar.ping", {"echo": "hi"}))

Modules, one concern each: `websocket` (RFC 6455 handshake and connection), `frames` (frame bytes),
`jsonrpc` (message text), `client` (calls, notifications, reconnecting), `discovery` (finding sidecar.json),
`errors` (what is raised). Only relative imports inside: the package may be imported as `bl_ext.<repo>.<id>.wire`.
"""

from .client import SidecarClient
from .discovery import Discovery, Endpoint, default_state_dir, discovery_path, read_discovery, resolve_endpoint
from .errors import (
    CallTimeout,
    ConnectionClosed,
    HandshakeError,
    MessageTooBig,
    ProtocolError,
    RpcError,
    SidecarNotFound,
    WireError,
)
from .websocket import WebSocket

__all__ = [
    "SidecarClient",
    "WebSocket",
    "Discovery",
    "Endpoint",
    "default_state_dir",
    "discovery_path",
    "read_discovery",
    "resolve_endpoint",
    "WireError",
    "SidecarNotFound",
    "ConnectionClosed",
    "HandshakeError",
    "ProtocolError",
    "MessageTooBig",
    "RpcError",
    "CallTimeout",
]
