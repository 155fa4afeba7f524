"""The RFC 6455 client, frame by frame, against a small WebSocket server written here with `socket`.

The server side encodes and parses frames on its own (not with the package's `frames` module), checks that every
frame the client sends is masked, and can cut what it sends into tiny TCP writes.
"""

import base64
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "addon"))

from blender_sidecar.wire import ConnectionClosed, HandshakeError, MessageTooBig, ProtocolError, WebSocket  # noqa: E402
from blender_sidecar.wire.frames import FrameParser  # noqa: E402

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


def server_frame(opcode, payload=b"", fin=True, rsv=0, mask_key=None):
    """A frame as a server writes it (unmasked unless a key is given, to test that the client refuses it)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    first = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    mask_bit = 0x80 if mask_key else 0
    if n < 126:
        head = struct.pack("!BB", first, mask_bit | n)
    elif n < 65536:
        head = struct.pack("!BBH", first, mask_bit | 126, n)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, n)
    if mask_key:
        payload = bytes(b ^ mask_key[i % 4] for i, b in enumerate(payload))
        head += mask_key
    return head + payload


def close_payload(code, reason=""):
    return struct.pack("!H", code) + reason.encode("utf-8")


class ClientFrame(object):
    def __init__(self, fin, opcode, payload, length_marker, mask_key):
        self.fin, self.opcode, self.payload = fin, opcode, payload
        self.length_marker, self.mask_key = length_marker, mask_key

    @property
    def close_code(self):
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None


class Peer(object):
    """The server's end of one connection, driven step by step by a test's script."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.request_line = None
        self.headers = {}

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("the client closed the TCP connection")
        self.buf += chunk

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_request(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.request_line = lines[0]
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        return self.headers

    def accept_value(self):
        key = self.headers["sec-websocket-key"].encode("ascii")
        return base64.b64encode(hashlib.sha1(key + GUID).digest()).decode("ascii")

    def handshake(self, accept=None, then=b""):
        """Reads the request and answers 101; `then` goes out in the same write (frames right behind the head)."""
        self.read_request()
        answer = (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: {}\r\n\r\n".format(accept or self.accept_value())
        )
        self.sock.sendall(answer.encode("latin-1") + then)

    def send(self, data, piece=None, pause=0.0):
        """Writes `data`, cut into writes of `piece` bytes with a pause between them when asked."""
        if piece is None:
            self.sock.sendall(data)
            return
        for i in range(0, len(data), piece):
            self.sock.sendall(data[i : i + piece])
            if pause:
                time.sleep(pause)

    def read_frame(self):
        """Reads one client frame and checks what RFC 6455 demands of clients: the mask bit on every frame."""
        first, second = self._take(2)
        marker = second & 0x7F
        n = marker
        if marker == 126:
            (n,) = struct.unpack("!H", self._take(2))
        elif marker == 127:
            (n,) = struct.unpack("!Q", self._take(8))
        if not second & 0x80:
            raise AssertionError("the client sent an unmasked frame (opcode {:#x})".format(first & 0x0F))
        key = self._take(4)
        masked = self._take(n)
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(masked)) if n < 4096 else _unmask_fast(masked, key)
        if first & 0x70:
            raise AssertionError("the client set reserved bits")
        return ClientFrame(bool(first & 0x80), first & 0x0F, payload, marker, key)

    def read_message(self):
        frame = self.read_frame()
        return frame.payload.decode("utf-8") if frame.opcode == TEXT else frame.payload

    def expect_eof(self, timeout=2.0):
        self.sock.settimeout(timeout)
        try:
            while True:
                self._fill()
        except EOFError:
            return True


def _unmask_fast(data, key):
    n = len(data)
    return (int.from_bytes(data, "little") ^ int.from_bytes((key * (n // 4 + 1))[:n], "little")).to_bytes(n, "little")


class ScriptedServer(object):
    """Listens on 127.0.0.1; each `expect(script)` accepts one connection and runs `script(peer)` on a thread."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(5)
        self.port = self.listener.getsockname()[1]
        self.url = "ws://127.0.0.1:{}/rpc".format(self.port)
        self._thread = None
        self._error = None

    def expect(self, script):
        self._error = None

        def run():
            conn = None
            try:
                conn, _ = self.listener.accept()
                conn.settimeout(5)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                script(Peer(conn))
            except BaseException as err:  # Handed to the test thread by join().
                self._error = err
            finally:
                if conn is not None:
                    conn.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def join(self):
        self._thread.join(10)
        if self._thread.is_alive():
            raise AssertionError("the test server's script did not finish")
        if self._error is not None:
            raise self._error

    def close(self):
        self.listener.close()


class WireTestCase(unittest.TestCase):
    def setUp(self):
        self.server = ScriptedServer()
        self.sockets = []

    def tearDown(self):
        for ws in self.sockets:
            ws.abort()
        self.server.close()

    def connect(self, script, **kwargs):
        self.server.expect(script)
        kwargs.setdefault("timeout", 5.0)
        ws = WebSocket.connect(self.server.url, headers={"Authorization": "Bearer secret-token"}, **kwargs)
        self.sockets.append(ws)
        return ws


class HandshakeTest(WireTestCase):
    def test_sends_the_exact_host_a_fresh_key_and_the_token_but_no_origin(self):
        seen = []

        def script(peer):
            peer.handshake()
            seen.append((peer.request_line, dict(peer.headers)))
            peer.read_frame()  # the close frame

        for _ in range(2):
            ws = self.connect(script)
            ws.close()
            self.server.join()
        (line, headers), (_, headers2) = seen
        self.assertEqual(line, "GET /rpc HTTP/1.1")
        self.assertEqual(headers["host"], "127.0.0.1:{}".format(self.server.port))
        self.assertNotIn("origin", headers)
        self.assertEqual(headers["authorization"], "Bearer secret-token")
        self.assertEqual(headers["upgrade"].lower(), "websocket")
        self.assertEqual(headers["sec-websocket-version"], "13")
        self.assertEqual(len(base64.b64decode(headers["sec-websocket-key"])), 16)
        self.assertNotEqual(headers["sec-websocket-key"], headers2["sec-websocket-key"])

    def test_refuses_a_wrong_sec_websocket_accept(self):
        self.server.expect(lambda peer: peer.handshake(accept=base64.b64encode(b"x" * 20).decode()))
        with self.assertRaises(HandshakeError) as caught:
            WebSocket.connect(self.server.url, timeout=5)
        self.server.join()
        self.assertIn("Sec-WebSocket-Accept", str(caught.exception))

    def test_surfaces_a_401_with_the_servers_reason(self):
        reason = "the token is wrong (the sidecar makes a new one each start: read sidecar.json again)"

        def script(peer):
            peer.read_request()
            body = json.dumps({"error": reason}).encode()
            peer.send(
                b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )

        self.server.expect(script)
        with self.assertRaises(HandshakeError) as caught:
            WebSocket.connect(self.server.url, timeout=5)
        self.server.join()
        self.assertEqual(caught.exception.status, 401)
        self.assertEqual(caught.exception.reason, reason)
        self.assertIn("HTTP 401", str(caught.exception))
        self.assertIn(reason, str(caught.exception))

    def test_shows_a_refusal_body_that_is_not_json_as_it_came(self):
        def script(peer):
            peer.read_request()
            peer.send(b"HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\nnot from here")

        self.server.expect(script)
        with self.assertRaises(HandshakeError) as caught:
            WebSocket.connect(self.server.url, timeout=5)
        self.server.join()
        self.assertEqual(caught.exception.status, 403)
        self.assertIn("not from here", str(caught.exception))

    def test_keeps_frames_that_arrive_in_the_same_write_as_the_101(self):
        ws = self.connect(lambda peer: peer.handshake(then=server_frame(TEXT, "first") + server_frame(TEXT, "second")))
        self.assertEqual(ws.recv(), "first")
        self.assertEqual(ws.recv(), "second")
        self.server.join()

    def test_gives_up_on_a_server_that_never_answers_the_upgrade(self):
        gone = threading.Event()
        self.server.expect(lambda peer: (peer.read_request(), gone.wait(5)))
        started = time.monotonic()
        with self.assertRaises(ConnectionClosed) as caught:
            WebSocket.connect(self.server.url, timeout=0.3)
        gone.set()
        self.server.join()
        self.assertLess(time.monotonic() - started, 2)
        self.assertIn("handshake", str(caught.exception))

    def test_reports_a_closed_port_as_unreachable(self):
        port = self.server.port
        self.server.close()
        with self.assertRaises(ConnectionClosed) as caught:
            WebSocket.connect("ws://127.0.0.1:{}/rpc".format(port), timeout=2)
        self.assertIn("cannot reach", str(caught.exception))


class ReceiveTest(WireTestCase):
    def test_reassembles_a_fragmented_text_message(self):
        text = "snow ❄ falls on the frames"
        raw = text.encode("utf-8")
        cut = raw.index("❄".encode("utf-8")) + 1  # a UTF-8 character split across two fragments

        def script(peer):
            peer.handshake()
            peer.send(server_frame(TEXT, raw[:cut], fin=False))
            peer.send(server_frame(CONT, raw[cut : cut + 5], fin=False))
            peer.send(server_frame(CONT, raw[cut + 5 :], fin=True))
            peer.send(server_frame(BINARY, b"\x00\x01", fin=False) + server_frame(CONT, b"\x02", fin=True))

        ws = self.connect(script)
        self.assertEqual(ws.recv(), text)
        self.assertEqual(ws.recv(), b"\x00\x01\x02")
        self.server.join()

    def test_answers_a_ping_that_arrives_in_the_middle_of_a_fragmented_message(self):
        pongs = []

        def script(peer):
            peer.handshake()
            peer.send(server_frame(TEXT, "hello, ", fin=False))
            peer.send(server_frame(PING, b"are you there"))
            pongs.append(peer.read_frame())
            peer.send(server_frame(CONT, "world", fin=True))

        ws = self.connect(script)
        self.assertEqual(ws.recv(), "hello, world")
        self.server.join()
        self.assertEqual(pongs[0].opcode, PONG)
        self.assertEqual(pongs[0].payload, b"are you there")

    def test_keeps_partial_frames_across_many_tiny_tcp_writes(self):
        medium = "m" * 300  # 16-bit length
        stream = (
            server_frame(TEXT, "tiny")
            + server_frame(TEXT, medium)
            + server_frame(TEXT, "frag", fin=False)
            + server_frame(PING, b"p")
            + server_frame(CONT, "mented", fin=True)
        )

        def script(peer):
            peer.read_request()
            head = (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: {}\r\n\r\n".format(peer.accept_value())
            ).encode()
            peer.send(head + stream, piece=1, pause=0.0003)
            peer.read_frame()  # the pong

        ws = self.connect(script)
        self.assertEqual([ws.recv(), ws.recv(), ws.recv()], ["tiny", medium, "fragmented"])
        self.server.join()

    def test_parser_keeps_bytes_between_feeds(self):
        parser = FrameParser(1 << 20)
        data = server_frame(TEXT, "a" * 70000) + server_frame(TEXT, "b")
        frames = []
        for i in range(0, len(data), 7):
            parser.feed(data[i : i + 7])
            frame = parser.next_frame()
            while frame is not None:
                frames.append(frame)
                frame = parser.next_frame()
        self.assertEqual([len(f.payload) for f in frames], [70000, 1])
        self.assertEqual(parser.buffered, 0)

    def test_reads_7_16_and_64_bit_lengths(self):
        sizes = [0, 125, 126, 65535, 65536, 1024 * 1024 + 3]

        def script(peer):
            peer.handshake()
            for n in sizes:
                peer.send(server_frame(BINARY, bytes([n % 251]) * n))

        ws = self.connect(script)
        for n in sizes:
            got = ws.recv()
            self.assertEqual(len(got), n)
            self.assertEqual(got, bytes([n % 251]) * n)
        self.server.join()

    def test_answers_the_servers_close_frame_and_reports_its_code_and_reason(self):
        answers = []

        def script(peer):
            peer.handshake()
            peer.send(server_frame(CLOSE, close_payload(1001, "sidecar shutting down")))
            answers.append(peer.read_frame())
            peer.expect_eof()

        ws = self.connect(script)
        with self.assertRaises(ConnectionClosed) as caught:
            ws.recv()
        self.server.join()
        self.assertEqual(caught.exception.code, 1001)
        self.assertEqual(caught.exception.reason, "sidecar shutting down")
        self.assertIn("1001: sidecar shutting down", str(caught.exception))
        self.assertEqual(answers[0].opcode, CLOSE)
        self.assertEqual(answers[0].close_code, 1001)
        with self.assertRaises(ConnectionClosed):
            ws.send_text("too late")
        with self.assertRaises(ConnectionClosed) as again:
            ws.recv()
        self.assertEqual(again.exception.code, 1001)

    def test_reports_a_drop_without_a_close_frame_as_1006(self):
        ws = self.connect(lambda peer: peer.handshake())
        self.server.join()
        with self.assertRaises(ConnectionClosed) as caught:
            ws.recv()
        self.assertEqual(caught.exception.code, 1006)

    def test_refuses_a_message_over_the_size_limit_from_its_header_and_closes_1009(self):
        closes = []

        def script(peer):
            peer.handshake()
            peer.send(struct.pack("!BBH", 0x80 | TEXT, 126, 2000))  # only the header: the client must not wait
            closes.append(peer.read_frame())

        ws = self.connect(script, max_message_size=1000)
        with self.assertRaises(MessageTooBig):
            ws.recv()
        self.server.join()
        self.assertEqual((closes[0].opcode, closes[0].close_code), (CLOSE, 1009))

    def test_refuses_fragments_that_add_up_to_more_than_the_limit(self):
        def script(peer):
            peer.handshake()
            peer.send(server_frame(TEXT, "a" * 600, fin=False) + server_frame(CONT, "b" * 600))
            self.assertEqual(peer.read_frame().close_code, 1009)

        ws = self.connect(script, max_message_size=1000)
        with self.assertRaises(MessageTooBig):
            ws.recv()
        self.server.join()

    def test_closes_1002_or_1007_on_protocol_violations(self):
        cases = [
            ("a masked server frame", server_frame(TEXT, "hi", mask_key=b"\x01\x02\x03\x04"), 1002),
            ("a continuation with nothing to continue", server_frame(CONT, "x"), 1002),
            (
                "a new message inside a fragmented one",
                server_frame(TEXT, "a", fin=False) + server_frame(TEXT, "b"),
                1002,
            ),
            ("a reserved bit", server_frame(TEXT, "x", rsv=0x40), 1002),
            ("an unknown opcode", server_frame(0x3, "x"), 1002),
            ("a fragmented ping", server_frame(PING, "x", fin=False), 1002),
            ("text that is not UTF-8", server_frame(TEXT, b"\xff\xfe"), 1007),
        ]
        for name, data, code in cases:
            with self.subTest(name):
                closes = []

                def script(peer, data=data):
                    peer.handshake()
                    peer.send(data)
                    closes.append(peer.read_frame())

                ws = self.connect(script)
                with self.assertRaises(ProtocolError) as caught:
                    ws.recv()
                self.server.join()
                self.assertEqual(caught.exception.close_code, code)
                self.assertEqual(closes[0].close_code, code)


class SendAndCloseTest(WireTestCase):
    def test_masks_every_client_frame_with_a_fresh_key(self):
        frames = []

        def script(peer):
            peer.handshake()
            for _ in range(20):
                frames.append(peer.read_frame())
            peer.send(server_frame(PING, b"x"))
            frames.append(peer.read_frame())  # the pong, masked too

        ws = self.connect(script)
        for i in range(20):
            ws.send_text("message {}".format(i))
        with self.assertRaises(ConnectionClosed):
            ws.recv()  # answers the ping, then meets the EOF the script leaves behind
        self.server.join()
        self.assertEqual([f.payload.decode() for f in frames[:20]], ["message {}".format(i) for i in range(20)])
        self.assertEqual(frames[20].opcode, PONG)
        self.assertGreater(len({f.mask_key for f in frames}), 10)

    def test_chooses_the_length_encoding_by_size(self):
        sizes = [0, 125, 126, 65535, 65536, 1024 * 1024 + 5]
        got = []

        def script(peer):
            peer.handshake()
            for _ in sizes:
                got.append(peer.read_frame())

        ws = self.connect(script)
        for n in sizes:
            ws.send_binary(bytes([n % 7]) * n)
        self.server.join()
        self.assertEqual(
            [f.length_marker if f.length_marker > 125 else "7-bit" for f in got], ["7-bit", "7-bit", 126, 126, 127, 127]
        )
        for n, frame in zip(sizes, got):
            self.assertEqual(frame.payload, bytes([n % 7]) * n)

    def test_never_interleaves_frames_sent_from_many_threads(self):
        threads, per_thread, size = 4, 6, 500000
        got = []

        def script(peer):
            peer.handshake()
            for _ in range(threads * per_thread):
                got.append(peer.read_message())

        ws = self.connect(script)

        def sender(t):
            for i in range(per_thread):
                ws.send_text(json.dumps({"t": t, "i": i, "pad": str(t) * size}))

        workers = [threading.Thread(target=sender, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(10)
        self.server.join()
        messages = [json.loads(text) for text in got]
        self.assertEqual(
            sorted((m["t"], m["i"]) for m in messages), [(t, i) for t in range(threads) for i in range(per_thread)]
        )
        self.assertTrue(all(m["pad"] == str(m["t"]) * size for m in messages))

    def test_close_sends_1000_and_waits_for_the_servers_answer(self):
        seen = []

        def script(peer):
            peer.handshake()
            frame = peer.read_frame()
            seen.append(frame)
            peer.send(server_frame(CLOSE, frame.payload[:2]))
            peer.expect_eof()

        ws = self.connect(script)
        ws.close(reason="done here")
        self.server.join()
        self.assertEqual(seen[0].opcode, CLOSE)
        self.assertEqual(seen[0].close_code, 1000)
        self.assertEqual(seen[0].payload[2:], b"done here")
        with self.assertRaises(ConnectionClosed):
            ws.send_text("after close")
        ws.close()  # a second close does nothing

    def test_close_from_another_thread_ends_a_blocked_recv(self):
        def script(peer):
            peer.handshake()
            frame = peer.read_frame()
            peer.send(server_frame(CLOSE, frame.payload))
            peer.expect_eof()

        ws = self.connect(script)
        outcome = []
        reader = threading.Thread(target=lambda: outcome.append(_raised(ws.recv)))
        reader.start()
        time.sleep(0.1)
        ws.close()
        reader.join(2)
        self.assertFalse(reader.is_alive())
        self.server.join()
        self.assertIsInstance(outcome[0], ConnectionClosed)
        self.assertIn("closed by this client", str(outcome[0]))

    def test_abort_unblocks_recv_in_another_thread_at_once(self):
        release = threading.Event()
        ws = self.connect(lambda peer: (peer.handshake(), release.wait(5)))
        outcome = []
        reader = threading.Thread(target=lambda: outcome.append(_raised(ws.recv)))
        reader.start()
        time.sleep(0.1)
        started = time.monotonic()
        ws.abort()
        reader.join(2)
        release.set()
        self.server.join()
        self.assertFalse(reader.is_alive())
        self.assertLess(time.monotonic() - started, 1)
        self.assertIsInstance(outcome[0], ConnectionClosed)


def _raised(fn):
    try:
        fn()
    except Exception as err:
        return err
    return None


if __name__ == "__main__":
    unittest.main()
