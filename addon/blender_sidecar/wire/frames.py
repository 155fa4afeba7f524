"""RFC 6455 frames, as bytes: encoding a client frame and parsing server frames out of a byte buffer. No sockets here.

`FrameParser` keeps the bytes it has been fed until a whole frame is there, so a frame split over many TCP reads
(or several frames in one read) comes out whole. It checks what a client must refuse from a server: reserved bits
(no extension is negotiated), unknown opcodes, masked frames, fragmented or long control frames, and frames larger
than the client's message limit (checked from the header, before the payload is buffered).
"""

import struct

from .errors import MessageTooBig, ProtocolError

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

DATA_OPCODES = (OP_CONTINUATION, OP_TEXT, OP_BINARY)
CONTROL_OPCODES = (OP_CLOSE, OP_PING, OP_PONG)

# Close codes used by this client (RFC 6455 section 7.4.1).
CLOSE_NORMAL = 1000
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_NO_STATUS = 1005  # never sent: stands for "the close frame had no code"
CLOSE_ABNORMAL = 1006  # never sent: stands for "the TCP connection dropped without a close frame"
CLOSE_INVALID_DATA = 1007
CLOSE_TOO_BIG = 1009

MAX_CONTROL_PAYLOAD = 125


class Frame(object):
    """One frame as received: `fin`, `opcode` and the unmasked `payload` (bytes)."""

    __slots__ = ("fin", "opcode", "payload")

    def __init__(self, fin, opcode, payload):
        self.fin = fin
        self.opcode = opcode
        self.payload = payload

    def __repr__(self):
        return "Frame(fin={!r}, opcode={:#x}, {} bytes)".format(self.fin, self.opcode, len(self.payload))


def apply_mask(payload, key):
    """XORs `payload` with the 4-byte `key` repeated (masking and unmasking are the same operation)."""
    n = len(payload)
    if n == 0:
        return b""
    # One big-integer XOR instead of a Python loop: masking a 16 MiB message stays in the tens of milliseconds.
    repeated = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(repeated, "little")).to_bytes(n, "little")


def encode_frame(opcode, payload, mask_key, fin=True):
    """The bytes of one frame. A client passes a fresh random 4-byte `mask_key` for every frame (RFC 6455 5.3)."""
    if len(mask_key) != 4:
        raise ValueError("a WebSocket mask key is 4 bytes")
    n = len(payload)
    first = (0x80 if fin else 0) | opcode
    if n <= 125:
        header = struct.pack("!BB", first, 0x80 | n)
    elif n <= 0xFFFF:
        header = struct.pack("!BBH", first, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, n)
    return header + mask_key + apply_mask(payload, mask_key)


def encode_close_payload(code, reason=""):
    """A close frame's payload: the 2-byte code, then the UTF-8 reason, cut so the whole fits in 125 bytes."""
    if code is None:
        return b""
    raw = reason.encode("utf-8")[: MAX_CONTROL_PAYLOAD - 2]
    return struct.pack("!H", code) + raw.decode("utf-8", "ignore").encode("utf-8")


def decode_close_payload(payload):
    """(code, reason) from a close frame; (None, "") when it carries no code. Raises ProtocolError if malformed."""
    if len(payload) == 0:
        return None, ""
    if len(payload) == 1:
        raise ProtocolError("the server sent a close frame of one byte, which RFC 6455 does not allow")
    (code,) = struct.unpack("!H", payload[:2])
    if code < 1000 or code in (1004, 1005, 1006, 1015) or 1016 <= code <= 2999 or code >= 5000:
        raise ProtocolError("the server closed with code {}, which may not be sent in a close frame".format(code))
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("the server's close reason is not valid UTF-8", CLOSE_INVALID_DATA)
    return code, reason


class FrameParser(object):
    """Turns the bytes a server sent into frames; bytes of an unfinished frame stay buffered for the next `feed`.

    Not thread-safe: one reader feeds it and takes frames out.
    """

    def __init__(self, max_payload):
        self._buffer = bytearray()
        self._max_payload = max_payload

    def feed(self, data):
        self._buffer += data

    @property
    def buffered(self):
        """How many bytes are waiting for the rest of their frame."""
        return len(self._buffer)

    def next_frame(self):
        """The next whole frame, or None until more bytes are fed. Raises ProtocolError or MessageTooBig."""
        buf = self._buffer
        if len(buf) < 2:
            return None
        first, second = buf[0], buf[1]
        fin = bool(first & 0x80)
        rsv = first & 0x70
        opcode = first & 0x0F
        masked = bool(second & 0x80)
        length = second & 0x7F
        if rsv:
            raise ProtocolError("the server set reserved bits in a frame, but no extension was agreed")
        if opcode not in DATA_OPCODES and opcode not in CONTROL_OPCODES:
            raise ProtocolError("the server sent a frame with unknown opcode {:#x}".format(opcode))
        if masked:
            raise ProtocolError("the server sent a masked frame; RFC 6455 forbids servers to mask")
        if opcode in CONTROL_OPCODES and (not fin or length > MAX_CONTROL_PAYLOAD):
            raise ProtocolError("the server sent a fragmented or over-long control frame")
        offset = 2
        if length == 126:
            if len(buf) < 4:
                return None
            (length,) = struct.unpack_from("!H", buf, 2)
            offset = 4
        elif length == 127:
            if len(buf) < 10:
                return None
            (length,) = struct.unpack_from("!Q", buf, 2)
            if length >> 63:
                raise ProtocolError("the server sent a frame length with the most significant bit set")
            offset = 10
        if length > self._max_payload:
            raise MessageTooBig(
                "the server sent a {} byte message, over this client's limit of {} bytes".format(
                    length, self._max_payload
                )
            )
        end = offset + length
        if len(buf) < end:
            return None
        payload = bytes(buf[offset:end])
        del buf[:end]
        return Frame(fin, opcode, payload)
