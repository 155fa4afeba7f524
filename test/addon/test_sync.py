"""Geometry Nodes sync with two real Blenders and a script, through a real sidecar (dist/, from `npm run build`).

    python3 test/addon/test_sync.py [--blender PATH] [NAME ...]

Runs on plain Python 3: this file is the script client (the add-on's wire client, imported as a script would) and
drives two background Blenders, each running sync_peer.py (the add-on enabled, a Geometry Nodes grid "Grid" >
"GeometryNodes" with inputs Count, Spacing and Cube Size, a loop doing what the event loop would). The sidecar is
started here (Node: $SIDECAR_TEST_NODE, else node on PATH) in a temporary state folder; the Blenders find it through
sidecar.json and start none. NAMEs keep only the tests whose id contains one of them; the steps build on each other.

What it shows, on the Blender given (--blender, default $BLENDER or blender; the .ci wrappers for 4.3 and 5.2):
1. a change made in one Blender (or the script) appears in the other, re-evaluated, and is not echoed back;
2. two Blenders racing on one input: one wins, the other gets the conflict (and takes theirs), both end with the
   same value; Push Mine then makes the loser's value everyone's;
3. the sidecar killed (SIGKILL) and restarted: no acknowledged write is lost, an edit made while it was down is sent,
   and both Blenders resync from their last revision;
4. the Python example of docs/gn-sync.md runs as written, and a synced Blender shows what it sets.
"""

import argparse
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "addon"))

from blender_sidecar.wire import SidecarClient, SidecarNotFound, read_discovery  # noqa: E402

sys.path.insert(0, HERE)
from polling import until  # noqa: E402

BUNDLE = os.path.join(ROOT, "dist", "blender-sidecar.mjs")
PEER = os.path.join(HERE, "sync_peer.py")
DOC = os.path.join(ROOT, "docs", "gn-sync.md")
CHANNEL = "shot-010"
GRID = {"object": "Grid", "modifier": "GeometryNodes"}
OPTIONS = argparse.Namespace(blender=os.environ.get("BLENDER") or "blender")


def key(name):
    return dict(GRID, input=name)


def verts(count):
    """The evaluated grid's vertices: Count x Count cubes of 8."""
    return count * count * 8


def wait_until(what, fn, timeout=20.0, step=0.02):
    """The shared polling.until, with the waited-for thing first, as this file's calls read best."""
    return until(fn, timeout, what, step)


class Peer(object):
    """One Blender running sync_peer.py: commands over stdin, replies and events read from stdout by a thread."""

    def __init__(self, name, state_dir):
        self.name = name
        self.proc = subprocess.Popen(
            [
                OPTIONS.blender,
                "-b",
                "--factory-startup",
                "--python-exit-code",
                "1",
                "--python",
                PEER,
                "--",
                "--state-dir",
                state_dir,
                "--name",
                name,
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
        )
        self.cond = threading.Condition()
        self.replies = {}
        self.values = None  # the latest "values" event
        self.ready = None
        self.log = collections.deque(maxlen=60)
        self.ids = 0
        self.thread = threading.Thread(target=self._read, name="peer-" + name, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if not line.startswith("@@peer "):
                self.log.append(line)
                continue
            msg = json.loads(line[len("@@peer ") :])
            with self.cond:
                if "reply" in msg:
                    self.replies[msg["reply"]] = msg
                elif msg.get("event") == "values":
                    self.values = msg
                elif msg.get("event") == "ready":
                    self.ready = msg
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def _wait(self, what, fn, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = fn()
                if value:
                    return value
                if self.proc.poll() is not None:
                    raise AssertionError(
                        "Blender {} exited ({}) waiting for {}:\n{}".format(
                            self.name, self.proc.returncode, what, "\n".join(self.log)
                        )
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        "Blender {}: waited {:g} s for {}; last values {}; output:\n{}".format(
                            self.name, timeout, what, self.values, "\n".join(list(self.log)[-20:])
                        )
                    )
                self.cond.wait(min(left, 0.2))

    def wait_ready(self, timeout=90):
        return self._wait("it to connect", lambda: self.ready, timeout)

    def call(self, cmd, timeout=20, **fields):
        with self.cond:
            self.ids += 1
            n = self.ids
        self.proc.stdin.write((json.dumps(dict(fields, id=n, cmd=cmd)) + "\n").encode())
        self.proc.stdin.flush()
        reply = self._wait("its reply to " + cmd, lambda: self.replies.pop(n, None), timeout)
        if "error" in reply:
            raise AssertionError("Blender {}: {} failed: {}".format(self.name, cmd, reply["error"]))
        return reply

    def wait_values(self, what, timeout=20, **expected):
        """Waits until Grid shows the expected input values; returns the "values" event."""

        def shown():
            v = self.values
            if v and all(_close(v["values"].get(k.replace("_", " ")), x) for k, x in expected.items()):
                return v
            return None

        return self._wait(what, shown, timeout)

    def state(self):
        return self.call("state")

    def channel(self):
        return self.state()["channels"].get(CHANNEL) or {}

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'{"cmd": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(20)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)
        self.thread.join(5)


def _close(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and abs(a - b) < 1e-5
    return a == b


class SyncTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.isfile(BUNDLE):
            raise RuntimeError("{} is missing: run `npm run build` first".format(BUNDLE))
        cls.tmp = tempfile.mkdtemp(prefix="sidecar-sync-test-")
        cls.state_dir = os.path.join(cls.tmp, "state")
        cls.sidecar = None
        cls.peers = []
        cls.client = None
        cls.start_sidecar()
        cls.a = Peer("A", cls.state_dir)
        cls.b = Peer("B", cls.state_dir)
        cls.peers = [cls.a, cls.b]
        for peer in cls.peers:
            ready = peer.wait_ready()
        print("sync tests on Blender {}".format(ready["blender"]), flush=True)
        cls.client = SidecarClient.connect(state_dir=cls.state_dir, reconnect=True)

    @classmethod
    def tearDownClass(cls):
        if cls.client is not None:
            cls.client.close()
        for peer in cls.peers:
            peer.close()
        cls.stop_sidecar()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def start_sidecar(cls):
        node = os.environ.get("SIDECAR_TEST_NODE") or shutil.which("node") or "node"
        log = open(os.path.join(cls.tmp, "sidecar-{}.log".format(time.time())), "ab")
        cls.sidecar = subprocess.Popen(
            [
                node,
                BUNDLE,
                "serve",
                "--state-dir",
                cls.state_dir,
                "--port",
                "0",
                "--instances",
                "1",
                "--blender",
                OPTIONS.blender,
                "--parent-pid",
                str(os.getpid()),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

        def listening():
            try:
                return read_discovery(cls.state_dir).pid == cls.sidecar.pid
            except SidecarNotFound:
                if cls.sidecar.poll() is not None:
                    raise AssertionError("the sidecar exited ({})".format(cls.sidecar.returncode))
                return False

        wait_until("the sidecar to write sidecar.json", listening, 30)

    @classmethod
    def stop_sidecar(cls):
        proc = cls.sidecar
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def get(self, channel=CHANNEL):
        snap = self.client.call("gn.get", {"channel": channel})
        snap["values"] = {e["key"]["input"]: e["value"] for e in snap["entries"]}
        snap["by"] = {e["key"]["input"]: e["changedBy"] for e in snap["entries"]}
        return snap

    def settled(self, *peers):
        """Waits until each peer follows the channel, has nothing left to send, and is at the channel's revision."""
        revision = self.get()["revision"]

        def caught_up(peer):
            ch = peer.channel()
            return ch.get("live") and ch.get("unsent") == 0 and ch.get("revision") == revision

        for peer in peers:
            what = "Blender {} to settle at revision {}".format(peer.name, revision)
            wait_until(what, lambda: caught_up(peer), 20, 0.05)
        return revision

    # -- 1 ---------------------------------------------------------------------------------------------------------

    def test_1_a_change_in_one_blender_appears_in_the_other(self):
        a, b = self.a, self.b
        a.call("sync", channel=CHANNEL)
        wait_until("A to publish its inputs", lambda: len(self.get()["entries"]) == 3)
        snap = self.get()
        self.assertEqual(snap["values"], {"Count": 3, "Spacing": 3.0, "Cube Size": 0.5})
        self.assertEqual(snap["revision"], 1, "one gn.setMany for the three inputs")
        self.assertEqual(set(snap["by"].values()), {a.state()["clientName"]})
        # B's own Count before it syncs: joining takes the channel's value, it does not push its own.
        b.call("set", input="Count", value=4, via="python")
        b.call("sync", channel=CHANNEL)
        b.wait_values("B to take the channel's values on joining", Count=3)
        self.assertEqual(self.settled(a, b), 1, "joining wrote nothing")

        # A script-like edit in A (an assignment, which tags nothing): the drain's poll notices it.
        started = time.monotonic()
        a.call("set", input="Count", value=5, via="python")
        shown = b.wait_values("B to show A's Count", Count=5)
        print("\n  A -> B (python edit): {:.0f} ms".format((time.monotonic() - started) * 1000))
        wait_until("B's grid to be evaluated again", lambda: b.values["verts"] == verts(5))
        self.assertEqual(shown["values"]["Spacing"], 3.0)
        # An interface-like edit in B (the object tagged): the depsgraph handler sends it.
        noticed = b.state()["stats"].get("noticed_depsgraph", 0)
        started = time.monotonic()
        b.call("set", input="Spacing", value=1.5, via="ui")
        a.wait_values("A to show B's Spacing", Spacing=1.5)
        print("  B -> A (interface edit): {:.0f} ms".format((time.monotonic() - started) * 1000))
        self.assertGreater(b.state()["stats"].get("noticed_depsgraph", 0), noticed)
        # The script: both Blenders show its value.
        revision = self.get()["revision"]
        self.client.call(
            "gn.set",
            dict(
                channel=CHANNEL,
                key=key("Cube Size"),
                type="float",
                value=0.25,
                baseRevision=revision,
                clientName="script:test",
            ),
        )
        for peer in (a, b):
            what = "{} to show the script's Cube Size".format(peer.name)
            peer.wait_values(what, Count=5, Spacing=1.5, Cube_Size=0.25)
        # Nothing was echoed back: one revision per edit (A's Count, B's Spacing, the script's Cube Size).
        time.sleep(0.3)
        self.assertEqual(self.settled(a, b), 4)
        snap = self.get()
        self.assertEqual(snap["values"], {"Count": 5, "Spacing": 1.5, "Cube Size": 0.25})
        self.assertEqual(snap["by"]["Cube Size"], "script:test")
        self.assertEqual(snap["by"]["Spacing"], b.state()["clientName"])

    # -- 2 ---------------------------------------------------------------------------------------------------------

    def test_2_two_writers_racing_on_one_input(self):
        a, b = self.a, self.b
        base = self.settled(a, b)
        # Neither drains (a main thread busy elsewhere), so each sends its edit without having seen the other's.
        for peer in (a, b):
            peer.call("hold")
        a.call("set", input="Count", value=7, via="ui")
        b.call("set", input="Count", value=9, via="ui")
        for peer in (a, b):
            peer.call("release")
        wait_until("one write to win", lambda: self.get()["revision"] == base + 1)
        won = self.get()["values"]["Count"]
        self.assertIn(won, (7, 9))
        winner, loser = (a, b) if won == 7 else (b, a)
        lost = 9 if won == 7 else 7
        for peer in (a, b):
            peer.wait_values("{} to end with the winner's Count".format(peer.name), Count=won)
        self.settled(a, b)
        self.assertEqual(self.get()["revision"], base + 1, "the losing write was not applied, and nothing echoed")
        self.assertEqual(winner.state()["conflicts"], [])
        conflicts = loser.state()["conflicts"]
        self.assertEqual(len(conflicts), 1, conflicts)
        self.assertEqual((conflicts[0]["input"], conflicts[0]["mine"], conflicts[0]["theirs"]), ("Count", lost, won))
        self.assertEqual(conflicts[0]["changedBy"], winner.state()["clientName"])
        alerts = loser.state()["alerts"]
        self.assertTrue(any(t.startswith("WARN: Count of Grid > GeometryNodes was changed by") for t in alerts), alerts)
        # Push Mine: the loser's value, on top of the latest revision, becomes everyone's.
        loser.call("push_mine", input="Count")
        for peer in (a, b):
            peer.wait_values("{} to show the pushed Count".format(peer.name), Count=lost)
        self.assertEqual(self.settled(a, b), base + 2)
        self.assertEqual(self.get()["values"]["Count"], lost)
        self.assertEqual(loser.state()["conflicts"], [])

    # -- 3 ---------------------------------------------------------------------------------------------------------

    def test_3_a_killed_sidecar_loses_no_acknowledged_write_and_clients_resync(self):
        a, b = self.a, self.b
        a.call("set", input="Count", value=6, via="python")
        wait_until("A's write to be acknowledged", lambda: self.get()["values"]["Count"] == 6)
        revision = self.settled(a, b)
        revision = self.client.call(
            "gn.set",
            dict(
                channel=CHANNEL,
                key=key("Spacing"),
                type="float",
                value=2.0,
                baseRevision=revision,
                clientName="script:test",
            ),
        )["revision"]
        acknowledged = self.get()
        b.wait_values("B to show the script's Spacing", Spacing=2.0)

        self.sidecar.send_signal(signal.SIGKILL)
        self.sidecar.wait(10)
        for peer in (a, b):
            wait_until("{} to notice the drop".format(peer.name), lambda: peer.state()["connection"] != "connected")
        # An edit made while the sidecar is down waits for it.
        b.call("set", input="Cube Size", value=0.75, via="python")
        wait_until("B to hold its edit", lambda: b.channel().get("unsent") == 1)

        self.start_sidecar()
        wait_until("the script's client to reconnect", lambda: self.client.connected, 30)
        arrived = lambda: _with(self.get(), lambda s: s["values"].get("Cube Size") == 0.75)  # noqa: E731
        after = wait_until("B's edit to arrive", arrived)
        self.assertEqual(after["epoch"], acknowledged["epoch"], "the same history, restored from the journal")
        self.assertEqual(after["revision"], revision + 1)
        for name, value in acknowledged["values"].items():
            if name != "Cube Size":
                self.assertEqual(after["values"][name], value, "{} kept its acknowledged value".format(name))
        self.assertEqual(after["values"]["Count"], 6)
        self.assertEqual(after["values"]["Spacing"], 2.0)
        a.wait_values("A to resync", Count=6, Spacing=2.0, Cube_Size=0.75)
        self.assertEqual(self.settled(a, b), revision + 1)
        for peer in (a, b):
            self.assertEqual(peer.state()["conflicts"], [])

    # -- 4 ---------------------------------------------------------------------------------------------------------

    def test_4_the_python_example_of_the_docs(self):
        a = self.a
        code = python_example()
        script = os.path.join(self.tmp, "example.py")
        with open(script, "w") as f:
            f.write(code)
        a.call("sync", channel="default")  # the example drives the default channel
        wait_until("A to follow the default channel", lambda: (a.state()["channels"].get("default") or {}).get("live"))
        held = wait_until("A's Count on the default channel", lambda: _count(self.get("default")))
        env = dict(os.environ, BLENDER_SIDECAR_STATE_DIR=self.state_dir, PYTHONDONTWRITEBYTECODE="1")
        r = subprocess.run(
            [sys.executable, script], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60
        )
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, out)
        self.assertIn("conflict: script:example set Count to {}".format(held["value"] + 1), out)
        self.assertIn("kept theirs: Count is {}".format(held["value"] + 1), out)
        a.wait_values("A to show the example's Count", Count=held["value"] + 1)
        count = _count(self.get("default"))
        self.assertEqual((count["value"], count["changedBy"]), (held["value"] + 1, "script:example"))


def python_example():
    """The first ```python block of docs/gn-sync.md."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    found = re.search(r"```python\n(.*?)```", text, re.S)
    if not found:
        raise AssertionError("docs/gn-sync.md has no python example")
    return found.group(1)


def _count(snapshot):
    return next((e for e in snapshot["entries"] if e["key"]["input"] == "Count"), None)


def _with(value, check):
    return value if check(value) else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--blender", default=OPTIONS.blender)
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    OPTIONS.blender = args.blender
    suite = unittest.TestLoader().loadTestsFromTestCase(SyncTest)
    if args.names:
        suite = unittest.TestSuite([t for t in suite if any(n in t.id() for n in args.names)])
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, failfast=True).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
