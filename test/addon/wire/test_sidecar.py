"""SidecarClient against the real sidecar: `node dist/blender-sidecar.mjs serve`, found through its sidecar.json.

Needs Node and a built bundle (`npm run build`). Each sidecar gets its own temporary state folder.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "addon"))

from blender_sidecar import platform as host  # noqa: E402
from blender_sidecar.wire import (  # noqa: E402
    CallTimeout,
    ConnectionClosed,
    HandshakeError,
    RpcError,
    SidecarClient,
    SidecarNotFound,
    read_discovery,
)
from blender_sidecar.wire.client import READER_THREAD_NAME  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from polling import until  # noqa: E402

BUNDLE = os.path.join(ROOT, "dist", "blender-sidecar.mjs")
NODE = os.environ.get("NODE") or shutil.which("node") or "node"


class Sidecar(object):
    """A sidecar process with its own state folder; `stop()` ends it, `kill()` leaves a stale sidecar.json."""

    def __init__(self, state_dir, port=0):
        if not os.path.exists(BUNDLE):
            raise RuntimeError("{} is missing: run `npm run build` first".format(BUNDLE))
        self.state_dir = state_dir
        self.log_path = os.path.join(state_dir, "serve-output.txt")
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [NODE, BUNDLE, "serve", "--state-dir", state_dir, "--port", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        self.info = self._wait_for_discovery()

    def _wait_for_discovery(self, timeout=20.0):
        def written():
            if self.proc.poll() is not None:
                raise RuntimeError("the sidecar exited with {}: {}".format(self.proc.returncode, self.output()))
            try:
                info = read_discovery(self.state_dir)
            except SidecarNotFound:
                return None
            return info if info.pid == self.proc.pid else None

        try:
            return until(written, timeout, "the sidecar to write sidecar.json", 0.02)
        except AssertionError:
            self.kill()
            raise RuntimeError("the sidecar wrote no sidecar.json within {} s: {}".format(timeout, self.output()))

    @property
    def url(self):
        return self.info.endpoint.url

    def output(self):
        with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
            return f.read()[-2000:]

    def signal(self, sig):
        self.proc.send_signal(sig)

    def suspend(self, suspended=True):
        """Freezes (or thaws) the sidecar: the socket stays open, nothing answers (a hung sidecar)."""
        host.set_suspended(self.proc.pid, suspended)

    def stop(self):
        if self.proc.poll() is None:
            self.suspend(False)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)


def free_port_other_than(port):
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            candidate = s.getsockname()[1]
        if candidate != port:
            return candidate


class Recorder(object):
    """Collects what a callback receives, from whichever thread, and waits for it."""

    def __init__(self):
        self.items = []
        self._cond = threading.Condition()

    def __call__(self, *args):
        with self._cond:
            self.items.append(args[0] if len(args) == 1 else args)
            self._cond.notify_all()

    def wait_for(self, predicate, timeout=10.0):
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self.items), timeout):
                raise AssertionError("timed out waiting; got {!r}".format(self.items))


class SidecarCallsTest(unittest.TestCase):
    """One sidecar and one client for the whole class."""

    @classmethod
    def setUpClass(cls):
        cls.state_dir = tempfile.mkdtemp(prefix="wire-test-")
        cls.sidecar = Sidecar(cls.state_dir)
        cls.client = SidecarClient.connect(state_dir=cls.state_dir)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.sidecar.stop()
        shutil.rmtree(cls.state_dir, ignore_errors=True)

    def test_ping_echoes_json_values(self):
        echo = {"text": "naïve ❄", "n": [1, 2.5, None, True], "nested": {"a": {}}}
        self.assertEqual(self.client.call("sidecar.ping", {"echo": echo}), {"pong": True, "echo": echo})
        self.assertEqual(self.client.call("sidecar.ping"), {"pong": True})

    def test_calls_from_many_threads_each_get_their_own_answer(self):
        wrong = []

        def worker(t):
            for i in range(25):
                echo = "{}-{}".format(t, i)
                if self.client.call("sidecar.ping", {"echo": echo})["echo"] != echo:
                    wrong.append(echo)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(wrong, [])

    def test_carries_messages_over_64_KiB_both_ways(self):
        for size in (70000, 3 * 1024 * 1024):
            echo = "x" * size
            self.assertEqual(len(self.client.call("sidecar.ping", {"echo": echo})["echo"]), size)

    def test_surfaces_invalid_params_as_rpc_error_with_the_fields_in_data(self):
        with self.assertRaises(RpcError) as caught:
            self.client.call("sidecar.ping", {"nope": 1})
        err = caught.exception
        self.assertEqual(err.code, -32602)
        self.assertEqual(err.method, "sidecar.ping")
        self.assertEqual(err.data, {"errors": [{"field": "nope", "message": "unknown field"}]})
        self.assertIn("nope", str(err))

    def test_gn_set_without_a_type_infers_it_for_a_new_entry_and_keeps_it_for_an_existing_one(self):
        key = {"object": "Grid", "modifier": "GeometryNodes", "input": "Count"}
        channel = "python-untyped"
        rev = self.client.call("gn.get", {"channel": channel})["revision"]
        rev = self.client.call("gn.set", {"channel": channel, "key": key, "value": 7, "baseRevision": rev})["revision"]
        rev = self.client.call(
            "gn.set", {"channel": channel, "key": dict(key, input="Spacing"), "value": 1.5, "baseRevision": rev}
        )["revision"]
        rev = self.client.call("gn.set", {"channel": channel, "key": key, "value": 8.0, "baseRevision": rev})[
            "revision"
        ]
        entries = self.client.call("gn.get", {"channel": channel})["entries"]
        self.assertEqual(
            [(e["key"]["input"], e["type"], e["value"]) for e in entries],
            [("Spacing", "float", 1.5), ("Count", "int", 8)],
        )
        with self.assertRaises(RpcError) as caught:
            self.client.call("gn.set", {"channel": channel, "key": key, "value": "eight", "baseRevision": rev})
        self.assertEqual(caught.exception.code, -32602)
        self.assertIn("which holds int values", str(caught.exception))
        with self.assertRaises(RpcError) as caught:
            self.client.call(
                "gn.set", {"channel": channel, "key": dict(key, input="Target"), "value": None, "baseRevision": rev}
            )
        self.assertIn('give "type" with it', str(caught.exception))

    def test_surfaces_an_unknown_method_as_32601(self):
        with self.assertRaises(RpcError) as caught:
            self.client.call("no.such.method")
        self.assertEqual(caught.exception.code, -32601)

    def test_refuses_positional_params_before_sending(self):
        with self.assertRaises(TypeError):
            self.client.call("sidecar.ping", [1])
        self.assertEqual(self.client.call("sidecar.ping"), {"pong": True})

    def test_subscribe_and_unsubscribe_answer_with_the_topics_now_subscribed(self):
        self.assertEqual(self.client.subscribe(["sidecar.shutdown"]), ["sidecar.shutdown"])
        self.assertEqual(self.client.subscribe(["sidecar.shutdown"]), ["sidecar.shutdown"])
        self.assertEqual(self.client.unsubscribe(["sidecar.shutdown"]), [])
        self.assertEqual(self.client.unsubscribe(), [])

    def test_an_unknown_topic_is_refused_with_the_accepted_ones_named(self):
        with self.assertRaises(RpcError) as caught:
            self.client.subscribe(["no.such.topic"])
        self.assertEqual(caught.exception.code, -32602)
        self.assertIn("no.such.topic", caught.exception.message)
        self.assertIn("sidecar.shutdown", caught.exception.message)
        self.assertEqual(caught.exception.data["errors"][0]["field"], "topics")

    def test_call_async_calls_back_once_on_the_reader_thread(self):
        got = Recorder()

        def callback(result, error):
            got((result, error, threading.current_thread().name))

        self.client.call_async("sidecar.ping", {"echo": 1}, callback)
        self.client.call_async("no.such.method", None, callback)
        got.wait_for(lambda items: len(items) == 2)
        time.sleep(0.05)
        self.assertEqual(len(got.items), 2)
        (result, error, thread), (result2, error2, thread2) = sorted(got.items, key=lambda item: item[1] is not None)
        self.assertEqual((result, error, thread), ({"pong": True, "echo": 1}, None, READER_THREAD_NAME))
        self.assertIsNone(result2)
        self.assertIsInstance(error2, RpcError)
        self.assertEqual(error2.code, -32601)
        self.assertEqual(thread2, READER_THREAD_NAME)

    def test_a_blocking_call_on_the_reader_thread_is_refused_not_deadlocked(self):
        got = Recorder()

        def callback(result, error):
            try:
                self.client.call("sidecar.ping", timeout=1)
                got("called")
            except RuntimeError as err:
                got(err)

        self.client.call_async("sidecar.ping", None, callback)
        got.wait_for(lambda items: items)
        self.assertIsInstance(got.items[0], RuntimeError)
        self.assertIn("call_async", str(got.items[0]))

    def test_rpc_discover_describes_the_methods(self):
        doc = self.client.call("rpc.discover")
        self.assertIn("sidecar.ping", [m["name"] for m in doc["methods"]])

    def test_a_call_times_out_while_the_sidecar_is_stopped_and_the_late_answer_is_dropped(self):
        self.sidecar.suspend()
        try:
            started = time.monotonic()
            with self.assertRaises(CallTimeout) as caught:
                self.client.call("sidecar.ping", {"echo": "late"}, timeout=0.3)
            self.assertLess(time.monotonic() - started, 2)
            self.assertEqual(caught.exception.method, "sidecar.ping")
        finally:
            self.sidecar.suspend(False)
        self.assertEqual(self.client.call("sidecar.ping", {"echo": "next"}), {"pong": True, "echo": "next"})

    def test_a_message_over_the_sidecars_limit_closes_that_connection_with_1009(self):
        client = SidecarClient.connect(state_dir=self.state_dir)
        try:
            with self.assertRaises(ConnectionClosed) as caught:
                client.call("sidecar.ping", {"echo": "x" * (16 * 1024 * 1024 + 1)}, timeout=10)
            self.assertEqual(caught.exception.code, 1009)
            with self.assertRaises(ConnectionClosed):
                client.call("sidecar.ping")
        finally:
            client.close()
        self.assertEqual(self.client.call("sidecar.ping"), {"pong": True})

    def test_a_wrong_token_is_refused_with_the_sidecars_reason(self):
        with self.assertRaises(HandshakeError) as caught:
            SidecarClient.connect(url=self.sidecar.url, token="not-the-token-at-all")
        self.assertEqual(caught.exception.status, 401)
        self.assertIn("the token is wrong", str(caught.exception))


class FindingTheSidecarTest(unittest.TestCase):
    def setUp(self):
        self.state_dir = tempfile.mkdtemp(prefix="wire-test-")

    def tearDown(self):
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def test_an_empty_state_folder_means_no_sidecar(self):
        with self.assertRaises(SidecarNotFound) as caught:
            SidecarClient.connect(state_dir=self.state_dir)
        self.assertIn("no sidecar is running", str(caught.exception))

    def test_a_discovery_file_left_by_a_dead_process_is_stale(self):
        # Not sys.executable: inside Blender that may be Blender itself.
        dead = subprocess.Popen([NODE, "-e", ""])
        dead.wait()
        with open(os.path.join(self.state_dir, "sidecar.json"), "w") as f:
            f.write(
                '{"port": 9, "pid": %d, "token": "0123456789abcdef0123", "version": "0", "startedAt": "x"}' % dead.pid
            )
        with self.assertRaises(SidecarNotFound) as caught:
            SidecarClient.connect(state_dir=self.state_dir)
        self.assertIn("no longer running", str(caught.exception))

    def test_a_url_needs_a_token(self):
        with self.assertRaises(SidecarNotFound):
            SidecarClient.connect(url="ws://127.0.0.1:9/rpc")


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.state_dir = tempfile.mkdtemp(prefix="wire-test-")
        self.sidecars = []

    def tearDown(self):
        for s in self.sidecars:
            s.stop()
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def start(self, port=0):
        sidecar = Sidecar(self.state_dir, port)
        self.sidecars.append(sidecar)
        return sidecar

    def test_close_is_prompt_and_leaves_no_thread_behind(self):
        sidecar = self.start()
        before = set(threading.enumerate())
        client = SidecarClient.connect(state_dir=self.state_dir)
        client.call("sidecar.ping")
        self.assertEqual(len(set(threading.enumerate()) - before), 1)
        started = time.monotonic()
        client.close()
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertEqual(set(threading.enumerate()) - before, set())
        with self.assertRaises(ConnectionClosed) as caught:
            client.call("sidecar.ping")
        self.assertIn("closed", str(caught.exception))

        # Without reconnect, a sidecar that stops says so, then the client reports "closed" and stays closed.
        client = SidecarClient.connect(state_dir=self.state_dir)
        shutdowns, states = Recorder(), Recorder()
        client.on("sidecar.shutdown", shutdowns)
        client.on_connection(states)
        client.subscribe(["sidecar.shutdown"])
        sidecar.signal(signal.SIGTERM)
        shutdowns.wait_for(lambda items: items)
        states.wait_for(lambda items: items == ["closed"])
        self.assertEqual(shutdowns.items, [{"reason": "SIGTERM"}])
        with self.assertRaises(ConnectionClosed):
            client.call("sidecar.ping")
        until(lambda: set(threading.enumerate()) - before == set(), 2, "the reader thread to end after the drop", 0.01)
        client.close()

    def test_reconnects_to_a_restarted_sidecar_and_renews_subscriptions(self):
        first = self.start()
        before = set(threading.enumerate())
        client = SidecarClient.connect(state_dir=self.state_dir, reconnect=True)
        states, shutdowns, answers = Recorder(), Recorder(), Recorder()
        client.on_connection(states)
        client.on("sidecar.shutdown", shutdowns)
        self.assertEqual(client.subscribe(["sidecar.shutdown"]), ["sidecar.shutdown"])
        old_url = client.url

        # A call in flight when the sidecar dies fails with ConnectionClosed.
        first.suspend()
        client.call_async("sidecar.ping", None, answers)
        time.sleep(0.1)
        first.kill()  # no clean exit: sidecar.json is left behind, stale
        answers.wait_for(lambda items: items)
        result, error = answers.items[0]
        self.assertIsNone(result)
        self.assertIsInstance(error, ConnectionClosed)
        states.wait_for(lambda items: items == ["closed"])
        with self.assertRaises(ConnectionClosed):
            client.call("sidecar.ping")

        second = self.start(free_port_other_than(first.info.port))
        self.assertNotEqual(second.info.token, first.info.token)
        states.wait_for(lambda items: items == ["closed", "open"], timeout=15)
        self.assertNotEqual(client.url, old_url)
        self.assertEqual(client.url, second.url)
        self.assertEqual(client.call("sidecar.ping", {"echo": "again"}), {"pong": True, "echo": "again"})

        # The renewed subscription delivers: the second sidecar's shutdown notice arrives.
        second.signal(signal.SIGTERM)
        shutdowns.wait_for(lambda items: items)
        self.assertEqual(shutdowns.items, [{"reason": "SIGTERM"}])
        states.wait_for(lambda items: items == ["closed", "open", "closed"])

        # Closing while it waits to retry is prompt and ends the reader thread.
        time.sleep(0.3)
        started = time.monotonic()
        client.close()
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertEqual(set(threading.enumerate()) - before, set())


if __name__ == "__main__":
    unittest.main()
