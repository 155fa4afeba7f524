"""Length-prefixed JSON messages: a 4-byte big-endian length, then that many bytes of UTF-8 JSON. No bpy here."""
import json
import os
import struct

MAX_MESSAGE = 64 * 1024 * 1024


class ChannelClosed(Exception):
    """The other side closed the pipe: the sidecar is gone, and the worker should exit."""


def _read_exactly(stream, n):
    chunks = []
    while n > 0:
        chunk = stream.read(n)
        if not chunk:
            raise ChannelClosed()
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_message(stream):
    (length,) = struct.unpack(">I", _read_exactly(stream, 4))
    if length > MAX_MESSAGE:
        raise ValueError("message of %d bytes is over the %d-byte limit" % (length, MAX_MESSAGE))
    return json.loads(_read_exactly(stream, length).decode("utf-8"))


def encode_message(obj):
    data = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    return struct.pack(">I", len(data)) + data


def write_message(fd, obj):
    data = encode_message(obj)
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
