"""Reading a preview PNG into pixels, in plain Python (no bpy), so it can run on a thread of its own.

Blender's own image loading must run on the main thread, and its first call in a session can take 150-200 ms on
Blender 5.x (measured: its image I/O initialises then), more than the add-on's 50 ms budget for a main-thread stall.
The previews the sidecar writes are small 8-bit PNGs, so this reads them directly: chunks, zlib, the five row filters.
`rgba_ints` gives what `ImagePreview.image_pixels` wants (one packed int per pixel, bottom row first; no per-pixel
Python), `rgba_floats` the same as floats, and `shrink` an icon. `pause` (called after each row) lets a reading thread
give Blender's main thread the interpreter lock between rows.
"""

import array
import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {6: 4, 2: 3, 0: 1, 4: 2}  # colour type -> channels (RGBA, RGB, grey, grey+alpha)
MAX_SIDE = 4096  # a preview is about 256 px; anything far larger is not one


class NotAPreview(ValueError):
    """The file is not a PNG this reader takes (it names why)."""


def _chunks(data):
    pos = len(SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        yield kind, data[pos + 8 : pos + 8 + length]
        pos += 12 + length


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(raw, width, height, bpp, pause=None):
    stride = width * bpp
    out = bytearray(stride * height)
    prev = bytearray(stride)
    pos = 0
    for y in range(height):
        kind = raw[pos]
        line = bytearray(raw[pos + 1 : pos + 1 + stride])
        pos += 1 + stride
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                up_left = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + _paeth(left, prev[i], up_left)) & 255
        elif kind != 0:
            raise NotAPreview("row {} has an unknown PNG filter {}".format(y, kind))
        out[y * stride : (y + 1) * stride] = line
        prev = line
        if pause is not None:
            pause()
    return out


def read_png(path, pause=None):
    """(width, height, RGBA bytes with the top row first) of an 8-bit, non-interlaced PNG."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(SIGNATURE):
        raise NotAPreview("{} is not a PNG file".format(path))
    header, idat = None, []
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body[:13])
        elif kind == b"IDAT":
            idat.append(body)
    if header is None:
        raise NotAPreview("{} has no PNG header".format(path))
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in CHANNELS or interlace or not 0 < max(width, height) <= MAX_SIDE:
        raise NotAPreview("{} is not a small 8-bit, non-interlaced PNG".format(path))
    channels = CHANNELS[colour]
    pixels = _unfilter(zlib.decompress(b"".join(idat)), width, height, channels, pause)
    if channels == 4:
        return width, height, bytes(pixels)
    rgba = bytearray(width * height * 4)
    for i in range(width * height):
        px = pixels[i * channels : (i + 1) * channels]
        grey = channels <= 2
        rgba[i * 4 : i * 4 + 3] = bytes((px[0], px[0], px[0])) if grey else px[:3]
        rgba[i * 4 + 3] = px[-1] if channels in (2, 4) else 255
    return width, height, bytes(rgba)


def shrink(width, height, rgba, size):
    """The picture scaled down (nearest pixel) so its long side is `size` at most: (width, height, RGBA bytes)."""
    scale = min(1.0, float(size) / max(width, height))
    w, h = max(1, int(round(width * scale))), max(1, int(round(height * scale)))
    out = bytearray(w * h * 4)
    for y in range(h):
        sy = min(height - 1, int(y / scale))
        for x in range(w):
            sx = min(width - 1, int(x / scale))
            out[(y * w + x) * 4 : (y * w + x) * 4 + 4] = rgba[(sy * width + sx) * 4 : (sy * width + sx) * 4 + 4]
    return w, h, bytes(out)


def _bottom_up(width, height, rgba):
    stride = width * 4
    return b"".join(rgba[(height - 1 - y) * stride : (height - y) * stride] for y in range(height))


def rgba_ints(width, height, rgba):
    """RGBA bytes (top row first) as one int per pixel, bottom row first: the bytes as they lie in Blender's buffer."""
    ints = array.array("i")
    ints.frombytes(_bottom_up(width, height, rgba))
    return ints


def rgba_floats(width, height, rgba):
    """RGBA bytes (top row first) as floats 0..1 with the bottom row first, as Blender's image buffers are."""
    return array.array("f", (b / 255.0 for b in _bottom_up(width, height, rgba)))
