"""What starts the sidecar: finding Node and the sidecar program, the `serve` command line, and what a failed start
means in one sentence. Also opening a folder in the system's file browser. No bpy: the caller passes in what it
knows from Blender (the preferences, `bpy.app.binary_path`, Blender's pid).

Where the sidecar program is looked for; the first that exists wins:
1. the sidecar file set in the preferences (a .mjs/.js/.cjs script is run by Node, anything else is run as it is);
2. `<add-on>/sidecar/bin/<platform>/blender-sidecar[.exe]`: a single executable that carries Node (no Node needed);
3. `<add-on>/sidecar/blender-sidecar.mjs`: the bundle the packaged add-on carries, with `sidecar/worker/` beside it;
4. `<repository>/dist/blender-sidecar.mjs`: a development checkout, after `npm run build`.
"""

import os
import re
import shutil
import subprocess

from . import platform as host
from .errors import SidecarError

MIN_NODE_MAJOR = 20
SCRIPT_SUFFIXES = (".mjs", ".js", ".cjs")
BUNDLE_NAME = "blender-sidecar.mjs"


class SidecarProgram(object):
    """The sidecar to run: `path`, and whether Node runs it (`needs_node`) or it is an executable of its own."""

    __slots__ = ("path", "needs_node")

    def __init__(self, path, needs_node):
        self.path = path
        self.needs_node = needs_node

    def __repr__(self):
        return "SidecarProgram({!r}, needs_node={})".format(self.path, self.needs_node)


def platform_tag(platform=None, machine=None):
    """Node's name for this platform, e.g. "linux-x64", "darwin-arm64", "win32-x64" (the bin/ folder names)."""
    return host.platform_tag(platform, machine)


def candidates(addon_dir):
    """Where the sidecar program is looked for when the preferences name none, in order."""
    exe = host.executable_name("blender-sidecar")
    # realpath: a development checkout is often linked into Blender's add-on (or extension) folder.
    repo = os.path.dirname(os.path.dirname(os.path.realpath(addon_dir)))
    return [
        SidecarProgram(os.path.join(addon_dir, "sidecar", "bin", platform_tag(), exe), False),
        SidecarProgram(os.path.join(addon_dir, "sidecar", BUNDLE_NAME), True),
        SidecarProgram(os.path.join(repo, "dist", BUNDLE_NAME), True),
    ]


def find_sidecar(preferred, addon_dir):
    """The sidecar program to start. Raises SidecarError, naming what was tried, when there is none."""
    if preferred:
        path = os.path.abspath(os.path.expanduser(preferred))
        if not os.path.isfile(path):
            raise SidecarError(
                "The sidecar file set in the add-on's preferences does not exist ({}): fix the path, or clear it to "
                "use the bundled one.".format(path)
            )
        return SidecarProgram(path, path.lower().endswith(SCRIPT_SUFFIXES))
    tried = candidates(addon_dir)
    for program in tried:
        if os.path.isfile(program.path):
            if not program.needs_node:
                _make_executable(program.path)
            return program
    raise SidecarError(
        "The bundled sidecar is missing (looked for {}): reinstall the add-on, or set the sidecar file in its "
        "preferences.".format(", ".join(p.path for p in tried))
    )


def _make_executable(path):
    # Blender installs add-ons and extensions by unzipping with Python's zipfile, which drops the executable bit.
    if not host.needs_executable_bit() or os.access(path, os.X_OK):
        return
    try:
        os.chmod(path, os.stat(path).st_mode | 0o755)
    except OSError as err:
        raise SidecarError(
            "The bundled sidecar {} is not executable and cannot be made so ({}): set the Node path in the add-on's "
            "preferences to run the bundled script instead.".format(path, err.strerror)
        )


def find_node(preferred):
    """The Node executable: the one set in the preferences, else `node` on PATH, else a usual install place."""
    if preferred:
        path = os.path.abspath(os.path.expanduser(preferred))
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise SidecarError(
                "Node.js was not found at {} (the add-on's preferences): install Node {} or newer, or fix the "
                "path.".format(path, MIN_NODE_MAJOR)
            )
        return path
    found = shutil.which("node")
    if found:
        return found
    for path in host.node_install_places():
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise SidecarError(
        "Node.js was not found on PATH or in the usual places: install Node {} or newer (nodejs.org), or set "
        "the Node executable in the add-on's preferences.".format(MIN_NODE_MAJOR)
    )


def check_node(node, timeout=15.0):
    """Runs `node --version` (tens of milliseconds: never on Blender's main thread). Returns the version text;
    raises SidecarError when it does not run or is older than MIN_NODE_MAJOR."""
    try:
        out = subprocess.run(
            [node, "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            **host.no_window_options(),
        )
    except (OSError, subprocess.SubprocessError) as err:
        raise SidecarError(
            "Node.js at {} does not run ({}): reinstall it, or set another in the add-on's preferences.".format(
                node, err
            )
        )
    text = out.stdout.strip()
    match = re.match(r"v(\d+)\.", text)
    if out.returncode != 0 or not match:
        raise SidecarError("{} --version did not print a Node.js version: is it really Node.js?".format(node))
    if int(match.group(1)) < MIN_NODE_MAJOR:
        raise SidecarError(
            "Node.js {} at {} is too old: the sidecar needs Node {} or newer; install it, or set a newer one in the "
            "add-on's preferences.".format(text, node, MIN_NODE_MAJOR)
        )
    return text


def serve_command(program, node, state_dir, port, blender, parent_pid, instances, stop_with_parent=False):
    """The command line that starts the sidecar: `serve` for this Blender. When Blender's process ends, the sidecar
    finishes its jobs and stops once it has none and no clients; `stop_with_parent` stops it (and its jobs) at once.

    `state_dir` None leaves the sidecar's default; `instances` 0 leaves the pool size to the sidecar (auto).
    """
    cmd = [node, program.path] if program.needs_node else [program.path]
    cmd += ["serve", "--port", str(int(port)), "--blender", blender, "--parent-pid", str(int(parent_pid))]
    if state_dir:
        cmd += ["--state-dir", state_dir]
    if instances:
        cmd += ["--instances", str(int(instances))]
    if stop_with_parent:
        cmd += ["--stop-with-parent"]
    return cmd


def start_process(cmd, log_path, env=None):
    """Starts `cmd` in the background with its output appended to `log_path`; returns the Popen.

    Its own session (POSIX) or no console window (Windows): Ctrl+C in Blender's terminal does not stop it halfway;
    it stops by itself after Blender exits (--parent-pid), once its jobs are done.
    """
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "ab") as log:
        output = {"stdin": subprocess.DEVNULL, "stdout": log, "stderr": subprocess.STDOUT}
        return subprocess.Popen(cmd, env=env, close_fds=True, **output, **host.background_options())


def explain_exit(code, output, port):
    """One sentence for a sidecar that exited while starting, from its exit code and the end of its output."""
    lines = [line.strip() for line in (output or "").splitlines() if line.strip()]
    text = "\n".join(lines[-20:])
    if "already in use" in text or "EADDRINUSE" in text:
        return (
            "Port {} is already taken by another program: set another port in the add-on's preferences, or 0 for any "
            "free one.".format(port)
        )
    if "SyntaxError" in text or "ERR_UNKNOWN_BUILTIN_MODULE" in text or "ERR_REQUIRE_ESM" in text:
        return "The sidecar does not run on this Node.js (exit code {}): install Node {} or newer.".format(
            code, MIN_NODE_MAJOR
        )
    last = lines[-1] if lines else "it printed nothing"
    if last.lower().startswith("error: "):
        last = last[len("error: ") :]
    return "The sidecar stopped while starting (exit code {}): {}".format(code, last)


def read_log(path, offset=0, size=8000):
    """What a log file got after byte `offset` (at most its last `size` bytes), as text; "" when unreadable."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read()[-size:].decode("utf-8", "replace")
    except OSError:
        return ""


def open_folder(path):
    """Opens `path` in the system's file browser without waiting for it. Raises SidecarError when it cannot."""
    if not os.path.isdir(path):
        raise SidecarError("The folder {} does not exist (yet).".format(path))
    try:
        host.open_folder(path)
    except LookupError:
        raise SidecarError("Cannot open folders here (xdg-open is not installed): the output is in {}.".format(path))
    except OSError as err:
        raise SidecarError("Cannot open {} ({}).".format(path, err))
