"""The add-on's side of the sidecar: finding or starting it, one `SidecarClient` to it, reconnecting, and the queue of
messages for Blender's main thread. No bpy: Blender-specific values come in as `LaunchSettings`.

Threads, and who calls what:
- Blender's main thread calls `connect`, `disconnect`, `stop_sidecar` (they only post a command and return),
  `call` (sends at once, never waits for the answer) and, from unregister, `shutdown` (joins everything).
- One manager thread ("blender-sidecar-manager", started on the first command) does whatever can take time:
  reading sidecar.json, starting the sidecar and waiting until it listens, opening the connection, stopping the
  sidecar, and every half second checking that a dropped sidecar comes back (restarting the one it may start).
- The client's reader thread ("blender-sidecar-wire") runs notification handlers and call callbacks; they only put
  messages on `messages`.
Nothing here touches bpy; the main thread drains `messages` on a timer (timer.py).

Who closes what: `shutdown()` closes the client (its reader thread ends) and ends the manager thread. The sidecar
process is left running: other clients and running jobs may need it, and it stops by itself when Blender exits
(--parent-pid). `stop_sidecar()` is what stops it.
"""

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass

from . import launcher
from . import platform as host
from .errors import SidecarError
from .messages import MsgAlert, MsgCallResult, MsgConnection, MsgInfo, MsgJobs, MsgJobState, MsgProgress, MsgWorkers
from .wire import (
    ConnectionClosed,
    RpcError,
    SidecarClient,
    SidecarNotFound,
    WireError,
    default_state_dir,
    read_discovery,
)

log = logging.getLogger(__name__)

MANAGER_THREAD_NAME = "blender-sidecar-manager"
TOPICS = ("job.state", "job.progress", "worker.stats")
OPTIONAL_TOPICS = ("alert",)  # the sidecar's own alerts (disk nearly full, ...), where it has them
CONSOLE_LOG = "sidecar-console.log"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
MAX_RESTARTS_PER_MINUTE = 3
JOBS_ON_CONNECT = 30


@dataclass
class LaunchSettings:
    """Everything the manager needs from Blender and the preferences to find or start a sidecar."""

    blender: str  # bpy.app.binary_path: workers run the same Blender
    parent_pid: int  # Blender's pid: the sidecar finishes its jobs after it exits, then stops (see stop_with_blender)
    addon_dir: str
    state_dir: str = ""  # "" = the sidecar's default ($XDG_STATE_HOME/blender-sidecar, ...)
    node: str = ""  # "" = node on PATH or in a usual place
    sidecar: str = ""  # "" = the bundled one
    port: int = 0  # 0 = any free port
    instances: int = 0  # 0 = the sidecar decides (auto)
    start: bool = True  # start one when none is running (and restart it when it dies)
    stop_with_blender: bool = False  # stop background jobs when Blender closes, instead of finishing them

    @property
    def resolved_state_dir(self):
        return os.path.abspath(os.path.expanduser(self.state_dir)) if self.state_dir else default_state_dir()


def describe_error(error):
    """One sentence for an error a call ended with."""
    if isinstance(error, RpcError):
        text = error.message.rstrip(".")
        errors = (error.data or {}).get("errors") if isinstance(error.data, dict) else None
        if errors:
            details = "; ".join("{}: {}".format(e.get("field", "?"), e.get("message", "")) for e in errors[:4])
            if details not in text:
                text = "{} ({})".format(text, details)
        return "The sidecar refused {}: {}.".format(error.method or "the call", text)
    if isinstance(error, ConnectionClosed):
        return "The connection to the sidecar dropped before it answered; it is being reopened."
    return str(error)


class Connection(object):
    """The add-on's one connection to the sidecar. See the module's docstring for threads and ownership."""

    def __init__(self):
        self.messages = queue.Queue()
        self._commands = queue.Queue()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._client = None
        self._settings = None
        self._want = False  # the user wants to be connected (reconnect, restart)
        self._process = None  # the sidecar this add-on started, if any
        self._pid = None  # the pid of the sidecar we talk to
        self._state = "disconnected"
        self._restarts = []
        self._gone_reported = False
        self._exit_code = None

    # -- the main thread's side: none of these waits ------------------------------------------------------------

    @property
    def state(self):
        return self._state

    @property
    def connected(self):
        client = self._client
        return client is not None and client.connected

    @property
    def pid(self):
        return self._pid

    @property
    def console_log(self):
        settings = self._settings
        return os.path.join(settings.resolved_state_dir, CONSOLE_LOG) if settings else None

    def connect(self, settings):
        """Connects to the sidecar running in the settings' state folder, or starts one (if `settings.start`)."""
        self._command("connect", settings)

    def disconnect(self):
        """Closes the connection; the sidecar keeps running."""
        self._command("disconnect")

    def stop_sidecar(self):
        """Closes the connection and stops the sidecar we are (or were last) connected to."""
        self._command("stop")

    def require_connected(self):
        """Raises SidecarError, saying why in one sentence, unless connected."""
        if not self.connected:
            raise SidecarError(self._not_connected())

    def call(self, method, params=None, context=None, reply=None):
        """Sends a call and returns at once; its answer arrives as a MsgCallResult carrying `context`, or as the
        message `reply(result, error)` makes (called on the reader thread; sync/ uses its own messages).

        Raises SidecarError when not connected (nothing is sent then).
        """
        client = self._client
        if client is None or not client.connected:
            raise SidecarError(self._not_connected())
        context = dict(context or {})

        def answered(result, error):
            if reply is not None:
                self.messages.put(reply(result, error))
            elif error is None:
                self.messages.put(MsgCallResult(method, result, None, None, context))
            else:
                self.messages.put(
                    MsgCallResult(method, None, describe_error(error), getattr(error, "data", None), context)
                )

        try:
            client.call_async(method, params, answered)
        except ConnectionClosed:
            raise SidecarError(
                "The connection to the sidecar dropped just now and is being reopened: try again in a moment."
            )

    def shutdown(self, timeout=3.0):
        """Ends the manager thread and closes the client, waiting at most about `timeout` seconds (unregister)."""
        self._stop.set()
        self._want = False
        thread = self._thread
        if thread is not None:
            self._commands.put(("shutdown", None))
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the sidecar manager thread is still busy; it ends when its current step does")
        self._close_client()

    def _command(self, name, arg=None):
        if self._stop.is_set():
            raise SidecarError("The add-on is being disabled.")
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=MANAGER_THREAD_NAME, daemon=True)
                self._thread.start()
        self._commands.put((name, arg))

    def _not_connected(self):
        if self._state in ("connecting", "starting"):
            return "The sidecar is still starting: try again in a moment."
        if self._state == "reconnecting":
            return "The sidecar is not reachable right now (reconnecting): try again in a moment."
        return "Not connected to the sidecar: press Start in the Sidecar panel."

    # -- the manager thread -------------------------------------------------------------------------------------

    def _run(self):
        while not self._stop.is_set():
            try:
                name, arg = self._commands.get(timeout=0.5)
            except queue.Empty:
                name, arg = None, None
            if name == "shutdown" or self._stop.is_set():
                break
            try:
                if name == "connect":
                    self._do_connect(arg)
                elif name == "disconnect":
                    self._do_disconnect()
                elif name == "stop":
                    self._do_stop()
                self._supervise()
            except SidecarError as err:
                self._want = False
                self._close_client()
                self._post("failed", str(err), alert="ERROR")
            except Exception as err:  # a bug: keep the thread alive and say so
                log.exception("the sidecar manager failed")
                self._want = False
                self._close_client()
                self._post("failed", "Unexpected error in the add-on ({}): see the console.".format(err), alert="ERROR")

    def _post(self, state, message, url="", pid=0, alert=None):
        self._state = state
        self.messages.put(MsgConnection(state, message, url, pid or (self._pid or 0), alert))

    def _do_connect(self, settings):
        self._settings = settings
        self._want = True
        self._restarts = []
        if self.connected:
            self._post("connected", "Connected to the sidecar at {}.".format(self._client.url), self._client.url)
            return
        self._close_client()
        state_dir = settings.resolved_state_dir
        self._post("connecting", "Looking for a running sidecar in {}.".format(state_dir))
        try:
            found = read_discovery(state_dir)
        except SidecarNotFound:
            if not settings.start:
                raise SidecarError(
                    "No sidecar is running in {}: press Start in the Sidecar panel, or turn on Start Automatically in "
                    "the add-on's preferences.".format(state_dir)
                )
            found = self._launch(settings)
            if found is None:
                return
        self._open_client(settings, found)

    def _launch(self, settings):
        """Starts the sidecar and waits until its sidecar.json names it; returns that Discovery (None if shut down)."""
        program = launcher.find_sidecar(settings.sidecar, settings.addon_dir)
        node = None
        if program.needs_node:
            node = launcher.find_node(settings.node)
            launcher.check_node(node)
        state_dir = settings.resolved_state_dir
        cmd = launcher.serve_command(
            program,
            node,
            state_dir,
            settings.port,
            settings.blender,
            settings.parent_pid,
            settings.instances,
            stop_with_parent=settings.stop_with_blender,
        )
        log_path = os.path.join(state_dir, CONSOLE_LOG)
        self._post("starting", "Starting the sidecar ({}).".format(program.path))
        try:
            start_offset = os.path.getsize(log_path)
        except OSError:
            start_offset = 0
        try:
            proc = launcher.start_process(cmd, log_path)
        except OSError as err:
            raise SidecarError("Cannot start the sidecar ({}): {}.".format(cmd[0], err.strerror or err))
        self._process = proc
        deadline = time.monotonic() + START_TIMEOUT
        while not self._stop.is_set():
            code = proc.poll()
            if code is not None:
                output = launcher.read_log(log_path, start_offset)
                if "holds the state folder" not in output:
                    raise SidecarError(launcher.explain_exit(code, output, settings.port))
                # Another Blender started one at the same moment and took the folder: use that one.
                self._process = None
                return self._wait_for_other(state_dir, deadline, output, code, settings.port)
            try:
                found = read_discovery(state_dir)
                if found.pid == proc.pid:
                    self.messages.put(
                        MsgAlert(
                            "INFO",
                            "Started the sidecar (pid {}); its console output is in {}.".format(proc.pid, log_path),
                        )
                    )
                    return found
            except SidecarNotFound:
                pass
            if time.monotonic() > deadline:
                proc.terminate()
                raise SidecarError("The sidecar did not start within {:g} s: see {}.".format(START_TIMEOUT, log_path))
            self._stop.wait(0.05)
        return None

    def _wait_for_other(self, state_dir, deadline, output, code, port):
        """The Discovery of the sidecar that holds the folder, once it is listening (None if shut down)."""
        while not self._stop.is_set():
            try:
                return read_discovery(state_dir)
            except SidecarNotFound:
                pass
            if time.monotonic() > deadline:
                raise SidecarError(launcher.explain_exit(code, output, port))
            self._stop.wait(0.05)
        return None

    def _open_client(self, settings, found):
        state_dir = settings.resolved_state_dir
        try:
            client = SidecarClient.connect(state_dir=state_dir, reconnect=True, timeout=5.0)
        except WireError as err:
            raise SidecarError("Cannot connect to the sidecar at {}: {}".format(found.endpoint.url, err))
        put = self.messages.put
        client.on("job.state", lambda p: put(MsgJobState(p)))
        client.on("job.progress", lambda p: put(MsgProgress(p)))
        client.on("worker.stats", lambda p: put(MsgWorkers(p.get("workers") or [])))
        client.on(
            "sidecar.shutdown",
            lambda p: put(MsgAlert("WARN", "The sidecar is stopping ({}).".format(p.get("reason", "no reason given")))),
        )
        client.on_connection(self._on_wire)
        client.on("alert", lambda p: put(_sidecar_alert(p)))
        for method, to_message in list(_ROUTES.items()):
            client.on(method, lambda p, to_message=to_message: put(to_message(p)))
        try:
            client.subscribe(TOPICS, timeout=10.0)
        except WireError as err:
            client.close()
            raise SidecarError(
                "The sidecar at {} accepted the connection but not the subscription: {}".format(client.url, err)
            )
        try:
            client.subscribe(OPTIONAL_TOPICS, timeout=10.0)
        except RpcError:
            pass  # an older sidecar without them
        except WireError as err:
            client.close()
            raise SidecarError("The sidecar at {} dropped the connection while subscribing: {}".format(client.url, err))
        with self._lock:
            self._client = client
            self._pid = found.pid
        self._gone_reported = False
        self._exit_code = None
        self._post(
            "connected", "Connected to the sidecar at {}.".format(client.url), client.url, found.pid, alert="INFO"
        )
        self._refresh(client)

    def _refresh(self, client):
        """Asks for what the panel shows (answers arrive on the reader thread and go on the queue)."""
        put = self.messages.put

        def info(result, error):
            if error is None:
                put(MsgInfo(result))

        def jobs(result, error):
            if error is None:
                put(MsgJobs(result.get("jobs") or []))

        def workers(result, error):
            if error is None:
                put(MsgWorkers(result.get("workers") or [], result.get("size")))

        def alerts(result, error):
            if error is None:  # an older sidecar has no alert.list
                for alert in reversed(result.get("alerts") or []):
                    put(_sidecar_alert(alert))

        try:
            client.call_async("sidecar.info", None, info)
            client.call_async("job.list", {"limit": JOBS_ON_CONNECT}, jobs)
            client.call_async("worker.list", None, workers)
            client.call_async("alert.list", {}, alerts)
        except ConnectionClosed:
            pass

    def _on_wire(self, what):
        """The client's connection dropped ("closed") or came back ("open"); runs on the reader thread."""
        client = self._client
        if client is None or not self._want:
            return
        if what == "closed":
            self._post("reconnecting", "Lost the connection to the sidecar; reconnecting.", alert="WARN")
            self._commands.put(("check", None))
            return
        try:
            self._pid = read_discovery(self._settings.resolved_state_dir).pid
        except (SidecarNotFound, AttributeError):
            pass
        self._post("connected", "Reconnected to the sidecar at {}.".format(client.url), client.url, alert="INFO")
        self._refresh(client)

    def _supervise(self):
        """A dropped connection whose sidecar is gone: report it, and start a new one when allowed."""
        settings, client = self._settings, self._client
        if not self._want or settings is None or client is None or client.connected:
            return
        proc = self._process
        if proc is not None and proc.pid == self._pid:
            code = proc.poll()
        else:
            code = _reap(self._pid)
        if code is not None:
            self._exit_code = code
        try:
            read_discovery(settings.resolved_state_dir)
            return  # a sidecar is running: the client reconnects to it by itself
        except SidecarNotFound:
            pass
        if self._exit_code is None:
            # Gone from sidecar.json's view, but the kill may not have landed yet: its exit code is a moment away, and
            # "stopped unexpectedly (exit code -9)" says more than "no longer running" (this is the manager thread).
            self._exit_code = _wait_exit(self._pid, proc if proc is not None and proc.pid == self._pid else None, 1.0)
        if not self._gone_reported:
            self._gone_reported = True
            if self._exit_code is not None:
                why = "The sidecar stopped unexpectedly (exit code {})".format(self._exit_code)
            else:
                why = "The sidecar (pid {}) is no longer running".format(self._pid)
            if settings.start:
                self.messages.put(MsgAlert("ERROR", why + "; starting it again."))
            else:
                self._post("reconnecting", why + ": press Start in the Sidecar panel to start one.", alert="ERROR")
        if not settings.start:
            return
        now = time.monotonic()
        self._restarts = [t for t in self._restarts if now - t < 60.0]
        if len(self._restarts) >= MAX_RESTARTS_PER_MINUTE:
            raise SidecarError(
                "The sidecar stopped {} times within a minute: see {}; press Start to try again.".format(
                    MAX_RESTARTS_PER_MINUTE, self.console_log
                )
            )
        self._restarts.append(now)
        found = self._launch(settings)
        if found is None:
            return
        self._close_client()
        self._open_client(settings, found)

    def _do_disconnect(self):
        self._want = False
        self._close_client()
        self._post("disconnected", "Disconnected; the sidecar keeps running.")

    def _do_stop(self):
        self._want = False
        self._close_client()
        pid = self._pid
        if pid is None and self._settings is not None:
            try:
                pid = read_discovery(self._settings.resolved_state_dir).pid
            except SidecarNotFound:
                pid = None
        if pid is None or not host.is_process_alive(pid):
            self._post("disconnected", "No sidecar was running.")
            return
        self._post("stopping", "Stopping the sidecar (pid {}).".format(pid))
        _terminate(pid)
        proc = self._process
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and not self._stop.is_set():
            if proc is not None and proc.pid == pid:
                if proc.poll() is not None:
                    break
            elif _reap(pid) is not None or not host.is_process_alive(pid):
                break
            time.sleep(0.05)
        else:
            if not self._stop.is_set():
                _kill(pid)
                self.messages.put(
                    MsgAlert("WARN", "The sidecar did not stop within {:g} s; it was killed.".format(STOP_TIMEOUT))
                )
        self._pid = None
        self._post("disconnected", "The sidecar was stopped.", alert="INFO")

    def _close_client(self):
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close(timeout=2.0)


def _sidecar_alert(alert):
    """A MsgAlert for one of the sidecar's `alert` objects (what, where, action; resolvedAt once it is over)."""
    what = str(alert.get("what", "")).rstrip(".")
    where = str(alert.get("where", ""))
    action = str(alert.get("action", "")).rstrip(".")
    text = "{} ({})".format(what, where) if where else what
    if action:
        text += ": " + action[0].lower() + action[1:]
    count = alert.get("count") or 1
    if count > 1:
        text += " ({} times)".format(count)
    return MsgAlert(
        str(alert.get("level", "INFO")), text + ".", str(alert.get("key", "")), bool(alert.get("resolvedAt"))
    )


def _wait_exit(pid, proc, timeout):
    """The exit code of our sidecar `pid` once it has ended (waiting up to `timeout` s), or None if it has not or it
    is not our child."""
    deadline = time.monotonic() + timeout
    while True:
        code = proc.poll() if proc is not None else _reap(pid)
        if code is not None or time.monotonic() >= deadline:
            return code
        time.sleep(0.05)


def _reap(pid):
    """Waits for `pid` if it is a dead child of this Blender. A sidecar started by this add-on (also by its previous
    Connection, before the add-on was last re-enabled) that died stays a zombie until waited for, and a zombie's pid
    still counts as alive in sidecar.json's check. Returns its exit code (negative: the signal) when it was
    reaped now, else None."""
    return host.reap_child(pid)


def _terminate(pid):
    host.end_process(pid)  # on Windows this is TerminateProcess: see docs/addon.md


def _kill(pid):
    host.end_process(pid, hard=True)


# -- notifications other parts of the add-on follow ---------------------------------------------------------------

# method -> to_message(params): sync/ adds gn.changed (sent to a connection after gn.subscribe, not events.subscribe).
_ROUTES = {}


def route_notification(method, to_message):
    """Puts `to_message(params)` on the queue for each `method` notification, on every connection opened from now on."""
    _ROUTES[method] = to_message


def unroute_notification(method):
    _ROUTES.pop(method, None)


# -- the one Connection while the add-on is enabled ----------------------------------------------------------------

_service = None


def get():
    """The add-on's Connection (None while the add-on is disabled)."""
    return _service


def start_service():
    global _service
    if _service is None:
        _service = Connection()
    return _service


def stop_service(timeout=3.0):
    global _service
    service, _service = _service, None
    if service is not None:
        service.shutdown(timeout)
