"""Sync values as the sidecar holds them (`type` beside `value`, see docs/rpc.md, gn.set) and as a Geometry Nodes
socket takes them. No bpy: inputs.py does the reading and writing, this module the rules.

| socket (bl_idname starts with) | sync type | value |
| --- | --- | --- |
| NodeSocketFloat | float | a number |
| NodeSocketInt | int | an integer |
| NodeSocketBool | bool | true / false |
| NodeSocketVector | vector | 2 to 4 numbers |
| NodeSocketColor | color | 3 or 4 numbers |
| NodeSocketString | string | a string |
| NodeSocketObject / Material / Collection | object / material / collection | the data-block's name, or null |

Other sockets (geometry, images, rotations, menus, matrices) are not synced.
"""

import struct

_KINDS = (
    ("NodeSocketFloat", "float"),
    ("NodeSocketInt", "int"),
    ("NodeSocketBool", "bool"),
    ("NodeSocketVector", "vector"),
    ("NodeSocketColor", "color"),
    ("NodeSocketString", "string"),
    ("NodeSocketObject", "object"),
    ("NodeSocketMaterial", "material"),
    ("NodeSocketCollection", "collection"),
)
REFERENCE_TYPES = ("object", "material", "collection")
NUMBER_TYPES = ("float", "int")
ARRAY_TYPES = ("vector", "color")
_F32 = struct.Struct("<f")
INT32 = (-(2**31), 2**31 - 1)


def sync_type(socket_type):
    """The sync type of a socket's bl_idname (e.g. NodeSocketFloatFactor -> float), or None when it is not synced."""
    for prefix, kind in _KINDS:
        if socket_type.startswith(prefix):
            return kind
    return None


def f32(x):
    """`x` as Blender stores it (32-bit float), written with the fewest digits that read back to the same float:
    a slider at 0.3 is sent as 0.3, not 0.30000001192092896."""
    try:
        y = _F32.unpack(_F32.pack(x))[0]
    except (OverflowError, struct.error):
        return float(x)
    for digits in (6, 7, 8):
        short = float("%.*g" % (digits, y))
        if _F32.unpack(_F32.pack(short))[0] == y:
            return short
    return y


def same_value(a, b):
    """Equal as the sidecar compares values (arrays element by element; 1 == 1.0)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(x == y for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def for_socket(kind, value_type, value, length=None):
    """A sync value converted for a socket of sync type `kind` (arrays fitted to `length` items).

    Numbers cross between int and float (a float is rounded for an int socket), and vectors and colors into each
    other; anything else that does not fit raises ValueError with one sentence.
    """
    if (
        kind == value_type
        or (kind in NUMBER_TYPES and value_type in NUMBER_TYPES)
        or (kind in ARRAY_TYPES and value_type in ARRAY_TYPES)
    ):
        if kind == "float":
            return float(value)
        if kind == "int":
            return int(round(value))
        if kind == "bool":
            return bool(value)
        if kind in ARRAY_TYPES:
            return _fit(list(value), length, kind)
        if kind == "string":
            return str(value)
        return value  # a data-block's name, or None
    raise ValueError(
        "the channel holds a {} value ({!r}), but this input takes {} values".format(value_type, value, kind)
    )


def _fit(items, length, kind):
    if length is None or len(items) == length:
        return [float(x) for x in items]
    if len(items) > length:
        return [float(x) for x in items[:length]]
    pad = 1.0 if kind == "color" and len(items) == 3 else 0.0  # an RGB color gets an opaque alpha
    return [float(x) for x in items] + [pad] * (length - len(items))


def normalized(kind, raw):
    """A value read from Blender in its sync form: floats as stored (see f32), arrays as lists, references by name."""
    if kind == "float":
        return f32(raw)
    if kind == "int":
        return int(raw)
    if kind == "bool":
        return bool(raw)
    if kind in ARRAY_TYPES:
        return [f32(x) for x in raw]
    if kind == "string":
        return str(raw)
    return getattr(raw, "name", None) if raw is not None else None


def describe(value_type, value):
    """How a value reads in a message: 0.3, 12, true, (0, 0, 1.5), "Steel", none."""
    if value is None:
        return "none"
    if value_type == "bool":
        return "on" if value else "off"
    if value_type in ARRAY_TYPES:
        return "({})".format(", ".join("{:g}".format(x) for x in value))
    if value_type == "float":
        return "{:g}".format(value)
    if isinstance(value, str):
        return '"{}"'.format(value)
    return str(value)
