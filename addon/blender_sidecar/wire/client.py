"""`SidecarClient`: JSON-RPC 2.0 calls and notifications over one WebSocket to the sidecar.

Threads, and who calls what:
- One daemon thread per client (the reader, named "blender-sidecar-wire") reads every message, completes calls,
  and runs every callback: `call_async` callbacks, `on` handlers and `on_connection` handlers. Keep them short,
  and do not touch bpy there: inside Blender, put what they receive on a `queue.Queue` that a timer on the main
  thread drains. Blocking `call()` from the reader thread raises RuntimeError (it would wait for an answer only
  that thread can read); use `call_async` there.
- `call`, `call_async`, `subscribe`, `unsubscribe`, `on`, `on_connection` and `close` may be called from any thread.
- With `reconnect=True` the reader thread also reopens a dropped connection, with backoff from 0.1 s doubling to
  5 s, reading sidecar.json again before each try (a restarted sidecar has a new port and token) unless a URL was
  given; once connected it renews the subscriptions and then reports "open".

Who closes what: the client owns its WebSocket and its reader thread. `close()` sends a close frame, closes the
socket (which unblocks the reader), and joins the reader, so no thread is left behind. Calls still waiting at a drop
or at `close()` fail with ConnectionClosed; `call_async` callbacks get that error, once.
"""

import itertools
import logging
import threading

from . import jsonrpc
from .discovery import resolve_endpoint
from .errors import CallTimeout, ConnectionClosed, RpcError, WireError
from .websocket import DEFAULT_MAX_MESSAGE_SIZE, WebSocket

log = logging.getLogger(__name__)

FIRST_RETRY_DELAY = 0.1
MAX_RETRY_DELAY = 5.0
READER_THREAD_NAME = "blender-sidecar-wire"


class _Pending(object):
    """A call waiting for its answer: a blocking call waits on `event`; an async one has a `callback`."""

    __slots__ = ("method", "event", "result", "error", "callback")

    def __init__(self, method, callback=None):
        self.method = method
        self.callback = callback
        self.event = None if callback else threading.Event()
        self.result = None
        self.error = None

    def complete(self, result, error):
        if self.callback is None:
            self.result, self.error = result, error
            self.event.set()
            return
        try:
            self.callback(result, error)
        except Exception:
            log.exception("a call_async callback for %s raised", self.method)


class SidecarClient(object):
    """A connection to the sidecar. Create it with `SidecarClient.connect(...)`; close it with `close()` (or `with`)."""

    def __init__(self, endpoint, fixed_url, state_dir, reconnect, timeout, max_message_size):
        """Use `connect()`: it resolves the endpoint and opens the connection."""
        self._endpoint = endpoint
        self._fixed_url = fixed_url
        self._state_dir = state_dir
        self._reconnect = reconnect
        self._timeout = timeout
        self._max_message_size = max_message_size
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending = {}
        self._listeners = {}
        self._connection_listeners = []
        self._topics = []
        self._ws = None
        self._connecting = None
        self._open_reported = False
        self._closed = False
        self._stop = threading.Event()
        self._reader = None

    @classmethod
    def connect(
        cls,
        state_dir=None,
        url=None,
        token=None,
        reconnect=False,
        timeout=5.0,
        max_message_size=DEFAULT_MAX_MESSAGE_SIZE,
    ):
        """Connects to the sidecar at `url` with `token`, or to the one whose sidecar.json is in `state_dir`
        (default: the sidecar's default state folder). `timeout` bounds opening the connection, in seconds.

        Raises SidecarNotFound (no running sidecar) or ConnectionClosed (unreachable; HandshakeError if refused),
        even with `reconnect=True`: reconnecting is for connections that drop later.
        """
        endpoint = resolve_endpoint(state_dir, url, token)
        client = cls(endpoint, url is not None, state_dir, reconnect, timeout, max_message_size)
        ws = client._open_websocket(endpoint)
        client._ws = ws
        client._open_reported = True
        client._reader = threading.Thread(target=client._run, args=(ws,), name=READER_THREAD_NAME, daemon=True)
        client._reader.start()
        return client

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def url(self):
        """The URL of the sidecar this client is (or was last) connected to."""
        return self._endpoint.url

    @property
    def connected(self):
        return self._ws is not None and self._ws.is_open

    # -- calls -------------------------------------------------------------------------------------------------------

    def call(self, method, params=None, timeout=30.0):
        """Calls `method` with named `params` (a dict) and blocks until the answer comes; thread-safe.

        Returns the result. Raises RpcError (the sidecar's error, with code, message and data), ConnectionClosed
        (not connected, or the connection dropped before the answer), or CallTimeout after `timeout` seconds
        (None waits forever). Must not be called on the reader thread: see the module's docstring.
        """
        if threading.current_thread() is self._reader:
            raise RuntimeError(
                "call() cannot wait on the client's reader thread, which is the one that reads the answer; "
                "use call_async() in handlers and callbacks"
            )
        pending = _Pending(method)
        request_id = self._start(method, params, pending)
        if not pending.event.wait(timeout):
            with self._lock:
                mine = self._pending.pop(request_id, None) is not None
            if mine:
                raise CallTimeout(method, timeout)
            pending.event.wait()  # The answer came just now: the reader is completing it.
        if pending.error is not None:
            raise pending.error
        return pending.result

    def call_async(self, method, params=None, callback=None):
        """Sends a call and returns at once; `callback(result, error)` then runs once on the reader thread, with
        error None or an RpcError / ConnectionClosed. Returns the request id.

        Raises ConnectionClosed right away (and never calls back) when the client is not connected.
        """
        pending = _Pending(method, callback or _ignore)
        return self._start(method, params, pending)

    def _start(self, method, params, pending):
        with self._lock:
            request_id = next(self._ids)
        # Encode before registering: bad params raise here, on the caller's thread, with nothing left pending.
        text = jsonrpc.encode_request(request_id, method, params)
        with self._lock:
            ws = self._ws
            if ws is None or self._closed:
                raise self._not_connected(method)
            self._pending[request_id] = pending
        try:
            ws.send_text(text)
        except ConnectionClosed as err:
            with self._lock:
                mine = self._pending.pop(request_id, None) is not None
            if mine:
                raise ConnectionClosed("cannot call {}: {}".format(method, err), err.code, err.reason)
            # The reader failed it at the drop already; the caller learns it from there.
        return request_id

    def _not_connected(self, method):
        if self._closed:
            return ConnectionClosed("cannot call {}: this client was closed".format(method))
        if self._reconnect:
            return ConnectionClosed(
                "cannot call {}: the connection to the sidecar dropped and is being reopened".format(method)
            )
        return ConnectionClosed("cannot call {}: the connection to the sidecar is closed; connect again".format(method))

    # -- notifications and subscriptions ----------------------------------------------------------------------------

    def on(self, method, handler):
        """Runs `handler(params)` on the reader thread for each `method` notification; returns a function that
        removes it. Only topics subscribed with `subscribe()` are sent by the sidecar."""
        with self._lock:
            self._listeners.setdefault(method, []).append(handler)

        def remove():
            with self._lock:
                handlers = self._listeners.get(method, [])
                if handler in handlers:
                    handlers.remove(handler)

        return remove

    def on_connection(self, handler):
        """Runs `handler("open")` after a reconnect (subscriptions renewed) and `handler("closed")` when the
        connection drops or the client closes, on the reader thread; returns a function that removes it.
        The first connection is open when `connect()` returns, without an "open" call."""
        with self._lock:
            self._connection_listeners.append(handler)

        def remove():
            with self._lock:
                if handler in self._connection_listeners:
                    self._connection_listeners.remove(handler)

        return remove

    def subscribe(self, topics, timeout=30.0):
        """Asks for notifications on `topics` (e.g. ["job.progress"]) and remembers them, to renew after a
        reconnect (also when this call fails with ConnectionClosed). Returns every topic this connection is now
        subscribed to. An unknown topic raises RpcError -32602 and is not remembered."""
        topics = list(topics)
        with self._lock:
            added = [t for t in topics if t not in self._topics]
            self._topics.extend(added)
        try:
            return self.call("events.subscribe", {"topics": topics}, timeout)["topics"]
        except RpcError:
            # Forget what the sidecar refused, or every reconnect would ask for it again.
            with self._lock:
                self._topics = [t for t in self._topics if t not in added]
            raise

    def unsubscribe(self, topics=None, timeout=30.0):
        """Stops notifications on `topics` (all when None) and forgets them. Returns the topics still subscribed."""
        with self._lock:
            if topics is None:
                self._topics = []
            else:
                self._topics = [t for t in self._topics if t not in topics]
        params = {} if topics is None else {"topics": list(topics)}
        return self.call("events.unsubscribe", params, timeout)["topics"]

    # -- closing -----------------------------------------------------------------------------------------------------

    def close(self, timeout=2.0):
        """Closes the connection and stops the reader thread, waiting at most about `timeout` seconds for it.

        Pending calls fail with ConnectionClosed. Safe to call more than once, from any thread, handlers included.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stop.set()
            ws, connecting = self._ws, self._connecting
        if connecting is not None:
            connecting.abort()
        on_reader = threading.current_thread() is self._reader
        if ws is not None:
            # On the reader thread nobody else can read the server's close frame: do not wait for it.
            ws.close(timeout=0 if on_reader else min(1.0, timeout / 2))
        if self._reader is not None and not on_reader:
            self._reader.join(timeout)
            if self._reader.is_alive():
                log.warning(
                    "the sidecar client's reader thread is still busy in a handler; it ends when the handler returns"
                )

    # -- the reader thread ------------------------------------------------------------------------------------------

    def _run(self, ws):
        while ws is not None:
            error = self._read_until_closed(ws)
            self._dropped(ws, error)
            if not self._reconnect or self._stop.is_set():
                return
            log.info("lost the connection to the sidecar (%s); reconnecting", error)
            ws = self._reopen()

    def _read_until_closed(self, ws):
        while True:
            try:
                message = ws.recv()
            except (WireError, OSError) as err:
                return err
            if isinstance(message, bytes):
                # The sidecar reads binary frames as UTF-8 text; do the same for what it sends.
                message = message.decode("utf-8", "replace")
            self._receive(ws, message)

    def _receive(self, ws, text):
        try:
            messages = jsonrpc.decode(text)
        except ValueError:
            log.warning("the sidecar sent a message that is not JSON: %.200s", text)
            return
        for message in messages:
            if isinstance(message, jsonrpc.Response):
                self._answer(message)
            elif isinstance(message, jsonrpc.Notification):
                self._notify(message.method, message.params)
            else:
                try:
                    ws.send_text(
                        jsonrpc.encode_error(message.id, jsonrpc.METHOD_NOT_FOUND, "this client takes no requests")
                    )
                except ConnectionClosed:
                    pass

    def _answer(self, response):
        with self._lock:
            pending = self._pending.pop(response.id, None) if type(response.id) is int else None
        if pending is None:
            if response.error is not None and response.id is None:
                log.warning("the sidecar reported an error for no call: %s", response.error)
            return  # A late answer to a call that timed out.
        error = response.error
        if error is not None:
            error.method = pending.method
        pending.complete(response.result, error)

    def _notify(self, method, params):
        with self._lock:
            handlers = list(self._listeners.get(method, ()))
        for handler in handlers:
            try:
                handler(params)
            except Exception:
                log.exception("a handler for the %s notification raised", method)

    def _report(self, state):
        with self._lock:
            handlers = list(self._connection_listeners)
        for handler in handlers:
            try:
                handler(state)
            except Exception:
                log.exception("an on_connection handler raised on %r", state)

    def _dropped(self, ws, error):
        ws.abort()
        with self._lock:
            if self._ws is ws:
                self._ws = None
            pending, self._pending = self._pending, {}
            report, self._open_reported = self._open_reported, False
            closed_by_user = self._closed
        for p in pending.values():
            if closed_by_user:
                why = "this client was closed before {} was answered".format(p.method)
            else:
                why = "the connection to the sidecar dropped before {} was answered ({})".format(p.method, error)
            code = getattr(error, "code", None)
            p.complete(
                None, ConnectionClosed(why, code if isinstance(code, int) else None, getattr(error, "reason", ""))
            )
        if report:
            self._report("closed")

    def _reopen(self):
        """Tries until connected (returns the WebSocket) or closed (returns None)."""
        delay = FIRST_RETRY_DELAY
        last_problem = None
        while not self._stop.wait(delay):
            delay = min(delay * 2, MAX_RETRY_DELAY)
            try:
                endpoint = self._endpoint if self._fixed_url else resolve_endpoint(self._state_dir)
                ws = WebSocket(endpoint.url, _headers(endpoint), self._max_message_size)
                with self._lock:
                    if self._closed:
                        return None
                    self._connecting = ws
                try:
                    ws.open(self._timeout)
                finally:
                    with self._lock:
                        self._connecting = None
            except (WireError, OSError) as err:
                if str(err) != last_problem:
                    log.info("cannot reconnect to the sidecar yet: %s", err)
                    last_problem = str(err)
                continue
            with self._lock:
                if self._closed:
                    ws.abort()
                    return None
                self._ws = ws
                self._endpoint = endpoint
                topics = list(self._topics)
            self._renew(ws, topics)
            return ws
        return None

    def _renew(self, ws, topics):
        """Subscribes the new connection to the remembered topics, then reports "open" (from the reader thread,
        once the answer has been read)."""

        def renewed(result, error):
            if isinstance(error, ConnectionClosed):
                return  # Dropped again before the answer: "closed" will not be reported twice.
            if error is not None:
                log.warning("could not renew the subscriptions %s after reconnecting: %s", topics, error)
            self._opened()

        if not topics:
            self._opened()
            return
        try:
            self._start("events.subscribe", {"topics": topics}, _Pending("events.subscribe", renewed))
        except ConnectionClosed:
            pass  # The reader will see the drop.

    def _opened(self):
        with self._lock:
            if self._closed:
                return
            self._open_reported = True
        log.info("reconnected to the sidecar at %s", self._endpoint.url)
        self._report("open")

    def _open_websocket(self, endpoint):
        return WebSocket.connect(endpoint.url, _headers(endpoint), self._timeout, self._max_message_size)


def _headers(endpoint):
    return {"Authorization": "Bearer {}".format(endpoint.token)}


def _ignore(result, error):
    pass
