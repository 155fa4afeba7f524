"""A Geometry Nodes modifier's inputs by name, on every supported Blender (the add-on's own copy of the worker's
sidecar_worker/gn_inputs.py, which it cannot import).

| Blender | group inputs | identifier | value |
| --- | --- | --- | --- |
| 3.x | `node_group.inputs` | `Input_2` | `mod["Input_2"]` (an ID property) |
| 4.x | `node_group.interface.items_tree` (SOCKET, INPUT) | `Socket_2` | `mod["Socket_2"]` |
| 5.x | as 4.x | `Socket_2` | `mod.properties.inputs.Socket_2.value` (`mod[...]` raises there) |

Which API a Blender has is told by `hasattr`, never by its version number; identifiers are looked up by name on
every read, since they differ across versions and change when a group's inputs are edited.
"""

import bpy

from . import values


class Input(object):
    """One synced input of a modifier's node group: its name, identifier, socket bl_idname and sync type."""

    __slots__ = ("name", "identifier", "socket_type", "kind")

    def __init__(self, name, identifier, socket_type, kind):
        self.name = name
        self.identifier = identifier
        self.socket_type = socket_type
        self.kind = kind


def inputs(mod):
    """The modifier's group inputs that sync (see values.sync_type), in the group's order; [] without a group."""
    group = mod.node_group
    if group is None:
        return []
    if hasattr(group, "interface"):  # 4.0+
        found = [
            (item.name, item.identifier, item.socket_type)
            for item in group.interface.items_tree
            if getattr(item, "item_type", None) == "SOCKET" and item.in_out == "INPUT"
        ]
    else:  # 3.x
        found = [(sock.name, sock.identifier, sock.bl_socket_idname) for sock in group.inputs]
    out = []
    for name, identifier, socket_type in found:
        kind = values.sync_type(socket_type)
        if kind is not None:
            out.append(Input(name, identifier, socket_type, kind))
    return out


def _stores_properties(mod):
    """Blender 5.x keeps input values in `mod.properties.inputs`, no longer as ID properties of the modifier."""
    return hasattr(mod, "properties") and hasattr(mod.properties, "inputs")


def _raw(mod, inp):
    if _stores_properties(mod):
        return getattr(mod.properties.inputs, inp.identifier).value
    return mod[inp.identifier]


def read(mod, inp):
    """The input's value in its sync form (values.normalized). Raises KeyError when the modifier has no value for
    it (a group edited since the modifier last evaluated)."""
    return values.normalized(inp.kind, _raw(mod, inp))


def read_all(mod):
    """[(Input, value)] of every synced input of the modifier; inputs without a value are left out."""
    out = []
    for inp in inputs(mod):
        try:
            out.append((inp, read(mod, inp)))
        except (KeyError, AttributeError):
            pass
    return out


def write(mod, inp, value_type, value):
    """Sets the input to a sync value (converted with values.for_socket) and tags the object, so the depsgraph
    evaluates it again. Raises ValueError, in one sentence, when the value does not fit or names a missing
    data-block."""
    raw = _raw(mod, inp)
    length = len(raw) if inp.kind in values.ARRAY_TYPES else None
    value = values.for_socket(inp.kind, value_type, value, length)
    if inp.kind in values.REFERENCE_TYPES:
        value = _data_block(inp.kind, value)
    if _stores_properties(mod):
        getattr(mod.properties.inputs, inp.identifier).value = value
    elif inp.kind in values.ARRAY_TYPES:
        raw[:] = value  # in place: a new list would become a double array, which the modifier refuses (3.x, 4.x)
    elif inp.kind == "bool" and not isinstance(raw, bool):
        mod[inp.identifier] = int(value)  # 3.x keeps booleans as integer ID properties
    else:
        mod[inp.identifier] = value
    mod.id_data.update_tag()


def _data_block(kind, name):
    if name is None:
        return None
    collection = {"object": bpy.data.objects, "material": bpy.data.materials, "collection": bpy.data.collections}[kind]
    found = collection.get(name)
    if found is None:
        raise ValueError("there is no {} named {!r} in this file".format(kind, name))
    return found
