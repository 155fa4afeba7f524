"""Finding a running sidecar: its state folder, and the `sidecar.json` it writes there.

Mirrors sidecar/state-dir.ts and sidecar/discovery.ts: the same default folder on every platform, the same checks
on the file, and a file whose pid is gone counts as stale (the sidecar died without cleaning up).
"""

import json
import os

from .. import platform as host
from .errors import SidecarNotFound

DISCOVERY_FILE = "sidecar.json"


class Endpoint(object):
    """Where to connect: a ws:// URL and the bearer token it wants."""

    __slots__ = ("url", "token")

    def __init__(self, url, token):
        self.url = url
        self.token = token

    def __repr__(self):
        return "Endpoint(url={!r}, token=<hidden>)".format(self.url)


class Discovery(object):
    """The contents of sidecar.json: port, pid, token, version, started_at, host, url."""

    __slots__ = ("port", "pid", "token", "version", "started_at", "host", "url", "path")

    def __init__(self, port, pid, token, version, started_at, host=None, url=None, path=None):
        self.port = port
        self.pid = pid
        self.token = token
        self.version = version
        self.started_at = started_at
        self.host = host
        self.url = url
        self.path = path

    @property
    def endpoint(self):
        return Endpoint(self.url or "ws://127.0.0.1:{}/rpc".format(self.port), self.token)


def default_state_dir(env=None, platform=None):
    """The sidecar's default state folder: $BLENDER_SIDECAR_STATE_DIR, else the platform's per-user state folder
    (platform.py: $XDG_STATE_HOME/blender-sidecar on Linux)."""
    return host.state_folder(env, platform)


def discovery_path(state_dir):
    return os.path.join(state_dir, DISCOVERY_FILE)


def _int_field(data, name, low, high):
    value = data.get(name)
    # bool is an int in Python, not in JSON's sense.
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def _parse(data, path):
    if not isinstance(data, dict):
        return None
    port = _int_field(data, "port", 1, 65535)
    pid = _int_field(data, "pid", 1, 2**63)
    token, version, started_at = data.get("token"), data.get("version"), data.get("startedAt")
    host, url = data.get("host"), data.get("url")
    if port is None or pid is None or not isinstance(token, str) or len(token) < 16:
        return None
    if not isinstance(version, str) or not isinstance(started_at, str):
        return None
    if (host is not None and not isinstance(host, str)) or (url is not None and not isinstance(url, str)):
        return None
    return Discovery(port, pid, token, version, started_at, host, url, path)


def read_discovery(state_dir=None):
    """The running sidecar's sidecar.json in `state_dir` (default: `default_state_dir()`).

    Raises SidecarNotFound when the file is absent, unreadable, malformed, or left by a process that is gone.
    """
    state_dir = default_state_dir() if state_dir is None else state_dir
    path = discovery_path(state_dir)
    try:
        with open(path, "r", encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise SidecarNotFound("no sidecar is running (no {}); start one with: blender-sidecar serve".format(path))
    except OSError as err:
        raise SidecarNotFound("cannot read the discovery file {}: {}".format(path, err.strerror or err))
    try:
        data = json.loads(text)
    except ValueError:
        raise SidecarNotFound("cannot read the discovery file: {} is not valid JSON".format(path))
    info = _parse(data, path)
    if info is None:
        raise SidecarNotFound(
            "cannot read the discovery file: {} does not look like a sidecar discovery file".format(path)
        )
    if not host.is_process_alive(info.pid):
        raise SidecarNotFound(
            "the sidecar that wrote {} (pid {}) is no longer running; start one with: blender-sidecar serve".format(
                path, info.pid
            )
        )
    return info


def resolve_endpoint(state_dir=None, url=None, token=None):
    """The URL and token to connect with: those given, or the ones in the running sidecar's sidecar.json."""
    if url:
        if not token:
            raise SidecarNotFound("a token is needed with a URL (it is in sidecar.json)")
        return Endpoint(url, token)
    return read_discovery(state_dir).endpoint
