"""The pipeline's node types as the editor sees them (docs/pipeline.md), no bpy: each type's sockets and every setting
with the node property that holds it. nodes.py makes the properties from this, serialize.py reads and writes them by
it, and the plain-Python tests check it.

What a setting is comes from the sidecar, through tables.json (its JSON Schema: the settings a node takes, their
defaults, which are required, an enum's values; the node types' titles, summaries and sockets). What only the editor
needs is in fields.py: a short label and tooltip, how the property holds the value (`kind`), when it is shown. A
setting the sidecar has and fields.py does not still gets a property, made from its schema.

How a setting is written when the editor serializes a node (`written`):
- a required setting always (an empty one is then refused by the sidecar, naming the node);
- an optional setting without a default (a frame list, a camera, export options) when it is not empty;
- a setting with a default when it was set (imported from JSON or changed in the editor) or differs from the default.
So a graph imported from JSON is written back as it came, and a fresh node writes only what the artist chose.
"""

from .. import tables
from . import fields

VERSION = tables.PIPELINE_VERSION
TREE_ID = "SidecarPipelineTree"
SOCKET_IDS = {"objects": "SidecarObjectsSocket", "files": "SidecarFilesSocket"}
SOCKET_LABELS = {"objects": "Objects", "files": "Files"}
# How each kind is held in Blender: enum (an EnumProperty of the JSON values), bool, number (a float), count (an int
# where 0 means "not set"), text (a string), names (a list of names as text: `Cube, "Rock, big"`), values (a list of
# numbers, booleans, names and vectors as text: `2, 3.5, true, Rock, [1, 2, 3]`), json (a JSON object as text).
KINDS = ("enum", "bool", "number", "count", "text", "names", "values", "json")
EMPTY = {"count": 0, "text": "", "names": "", "values": "", "json": ""}
# Editor-only properties: which of `values` / `range` a Geometry Nodes Variant uses.
SPREADS = (("values", "Values", "A list of values"), ("range", "Range", "From start to end by step"))


class Setting(object):
    """One setting of a node type: `path` its keys in the JSON settings (("checks", "ngons") is nested), `prop` the
    node property, `kind` how it is held (see `KINDS`), `when` = (prop, value): only written while that property has
    that value (a source's objects only in mode objects), `aliases` other names an enum takes (lower case)."""

    __slots__ = (
        "path",
        "prop",
        "kind",
        "default",
        "absent",
        "required",
        "items",
        "when",
        "label",
        "description",
        "limits",
        "aliases",
    )

    def __init__(self, field, schema, required):
        self.path = field.path
        self.prop = field.prop
        self.kind = field.kind
        self.default = _default(field, schema)
        # The value that means "not set" (the sidecar's own default applies): an empty text, 0, an enum's "scene".
        self.absent = field.absent if field.absent is not None else EMPTY.get(field.kind)
        self.required = required
        self.items = _items(field, schema)
        self.when = field.when
        self.label = field.label
        self.description = field.description
        self.limits = field.limits
        self.aliases = field.aliases

    @property
    def key(self):
        return ".".join(self.path)


def _default(field, schema):
    """The sidecar's default; where it has none, the editor's (a required choice's first, the "not set" value)."""
    if "default" in schema:
        value = schema["default"]
        return float(value) if field.kind == "number" else value
    return field.default if field.default is not None else field.absent


def _items(field, schema):
    """An enum's (value, label, description) in the sidecar's order, labelled by fields.py where it names them."""
    if field.kind != "enum":
        return None
    labels = {item[0]: item[1:] for item in field.items or ()}
    values = schema.get("enum") or [item[0] for item in field.items]
    return tuple((v,) + tuple(labels.get(v, (fields.label_of(v), ""))) for v in values)


class NodeType(object):
    """A node type: its JSON `type`, Blender class id, title, sockets ((name, socket type, multi), ...), settings."""

    __slots__ = ("type", "idname", "title", "summary", "icon", "inputs", "outputs", "settings")

    def __init__(self, spec, settings):
        self.type = spec["type"]
        self.idname = "SidecarPipeline{}Node".format("".join(p.capitalize() for p in self.type.split("_")))
        self.title = spec["title"]
        # Blender's tooltips end without a full stop.
        self.summary = spec["summary"].rstrip(".")
        self.icon = fields.ICONS.get(self.type, "NODE")
        self.inputs = tuple((s["name"], s["type"], bool(s.get("multi"))) for s in spec["inputs"])
        self.outputs = tuple((s["name"], s["type"], bool(s.get("multi"))) for s in spec["outputs"])
        self.settings = settings

    def setting(self, key):
        return next((s for s in self.settings if s.key == key), None)


def schema_settings(settings_schema):
    """[(path, schema of the value, required)] of a node type's settings, nested objects (checks, range) flattened."""
    out = []
    top_required = settings_schema.get("required") or []
    for key, prop in (settings_schema.get("properties") or {}).items():
        inner = prop.get("properties")
        if inner:
            for sub, sub_prop in inner.items():
                out.append(((key, sub), sub_prop, sub in (prop.get("required") or [])))
        else:
            out.append(((key,), prop, key in top_required))
    return out


def _node_type(spec):
    """A node type from the sidecar's table, its settings in fields.py's order, then any it does not know."""
    known = {path: (prop, required) for path, prop, required in schema_settings(spec["settings"])}
    chosen = [f for f in fields.FIELDS.get(spec["type"], ()) if f.path in known]
    named = {f.path for f in chosen}
    chosen += [fields.from_schema(path, prop) for path, (prop, _r) in known.items() if path not in named]
    return NodeType(spec, tuple(Setting(f, known[f.path][0], known[f.path][1]) for f in chosen))


def written(node_type, setting, value, is_set, props):
    """Whether `setting` (holding `value`) goes into the JSON; `is_set` says it was set explicitly; `props` reads the
    node's other properties (for `when`). See the module's docstring."""
    if setting.when is not None and props(setting.when[0]) != setting.when[1]:
        return False
    if setting.required:
        return True
    if setting.absent is not None:
        return bool(value.strip()) if isinstance(value, str) and setting.kind != "enum" else value != setting.absent
    return is_set or value != setting.default


NODE_TYPES = tuple(_node_type(spec) for spec in tables.NODE_TYPES)
BY_TYPE = {t.type: t for t in NODE_TYPES}
BY_IDNAME = {t.idname: t for t in NODE_TYPES}
