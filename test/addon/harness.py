"""What the add-on's Blender tests (test_addon.py, gui_test.py) and bench/addon-stall.py share: enabling the add-on
from the source tree, the way each Blender loads it, pumping the drain timer, and looking at processes.

Runs inside Blender. Ways to enable (BLENDER_SIDECAR_TEST_MODE, default by version):
- "legacy": addon/ goes on sys.path and `blender_sidecar` is enabled as a legacy add-on (bl_info): Blender 3.4;
- "extension": a local extension repository (a temporary folder holding a link to addon/blender_sidecar) is added,
  and `bl_ext.sidecar_test.blender_sidecar` is enabled as an extension would be: Blender 4.2+.
BLENDER_SIDECAR_TEST_NODE names the Node executable for the add-on's preferences (a Blender in a chroot cannot see
the host's node on PATH).
"""

import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time

import addon_utils
import bpy

import polling

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ADDON_DIR = os.path.join(ROOT, "addon")
PACKAGE_DIR = os.path.join(ADDON_DIR, "blender_sidecar")
TEST_REPO = "sidecar_test"
THREAD_PREFIX = "blender-sidecar-"

# No __pycache__ folders in addon/: it is zipped as it is.
sys.dont_write_bytecode = True


def our_args():
    return sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else []


def default_mode():
    mode = os.environ.get("BLENDER_SIDECAR_TEST_MODE")
    if mode:
        return mode
    return "extension" if bpy.app.version >= (4, 2, 0) else "legacy"


def _raise(err):
    raise err


class Addon(object):
    """The add-on as this Blender loads it (see the module's docstring)."""

    def __init__(self, mode=None):
        self.mode = mode or default_mode()
        self._repo = None
        self._repo_dir = None
        if self.mode == "extension":
            self._repo_dir = tempfile.mkdtemp(prefix="sidecar-ext-repo-")
            os.symlink(PACKAGE_DIR, os.path.join(self._repo_dir, "blender_sidecar"))
            self._repo = bpy.context.preferences.extensions.repos.new(
                name=TEST_REPO, module=TEST_REPO, custom_directory=self._repo_dir, source="USER"
            )
            self.name = "bl_ext.{}.blender_sidecar".format(TEST_REPO)
        elif self.mode == "legacy":
            if ADDON_DIR not in sys.path:
                sys.path.insert(0, ADDON_DIR)
            self.name = "blender_sidecar"
        else:
            raise ValueError("unknown mode {!r}".format(self.mode))

    def enable(self):
        module = addon_utils.enable(self.name, default_set=True, handle_error=_raise)
        if module is None:
            raise AssertionError("addon_utils.enable({!r}) failed".format(self.name))
        return module

    def disable(self):
        addon_utils.disable(self.name, default_set=True, handle_error=_raise)

    @property
    def enabled(self):
        return bool(addon_utils.check(self.name)[1])

    def sub(self, name):
        """One of the add-on's modules, e.g. "state", "timer", "connection"."""
        return sys.modules["{}.{}".format(self.name, name)]

    @property
    def prefs(self):
        return bpy.context.preferences.addons[self.name].preferences

    def set_prefs(self, **values):
        prefs = self.prefs
        for key, value in values.items():
            setattr(prefs, key, value)

    @property
    def state(self):
        return self.sub("state").get()

    @property
    def connection(self):
        return self.sub("connection").get()

    def drain(self):
        return self.sub("timer").drain()

    def pump(self, until, timeout, what, step=0.05):
        """Runs the drain (as the timer would) until `until()` is truthy; returns its value, or fails after `timeout` s."""

        def drained():
            self.drain()
            return until()

        return polling.until(drained, timeout, what, step, self.describe)

    def describe(self):
        st = self.state
        jobs = ["{} {} {}/{} {}".format(j.id, j.state, j.done, j.total, j.error) for j in list(st.jobs.values())[:5]]
        alerts = ["{}: {}".format(a.level, a.text) for a in list(st.alerts)[:6]]
        return "connection {} ({}); jobs {}; alerts {}".format(st.connection, st.message, jobs, alerts)

    def leftovers(self):
        """What the add-on left behind in Blender: its threads, its timer, its handlers."""
        found = ["thread " + t.name for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]
        timer = sys.modules.get(self.name + ".timer")
        if timer is not None and bpy.app.timers.is_registered(timer.drain):
            found.append("timer drain")
        for name in dir(bpy.app.handlers):
            handlers = getattr(bpy.app.handlers, name)
            if isinstance(handlers, list):
                found += [
                    "handler {} {}".format(name, h.__name__)
                    for h in handlers
                    if getattr(h, "__module__", "").startswith(self.name)
                ]
        return found

    def remove(self):
        if self.enabled:
            self.disable()
        if self._repo is not None:
            bpy.context.preferences.extensions.repos.remove(self._repo)
            self._repo = None
        if self._repo_dir:
            shutil.rmtree(self._repo_dir, ignore_errors=True)


def node_for_tests():
    """The Node the add-on should run: BLENDER_SIDECAR_TEST_NODE, else "" (the add-on looks on PATH)."""
    return os.environ.get("BLENDER_SIDECAR_TEST_NODE", "")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def threads(prefix=THREAD_PREFIX):
    return sorted(t.name for t in threading.enumerate() if t.name.startswith(prefix))


def cmdline(pid):
    try:
        with open("/proc/{}/cmdline".format(pid), "rb") as f:
            return [part.decode("utf-8", "replace") for part in f.read().split(b"\0") if part]
    except OSError:
        return []


def alive(pid):
    """Running, not a zombie."""
    try:
        with open("/proc/{}/stat".format(pid)) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def sidecars(state_dir):
    """Pids of sidecar processes serving `state_dir`.

    A child the sidecar is starting (a Blender worker, a helper) carries the sidecar's own command line between fork and
    exec; such a process, whose parent is a sidecar found here, is not a second sidecar.
    """
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            args = cmdline(int(name))
            if "serve" in args and state_dir in args and alive(int(name)):
                found.append(int(name))
    return sorted(pid for pid in found if parent(pid) not in found)


def parent(pid):
    """The parent's pid, or None when `pid` is gone."""
    try:
        with open("/proc/{}/stat".format(pid)) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def children(pid):
    """Pids whose parent is `pid`."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/{}/stat".format(name)) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(name))
            except (OSError, IndexError, ValueError):
                pass
    return found


def wait_gone(pids, timeout):
    try:
        return polling.until(lambda: not any(alive(p) for p in pids), timeout, "processes {} to end".format(pids), 0.05)
    except AssertionError:
        return False


def kill_all(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def tiny_render_settings(scene, size=(48, 36), samples=2):
    """Cheap Cycles frames (Debian's Blender has no OpenImageDenoise: denoising off)."""
    scene.render.engine = "CYCLES"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = False
    scene.cycles.device = "CPU"
    scene.render.resolution_x, scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"


def glb_json(path):
    """The JSON chunk of a .glb, as text."""
    import struct

    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"glTF":
        raise AssertionError("{} is not a GLB".format(path))
    length, kind = struct.unpack_from("<I4s", data, 12)
    if kind != b"JSON":
        raise AssertionError("{} has no JSON chunk first".format(path))
    return data[20 : 20 + length].decode("utf-8")


class XvfbScenario(object):
    """What the GUI tests (gui_test.py, pipeline_gui_test.py) share: waiting inside the event loop, running xdotool or
    ImageMagick's import on this X display, screenshots and the check that one is not blank. A subclass sets
    `self.out` (the screenshot; its `.request` file is how a chrooted Blender asks the runner outside to run a
    command), `self.addon` and `self.report`."""

    def wait(self, condition, timeout, what):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("waited {:g} s for {}; {}".format(timeout, what, self.addon.describe()))
            yield 0.1

    def screenshot(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(path):
            os.remove(path)
        yield from self.host(["import", "-window", "root", path])

    def host(self, command):
        """Runs `command` (xdotool or ImageMagick's import) on this X display: right here when it is installed,
        else through whoever runs this test from outside (test/addon/host-requests.ts), which sees OUT.request and
        deletes it when done. A Blender in a chroot has neither program."""
        import json
        import shutil
        import subprocess

        if shutil.which(command[0]):
            subprocess.run(command, check=True, timeout=30)
            return
        request = self.out + ".request"
        with open(request + ".partial", "w") as f:
            json.dump(
                {"display": os.environ.get("DISPLAY"), "xauthority": os.environ.get("XAUTHORITY"), "command": command},
                f,
            )
        os.replace(request + ".partial", request)
        yield from self.wait(lambda: not os.path.exists(request), 30, "the test runner to run {}".format(command[0]))
        if os.path.exists(request + ".failed"):
            with open(request + ".failed") as f:
                raise AssertionError("{} failed outside: {}".format(command, f.read()))

    def screenshot_pixels(self, path):
        """The screenshot's RGBA floats and whether Blender loaded it as linear; fails when it looks blank (a flat
        fill or a black capture has a handful of colours, a real interface hundreds)."""
        if not os.path.isfile(path):
            raise AssertionError("no screenshot at {}".format(path))
        image = bpy.data.images.load(path)
        try:
            width, height = image.size
            pixels = [0.0] * (width * height * 4)
            image.pixels.foreach_get(pixels)
            linear = image.colorspace_settings.name == "Linear"
        finally:
            bpy.data.images.remove(image)
        colours = {tuple(round(c, 2) for c in pixels[i : i + 3]) for i in range(0, len(pixels), 4 * 97)}
        self.report.setdefault("colours", {})[os.path.basename(path)] = len(colours)
        if len(colours) < 20:
            raise AssertionError("the screenshot looks blank ({} colours)".format(len(colours)))
        return pixels, linear
