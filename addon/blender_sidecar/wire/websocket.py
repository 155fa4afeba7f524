"""A blocking RFC 6455 WebSocket client over one TCP socket, standard library only (ws:// URLs).

Threads: one thread at a time reads (`recv`); any thread may send (`send_text`, `send_binary`, `ping`): frames go out
whole behind one lock, so concurrent senders never interleave. `close` and `abort` may be called from any thread;
`abort` unblocks a `recv` or `open` waiting in another thread.

Who closes what: the WebSocket owns its socket. `recv` answers pings, and answers the server's close frame with
its own before raising ConnectionClosed; `close` sends the client's close frame, waits briefly for the server's
answer (read by whichever thread is reading, or by `close` itself when none is), then closes the socket.
"""

import base64
import hashlib
import json
import os
import socket
import threading
from urllib.parse import urlsplit

from .errors import ConnectionClosed, HandshakeError, MessageTooBig, ProtocolError
from .frames import (
    CLOSE_ABNORMAL,
    CLOSE_INVALID_DATA,
    CLOSE_NORMAL,
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameParser,
    decode_close_payload,
    encode_close_payload,
    encode_frame,
)

# socket.timeout is TimeoutError from Python 3.10 on; the old name works on every version Blender bundles.
_Timeout = socket.timeout

DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_HEADER_BYTES = 64 * 1024
_MAX_REFUSAL_BODY = 64 * 1024
_RECV_CHUNK = 256 * 1024

_CONNECTING, _OPEN, _CLOSING, _CLOSED = "connecting", "open", "closing", "closed"


def accept_key(key):
    """The Sec-WebSocket-Accept a server must answer to Sec-WebSocket-Key `key` (RFC 6455 4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + _GUID).digest()).decode("ascii")


def split_url(url):
    """(host, port, resource, host_header) for a ws:// URL. The Host header always names the port: the sidecar
    compares it exactly against `127.0.0.1:PORT`."""
    parts = urlsplit(url)
    if parts.scheme != "ws":
        raise ValueError(
            "only ws:// URLs are supported (the sidecar listens on ws://127.0.0.1:PORT/rpc), not {!r}".format(url)
        )
    host = parts.hostname
    if not host:
        raise ValueError("the URL {!r} names no host".format(url))
    port = parts.port or 80
    resource = parts.path or "/"
    if parts.query:
        resource += "?" + parts.query
    host_header = "[{}]:{}".format(host, port) if ":" in host else "{}:{}".format(host, port)
    return host, port, resource, host_header


class WebSocket(object):
    """One client connection. Create with `WebSocket.connect(url, ...)`, or construct and `open()` when another thread
    may need to `abort()` the attempt."""

    def __init__(self, url, headers=None, max_message_size=DEFAULT_MAX_MESSAGE_SIZE):
        self.url = url
        self._headers = dict(headers or {})
        self.max_message_size = max_message_size
        self._parser = FrameParser(max_message_size)
        self._sock = None
        self._state = _CONNECTING
        self._aborted = False
        self._state_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._recv_lock = threading.Lock()
        self._close_answered = threading.Event()
        self._closed_error = None  # the ConnectionClosed that ended recv, raised again by later calls
        # Close code and reason the server sent, once it has.
        self.close_code = None
        self.close_reason = ""

    @classmethod
    def connect(cls, url, headers=None, timeout=5.0, max_message_size=DEFAULT_MAX_MESSAGE_SIZE):
        """Opens a connection and completes the handshake. Raises ConnectionClosed (HandshakeError when refused)."""
        ws = cls(url, headers, max_message_size)
        ws.open(timeout)
        return ws

    @property
    def is_open(self):
        return self._state == _OPEN

    # -- handshake ---------------------------------------------------------------------------------------------------

    def open(self, timeout=5.0):
        """TCP connect and the opening handshake, each bounded by `timeout` seconds; then the socket blocks."""
        host, port, resource, host_header = split_url(self.url)
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        request = self._request(resource, host_header, key)
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except _Timeout:
            raise ConnectionClosed(
                "the sidecar at {} did not accept a connection within {:g} s".format(self.url, timeout)
            )
        except OSError as err:
            raise ConnectionClosed("cannot reach the sidecar at {}: {}".format(self.url, err.strerror or err))
        with self._state_lock:
            if self._aborted:
                sock.close()
                raise ConnectionClosed("the connection to {} was abandoned while it was opening".format(self.url))
            self._sock = sock
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(request)
            status, reason_phrase, headers, rest = self._read_response_head(sock)
            if status != 101:
                raise self._refusal(sock, status, reason_phrase, headers, rest)
            self._check_upgrade(headers, key)
            sock.settimeout(None)
        except _Timeout:
            self.abort()
            raise ConnectionClosed(
                "the sidecar at {} did not complete the WebSocket handshake within {:g} s".format(self.url, timeout)
            )
        except ConnectionClosed:
            self.abort()
            raise
        except OSError as err:
            aborted = self._aborted
            self.abort()
            if aborted:
                raise ConnectionClosed("the connection to {} was abandoned while it was opening".format(self.url))
            raise ConnectionClosed(
                "the connection to {} failed during the handshake: {}".format(self.url, err.strerror or err)
            )
        # Bytes after the response head are already frames (a server may send at once).
        self._parser.feed(rest)
        with self._state_lock:
            if self._aborted:
                raise ConnectionClosed("the connection to {} was abandoned while it was opening".format(self.url))
            self._state = _OPEN

    def _request(self, resource, host_header, key):
        lines = [
            "GET {} HTTP/1.1".format(resource),
            "Host: {}".format(host_header),
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: {}".format(key),
            "Sec-WebSocket-Version: 13",
        ]
        # No Origin header: the sidecar refuses foreign origins, and a non-browser client has none to give.
        for name, value in self._headers.items():
            if "\r" in name or "\n" in name or "\r" in str(value) or "\n" in str(value):
                raise ValueError("a header name or value contains a line break: {!r}".format(name))
            lines.append("{}: {}".format(name, value))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _read_response_head(self, sock):
        data = b""
        while b"\r\n\r\n" not in data:
            if len(data) > _MAX_HEADER_BYTES:
                raise HandshakeError("the server at {} sent an HTTP answer with over-long headers".format(self.url))
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionClosed(
                    "the server at {} closed the connection during the WebSocket handshake".format(self.url)
                )
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise HandshakeError("the server at {} did not answer in HTTP: {!r}".format(self.url, lines[0][:80]))
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                key = name.strip().lower()
                headers[key] = (headers[key] + ", " if key in headers else "") + value.strip()
        return int(parts[1]), (parts[2] if len(parts) > 2 else ""), headers, rest

    def _refusal(self, sock, status, reason_phrase, headers, body):
        """The error for a non-101 answer, carrying the server's JSON `error` text when it gave one."""
        length = headers.get("content-length")
        want = int(length) if length and length.isdigit() else _MAX_REFUSAL_BODY
        want = min(want, _MAX_REFUSAL_BODY)
        try:
            while len(body) < want:
                chunk = sock.recv(min(4096, want - len(body)))
                if not chunk:
                    break
                body += chunk
        except OSError:
            pass  # Whatever part of the body arrived is still worth showing.
        text = body.decode("utf-8", "replace").strip()
        reason = text
        try:
            parsed = json.loads(text)
            if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
                reason = parsed["error"]
        except ValueError:
            pass
        reason = reason[:300] or reason_phrase or "no reason given"
        return HandshakeError(
            "the sidecar at {} refused the connection (HTTP {}): {}".format(self.url, status, reason), status, reason
        )

    def _check_upgrade(self, headers, key):
        if headers.get("upgrade", "").lower() != "websocket" or "upgrade" not in headers.get("connection", "").lower():
            raise HandshakeError("the server at {} answered 101 but did not switch to WebSocket".format(self.url), 101)
        if headers.get("sec-websocket-accept") != accept_key(key):
            raise HandshakeError(
                "the server at {} answered with a wrong Sec-WebSocket-Accept, so it is not a WebSocket server "
                "(or something between altered the handshake)".format(self.url),
                101,
            )
        if headers.get("sec-websocket-extensions") or headers.get("sec-websocket-protocol"):
            raise HandshakeError(
                "the server at {} chose an extension or subprotocol this client never offered".format(self.url), 101
            )

    # -- sending -----------------------------------------------------------------------------------------------------

    def send_text(self, text):
        """Sends one text message (one frame). Raises ConnectionClosed once the connection is closing or closed."""
        self._send_data(OP_TEXT, text.encode("utf-8"))

    def send_binary(self, data):
        self._send_data(OP_BINARY, bytes(data))

    def ping(self, payload=b""):
        self._send_frame(OP_PING, payload[:125])

    def _send_data(self, opcode, payload):
        if self._state != _OPEN:
            raise ConnectionClosed("the connection to {} is {}; nothing more can be sent".format(self.url, self._state))
        self._send_frame(opcode, payload)

    def _send_frame(self, opcode, payload):
        frame = encode_frame(opcode, payload, os.urandom(4))
        with self._send_lock:
            sock = self._sock
            if sock is None or self._state == _CLOSED:
                raise ConnectionClosed(
                    "the connection to {} is closed".format(self.url), self.close_code, self.close_reason
                )
            try:
                sock.sendall(frame)
            except OSError as err:
                raise ConnectionClosed(
                    "sending to {} failed: {}".format(self.url, err.strerror or err), self.close_code, self.close_reason
                )

    # -- receiving ---------------------------------------------------------------------------------------------------

    def recv(self):
        """Blocks until one whole message arrives: str for text, bytes for binary.

        Pings are answered and pongs skipped on the way. Raises ConnectionClosed when the connection ends (after
        answering the server's close frame), ProtocolError or MessageTooBig when the server breaks the protocol
        (the connection is closed with 1002, 1007 or 1009 first).
        """
        with self._recv_lock:
            try:
                return self._recv_message()
            except ProtocolError as err:
                self._fail(err)
                raise

    def _recv_message(self):
        opcode = None
        fragments = []
        size = 0
        while True:
            frame = self._next_frame()
            if frame.opcode == OP_PING:
                try:
                    self._send_frame(OP_PONG, frame.payload)
                except ConnectionClosed:
                    pass  # Closing already: the pong no longer matters.
                continue
            if frame.opcode == OP_PONG:
                continue
            if frame.opcode == OP_CLOSE:
                self._on_close_frame(frame.payload)
            if frame.opcode == OP_CONTINUATION:
                if opcode is None:
                    raise ProtocolError("the server sent a continuation frame with no message to continue")
            elif opcode is not None:
                raise ProtocolError("the server started a new message before finishing the fragmented one")
            else:
                opcode = frame.opcode
            size += len(frame.payload)
            if size > self.max_message_size:
                raise MessageTooBig(
                    "the server sent a message over this client's limit of {} bytes".format(self.max_message_size)
                )
            fragments.append(frame.payload)
            if frame.fin:
                data = b"".join(fragments)
                if opcode == OP_BINARY:
                    return data
                try:
                    return data.decode("utf-8")
                except UnicodeDecodeError:
                    raise ProtocolError("the server sent a text message that is not valid UTF-8", CLOSE_INVALID_DATA)

    def _next_frame(self):
        while True:
            frame = self._parser.next_frame()
            if frame is not None:
                return frame
            sock = self._sock
            if sock is None:
                raise self._ended(None)
            try:
                chunk = sock.recv(_RECV_CHUNK)
            except OSError as err:
                raise self._ended(err)
            if not chunk:
                raise self._ended(None)
            self._parser.feed(chunk)

    def _ended(self, err):
        """The ConnectionClosed for a socket that gave no more bytes; the socket is closed."""
        by_us = self._aborted or self._state == _CLOSED
        self._finish()
        if self._closed_error is None:
            if by_us:
                self._closed_error = ConnectionClosed(
                    "the connection to {} was closed by this client".format(self.url),
                    self.close_code,
                    self.close_reason,
                )
            elif err is not None:
                self._closed_error = ConnectionClosed(
                    "the connection to {} dropped: {}".format(self.url, err.strerror or err), CLOSE_ABNORMAL
                )
            else:
                self._closed_error = ConnectionClosed(
                    "the connection to {} dropped without a close frame (was the sidecar stopped?)".format(self.url),
                    CLOSE_ABNORMAL,
                )
        return self._closed_error

    def _on_close_frame(self, payload):
        code, reason = decode_close_payload(payload)
        self.close_code, self.close_reason = code, reason
        with self._state_lock:
            we_started = self._state == _CLOSING
            self._state = _CLOSING
        if not we_started:
            # Echo the code, as RFC 6455 5.5.1 asks; the server then closes TCP.
            try:
                self._send_frame(OP_CLOSE, encode_close_payload(code))
            except ConnectionClosed:
                pass
        self._close_answered.set()
        self._finish()
        if we_started:
            err = ConnectionClosed("the connection to {} was closed by this client".format(self.url), code, reason)
        else:
            err = ConnectionClosed(
                "the sidecar closed the connection ({}{})".format(
                    code if code is not None else "no code", ": " + reason if reason else ""
                ),
                code,
                reason,
            )
        self._closed_error = err
        raise err

    # -- closing -----------------------------------------------------------------------------------------------------

    def close(self, code=CLOSE_NORMAL, reason="", timeout=1.0):
        """Starts the close handshake and closes the socket. Waits at most `timeout` s for the server's close frame:
        read by the thread in `recv` when there is one, else here. Safe to call more than once, from any thread."""
        with self._state_lock:
            if self._state != _OPEN:
                pending_close = self._state == _CLOSING
                state = None
            else:
                self._state = _CLOSING
                state = _CLOSING
                pending_close = False
        if state is None:
            if pending_close:
                self._close_answered.wait(timeout)
            self._finish()
            return
        try:
            self._send_frame(OP_CLOSE, encode_close_payload(code, reason))
        except ConnectionClosed:
            self._finish()
            return
        if timeout and timeout > 0:
            if self._recv_lock.acquire(False):
                try:
                    self._drain_until_close(timeout)
                finally:
                    self._recv_lock.release()
            else:
                self._close_answered.wait(timeout)
        self._finish()

    def _drain_until_close(self, timeout):
        sock = self._sock
        if sock is None:
            return
        try:
            sock.settimeout(timeout)
            while not self._close_answered.is_set():
                self._recv_message()  # Data that arrives after our close frame is dropped.
        except (ConnectionClosed, ProtocolError, OSError):
            pass

    def abort(self):
        """Closes the socket at once, without a close handshake; unblocks `recv` and `open` in other threads."""
        with self._state_lock:
            self._aborted = True
        self._finish()

    def _fail(self, err):
        """Closes with the error's code (1002, 1007, 1009) after a protocol violation."""
        with self._state_lock:
            was_open = self._state == _OPEN
            self._state = _CLOSING
        if was_open:
            try:
                self._send_frame(OP_CLOSE, encode_close_payload(err.close_code))
            except ConnectionClosed:
                pass
        self._finish()

    def _finish(self):
        with self._state_lock:
            self._state = _CLOSED
            sock, self._sock = self._sock, None
        if sock is not None:
            try:
                # shutdown, not just close: it is what wakes a recv blocked in another thread.
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
