"""Geometry Nodes modifier inputs, by name, on every supported Blender.

Identifiers differ between versions (`Input_2` on 3.x, `Socket_2` on 4.x), and 5.x no longer stores the values as
ID properties on the modifier (`mod.properties.inputs.Socket_2.value`), so inputs are always looked up by their name.
"""


def group_inputs(node_group):
    """[(name, identifier, socket_type)] of a node group's inputs, geometry excluded."""
    out = []
    if hasattr(node_group, "interface"):  # 4.0+
        for item in node_group.interface.items_tree:
            if getattr(item, "item_type", None) == "SOCKET" and item.in_out == "INPUT":
                if item.socket_type != "NodeSocketGeometry":
                    out.append((item.name, item.identifier, item.socket_type))
    else:  # 3.x
        for sock in node_group.inputs:
            if sock.bl_socket_idname != "NodeSocketGeometry":
                out.append((sock.name, sock.identifier, sock.bl_socket_idname))
    return out


def _identifier(mod, name):
    for input_name, identifier, socket_type in group_inputs(mod.node_group):
        if input_name == name:
            return identifier, socket_type
    names = ", ".join(n for n, _i, _t in group_inputs(mod.node_group))
    raise KeyError("modifier %r has no input named %r; its inputs: %s" % (mod.name, name, names or "none"))


def _uses_properties(mod):
    return hasattr(mod, "properties") and hasattr(getattr(mod, "properties"), "inputs")


def get_value(mod, name):
    identifier, _t = _identifier(mod, name)
    if _uses_properties(mod):
        value = getattr(mod.properties.inputs, identifier).value
    else:
        value = mod[identifier]
    if hasattr(value, "name") and hasattr(value, "bl_rna"):
        return value.name
    try:
        return list(value)
    except TypeError:
        return value


def set_value(mod, name, value):
    """Sets an input by name, converted for its socket: a channel entry's type need not be the socket's (a value written
    without a type is inferred from its JSON, so an int socket may be given 2.0 and a float socket 2)."""
    identifier, socket_type = _identifier(mod, name)
    kind = socket_kind(socket_type)
    value = _resolve_reference(socket_type, for_socket(kind, value))
    if _uses_properties(mod):
        prop = getattr(mod.properties.inputs, identifier)
        if kind in ("vector", "color") and hasattr(prop.value, "__len__"):
            value = _fit(value, len(prop.value), kind)
        prop.value = value
    elif kind in ("vector", "color") and hasattr(mod[identifier], "__len__"):
        raw = mod[identifier]
        raw[:] = _fit(value, len(raw), kind)  # in place: a new list would change the ID property's type (3.x)
    elif kind == "bool" and not isinstance(mod[identifier], bool):
        mod[identifier] = int(value)  # 3.x keeps booleans as integer ID properties
    else:
        mod[identifier] = value
    obj = mod.id_data
    obj.update_tag()


def for_socket(kind, value):
    """A channel value converted for a socket of sync type `kind`: numbers cross between int and float (rounded for an
    int socket), anything else is passed through for Blender to accept or refuse."""
    if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == "int" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(round(value))
    if kind == "bool" and isinstance(value, (int, float)):
        return bool(value)
    if kind in ("vector", "color") and isinstance(value, (list, tuple)):
        return [float(x) for x in value]
    return value


def _fit(items, length, kind):
    if len(items) >= length:
        return items[:length]
    pad = 1.0 if kind == "color" and len(items) == 3 else 0.0  # an RGB color gets an opaque alpha
    return list(items) + [pad] * (length - len(items))


def _resolve_reference(socket_type, value):
    import bpy

    kinds = {
        "NodeSocketObject": bpy.data.objects,
        "NodeSocketMaterial": bpy.data.materials,
        "NodeSocketCollection": bpy.data.collections,
    }
    data = kinds.get(socket_type)
    if data is None or value is None or not isinstance(value, str):
        return value
    found = data.get(value)
    if found is None:
        raise KeyError("no %s named %r" % (socket_type.replace("NodeSocket", "").lower(), value))
    return found


def socket_kind(socket_type):
    """The sync type name for a socket type (float, int, bool, vector, color, string, object, material, collection)."""
    base = socket_type.replace("NodeSocket", "")
    for prefix, kind in (
        ("Float", "float"),
        ("Int", "int"),
        ("Bool", "bool"),
        ("Vector", "vector"),
        ("Color", "color"),
        ("String", "string"),
        ("Object", "object"),
        ("Material", "material"),
        ("Collection", "collection"),
    ):
        if base.startswith(prefix):
            return kind
    return base.lower()
