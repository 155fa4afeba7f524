"""The pipeline's JSON form as the editor sees it (docs/pipeline.md): node types, their sockets, and every setting with
the node property that holds it. No bpy: nodes.py makes the properties from this table, serialize.py reads and writes
them by it, and the plain-Python tests check it.

How a setting is written when the editor serializes a node (`written`):
- a required setting always (an empty one is then refused by the sidecar, naming the node);
- an optional setting without a default (a frame list, a camera, export options) when it is not empty;
- a setting with a default when it was set (imported from JSON or changed in the editor) or differs from the default.
So a graph imported from JSON is written back as it came, and a fresh node writes only what the artist chose. The
editor's defaults are the sidecar's (test_pipeline_editor.py compares them with docs/pipeline.schema.json).
"""

import json
import math
import os
import re

from ..errors import SidecarError

VERSION = 1
TREE_ID = "SidecarPipelineTree"
SOCKET_IDS = {"objects": "SidecarObjectsSocket", "files": "SidecarFilesSocket"}
SOCKET_LABELS = {"objects": "Objects", "files": "Files"}
TEMPLATE_FOLDER = os.path.join("sidecar", "pipelines", "templates")


class Setting(object):
    """One setting of a node type: `path` its keys in the JSON settings (("checks", "ngons") is nested), `prop` the
    node property, `kind` how it is held (see `KINDS`), `when` = (prop, value): only written while that property has
    that value (a source's objects only in mode objects)."""

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
    )

    def __init__(
        self,
        path,
        kind,
        label,
        description,
        default=None,
        required=False,
        items=None,
        prop=None,
        when=None,
        limits=None,
        absent=None,
    ):
        self.path = tuple(path.split("."))
        self.prop = prop or self.path[-1]
        self.kind = kind
        self.default = default
        # The value that means "not set" (the sidecar's own default applies): an empty text, 0, an enum's "scene".
        self.absent = absent if absent is not None else EMPTY.get(kind)
        self.required = required
        self.items = items
        self.when = when
        self.label = label
        self.description = description
        self.limits = limits or {}

    @property
    def key(self):
        return ".".join(self.path)


# How each kind is held in Blender: enum (an EnumProperty of the JSON values), bool, number (a float), count (an int
# where 0 means "not set"), text (a string), names (a list of names as text: `Cube, "Rock, big"`), values (a list of
# numbers, booleans, names and vectors as text: `2, 3.5, true, Rock, [1, 2, 3]`), json (a JSON object as text).
KINDS = ("enum", "bool", "number", "count", "text", "names", "values", "json")
EMPTY = {"count": 0, "text": "", "names": "", "values": "", "json": ""}

CHECK_LEVELS = (
    ("fail", "Fail", "A finding fails the step and skips what depends on it in its branch"),
    ("warn", "Warn", "A finding is reported; the branch goes on"),
    ("off", "Off", "Not checked"),
)
CHECKS = (
    (
        "non_manifold",
        "Non-Manifold",
        "warn",
        "Edges not shared by exactly two faces (holes, open borders, loose edges)",
    ),
    ("missing_textures", "Missing Textures", "fail", "Image textures whose file is not on disk (and not packed)"),
    ("unapplied_scale", "Unapplied Scale", "warn", "Objects whose scale is not (1, 1, 1)"),
    ("ngons", "N-Gons", "warn", "Faces with more than four sides"),
    ("empty_meshes", "Empty Meshes", "fail", "Mesh objects with no faces"),
)
EXPORT_FORMATS = (
    ("glb", "glTF Binary (.glb)", "glTF 2.0, one binary file"),
    ("gltf", "glTF Separate (.gltf)", "glTF 2.0, JSON with .bin and textures beside it"),
    ("fbx", "FBX (.fbx)", "Autodesk FBX"),
    ("obj", "Wavefront (.obj)", "Wavefront OBJ"),
    ("usd", "USD (.usdc)", "Universal Scene Description"),
    ("stl", "STL (.stl)", "Stereolithography"),
    ("ply", "PLY (.ply)", "Stanford PLY"),
    ("abc", "Alembic (.abc)", "Alembic"),
)
IMAGE_FORMATS = (
    ("PNG", "PNG", ""),
    ("JPEG", "JPEG", ""),
    ("OPEN_EXR", "OpenEXR", ""),
    ("OPEN_EXR_MULTILAYER", "OpenEXR Multilayer", ""),
    ("TIFF", "TIFF", ""),
    ("BMP", "BMP", ""),
    ("TARGA", "Targa", ""),
    ("TARGA_RAW", "Targa Raw", ""),
    ("WEBP", "WebP", ""),
    ("HDR", "Radiance HDR", ""),
    ("JPEG2000", "JPEG 2000", ""),
    ("CINEON", "Cineon", ""),
    ("DPX", "DPX", ""),
    ("IRIS", "Iris", ""),
)
# The short names the sidecar also takes for a render's format (sidecar/domain/render/render-request.ts).
IMAGE_FORMAT_ALIASES = {"jpg": "JPEG", "exr": "OPEN_EXR", "tif": "TIFF", "tga": "TARGA"}
# As sidecar/domain/render/movie.ts MOVIE_CODECS (test_pipeline_editor.py checks them against the sidecar's schema).
MOVIE_CODECS = (("h264", "H.264", "Small files, plays everywhere"), ("mpeg4", "MPEG-4", "MPEG-4 Part 2"))
ENGINES = (
    ("scene", "Scene's", "The engine the scene is set to"),
    ("cycles", "Cycles", ""),
    ("eevee", "EEVEE", ""),
    ("workbench", "Workbench", ""),
)
OUTPUT_HELP = (
    "An absolute path, or // for the blend file's folder; {name} is the branch (collection, object or file), "
    "{variant} the Geometry Nodes value, {variant_index} its position, {date} the day, {node} the node's id"
)


class NodeType(object):
    """A node type: its JSON `type`, Blender class id, title, sockets ((name, socket type, multi), ...), settings."""

    __slots__ = ("type", "idname", "title", "summary", "icon", "inputs", "outputs", "settings")

    def __init__(self, type_, title, summary, icon, inputs, outputs, settings):
        self.type = type_
        self.idname = "SidecarPipeline{}Node".format("".join(p.capitalize() for p in type_.split("_")))
        self.title = title
        self.summary = summary
        self.icon = icon
        self.inputs = inputs
        self.outputs = outputs
        self.settings = settings

    def setting(self, key):
        return next((s for s in self.settings if s.key == key), None)


OBJECTS_IN = (("objects", "objects", False),)
OBJECTS_OUT = (("objects", "objects", False),)

NODE_TYPES = (
    NodeType(
        "source",
        "Source",
        "What the pipeline works on: the whole file, some objects, a collection, or a branch per collection",
        "SCENE_DATA",
        (),
        OBJECTS_OUT,
        (
            Setting(
                "mode",
                "enum",
                "Mode",
                "What the branches start from",
                default="file",
                items=(
                    ("file", "File", "Every visible object of the scene"),
                    ("objects", "Objects", "The objects named"),
                    ("collection", "Collection", "One collection and its children"),
                    ("collections", "Collections", "A branch per collection under the scene's own that holds objects"),
                ),
            ),
            Setting(
                "objects", "names", "Objects", "The objects, by name, separated by commas", when=("mode", "objects")
            ),
            Setting("collection", "text", "Collection", "The collection, by name", when=("mode", "collection")),
            Setting(
                "exclude",
                "names",
                "Exclude",
                "Collections to leave out, separated by commas",
                when=("mode", "collections"),
            ),
            Setting(
                "name",
                "text",
                "Branch Name",
                "{name} for this branch (default: the collection, the single object, or the file's name)",
                prop="branch_name",
            ),
        ),
    ),
    NodeType(
        "validate",
        "Validate",
        "Checks the meshes; a check set to fail stops everything downstream of it in its branch",
        "CHECKMARK",
        OBJECTS_IN,
        OBJECTS_OUT,
        tuple(
            Setting("checks." + name, "enum", label, what, default=default, items=CHECK_LEVELS)
            for name, label, default, what in CHECKS
        ),
    ),
    NodeType(
        "transform",
        "Transform",
        "Changes the meshes in a copy of the file: modifiers, decimate, triangulate, rotation and scale, origin",
        "MODIFIER",
        OBJECTS_IN,
        OBJECTS_OUT,
        (
            Setting(
                "applyModifiers",
                "bool",
                "Apply Modifiers",
                "Apply every modifier (Geometry Nodes included)",
                default=False,
            ),
            Setting(
                "decimateRatio",
                "number",
                "Decimate",
                "Collapse to this share of the faces (1: no decimation)",
                default=1.0,
                absent=1.0,
                limits={"min": 0.0001, "max": 1.0},
            ),
            Setting("triangulate", "bool", "Triangulate", "Split every face into triangles", default=False),
            Setting("applyRotation", "bool", "Apply Rotation", "Apply the rotation to the mesh", default=False),
            Setting("applyScale", "bool", "Apply Scale", "Apply the scale to the mesh", default=False),
            Setting(
                "origin",
                "enum",
                "Origin",
                "Where to move each origin",
                default="keep",
                items=(
                    ("keep", "Keep", "Leave the origin where it is"),
                    ("geometry", "Geometry", "The vertices' median"),
                    ("bounds", "Bounds", "The bounding box's centre"),
                    ("bottom", "Bottom", "The centre of the bounding box's bottom face"),
                    ("world", "World", "The world origin (0, 0, 0)"),
                ),
            ),
        ),
    ),
    NodeType(
        "gn_variant",
        "Geometry Nodes Variant",
        "Fans out: one branch per value of one Geometry Nodes input, each in its own copy of the file",
        "GEOMETRY_NODES",
        OBJECTS_IN,
        OBJECTS_OUT,
        (
            Setting("object", "text", "Object", "The object with the Geometry Nodes modifier", required=True),
            Setting("modifier", "text", "Modifier", "The modifier's name (default: the first Geometry Nodes one)"),
            Setting("input", "text", "Input", "The input's name as Blender shows it (e.g. Count)", required=True),
            Setting(
                "values",
                "values",
                "Values",
                "The values, separated by commas: 2, 3.5, true, Rock, [1, 2, 3]",
                when=("spread", "values"),
            ),
            Setting(
                "range.start",
                "number",
                "Start",
                "The first value",
                required=True,
                prop="range_start",
                when=("spread", "range"),
            ),
            Setting(
                "range.end",
                "number",
                "End",
                "The last value (inclusive)",
                required=True,
                prop="range_end",
                when=("spread", "range"),
            ),
            Setting(
                "range.step",
                "number",
                "Step",
                "The step between values",
                default=1.0,
                prop="range_step",
                when=("spread", "range"),
                limits={"min": 1e-6},
            ),
        ),
    ),
    NodeType(
        "export",
        "Export",
        "Writes the objects to a file per branch, checked before it counts",
        "EXPORT",
        OBJECTS_IN,
        (("files", "files", False),),
        (
            Setting(
                "format",
                "enum",
                "Format",
                "The file format (those the sidecar's Blender can write)",
                default="glb",
                required=True,
                items=EXPORT_FORMATS,
            ),
            Setting(
                "output",
                "text",
                "Output",
                "The file to write (a folder ending in / gets {name}.ext). " + OUTPUT_HELP,
                required=True,
            ),
            Setting(
                "applyModifiers", "bool", "Apply Modifiers", "Export meshes with their modifiers applied", default=True
            ),
            Setting(
                "options",
                "json",
                "Options",
                'Exporter options by Blender\'s name, as a JSON object, e.g. {"export_yup": true}',
            ),
        ),
    ),
    NodeType(
        "render",
        "Render",
        "Renders frames of the scene per branch, every frame checked",
        "RENDER_ANIMATION",
        OBJECTS_IN,
        (("files", "files", False),),
        (
            Setting(
                "output",
                "text",
                "Output",
                "A folder (frames ####.png in it) or a path with # for the frame number. " + OUTPUT_HELP,
                required=True,
            ),
            Setting("frames", "text", "Frames", "e.g. 1-24 or 1,5,10-20x2 (empty: the scene's range)"),
            Setting("format", "enum", "Format", "The image format", default="PNG", items=IMAGE_FORMATS),
            Setting("engine", "enum", "Engine", "The render engine", default="scene", items=ENGINES, absent="scene"),
            Setting("samples", "count", "Samples", "Render samples (0: the scene's)", limits={"max": 1000000}),
            Setting(
                "resolutionPercent", "count", "Resolution %", "Resolution scale (0: the scene's)", limits={"max": 1000}
            ),
            Setting("camera", "text", "Camera", "The camera object (empty: the scene's)"),
            Setting(
                "turntable",
                "bool",
                "Turntable",
                "Render from a camera made at run time that orbits the objects over the frames (no camera needed; "
                "the file is not changed)",
                default=False,
            ),
            Setting(
                "turntableTurns",
                "number",
                "Turns",
                "How many times the camera goes round over the frames",
                default=1.0,
                limits={"min": 0.01, "max": 100.0},
                when=("turntable", True),
            ),
            Setting(
                "turntableElevation",
                "number",
                "Elevation",
                "The camera's height above the objects' centre, in degrees",
                default=20.0,
                limits={"min": -89.0, "max": 89.0},
                when=("turntable", True),
            ),
            Setting(
                "instances",
                "count",
                "Instances",
                "At most this many of this node's frames at once (0: any)",
                limits={"max": 64},
            ),
        ),
    ),
    NodeType(
        "movie",
        "Movie",
        "Encodes a Render node's frames into a preview movie per branch with Blender's own FFmpeg, checked",
        "FILE_MOVIE",
        (("files", "files", False),),
        (("files", "files", False),),
        (
            Setting(
                "output",
                "text",
                "Output",
                "The movie file: .mp4, .mov or .mkv (put {name} or {variant} in it when the pipeline fans out). "
                + OUTPUT_HELP,
                required=True,
            ),
            Setting(
                "fps",
                "number",
                "FPS",
                "Frames per second (0: the scene's frame rate)",
                default=0.0,
                absent=0.0,
                limits={"min": 0.0, "max": 240.0},
            ),
            Setting("codec", "enum", "Codec", "The video codec", default="h264", items=MOVIE_CODECS),
        ),
    ),
    NodeType(
        "bake",
        "Bake",
        "Bakes texture maps of the meshes (from high-poly sources, if named); the maps go into the materials for the "
        "steps after",
        "TEXTURE",
        OBJECTS_IN,
        OBJECTS_OUT,
        (
            Setting(
                "maps",
                "names",
                "Maps",
                "Bake types, separated by commas: normal, ao, diffuse, roughness, emit, ...",
                required=True,
            ),
            Setting(
                "output",
                "text",
                "Output",
                "The folder the maps go to, as <object>_<map>.png. " + OUTPUT_HELP,
                required=True,
            ),
            Setting("size", "count", "Size", "Width and height in pixels", default=1024, limits={"min": 8, "max": 16384}),
            Setting("margin", "count", "Margin", "Pixels baked past the UV islands", default=16, limits={"max": 256}),
            Setting("samples", "count", "Samples", "Cycles samples (0: the scene's)", limits={"max": 65536}),
            Setting("objects", "names", "Targets", "The targets, by name (empty: every mesh in scope but the sources)"),
            Setting("sources", "names", "From", "High-poly objects baked onto each target, separated by commas"),
            Setting("extrusion", "number", "Extrusion", "How far out rays start (with sources)", default=0.0, limits={"min": 0.0}),
            Setting(
                "maxRayDistance", "number", "Max Ray", "How far rays reach (0: no limit)", default=0.0, limits={"min": 0.0}
            ),
            Setting("useInMaterials", "bool", "Use in Materials", "Put the maps into the materials (packed)", default=True),
        ),
    ),
    NodeType(
        "report",
        "Report",
        "Collects what the pipeline produced; with an output it is also written there as JSON",
        "TEXT",
        (("files", "files", True),),
        (),
        (Setting("output", "text", "Output", "Also write the report as JSON here ({name}: the pipeline's name)"),),
    ),
)
BY_TYPE = {t.type: t for t in NODE_TYPES}
BY_IDNAME = {t.idname: t for t in NODE_TYPES}
# Editor-only properties: which of `values` / `range` a Geometry Nodes Variant uses.
SPREADS = (("values", "Values", "A list of values"), ("range", "Range", "From start to end by step"))


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


def to_json(node, setting, value):
    """The JSON value of a property's `value`; raises SidecarError naming `node` when the text does not parse."""
    kind = setting.kind
    if kind == "number":
        return number(value)
    if kind == "names":
        return parse_list(value, names=True, what="{} {}".format(node, setting.label))
    if kind == "values":
        return parse_list(value, names=False, what="{} {}".format(node, setting.label))
    if kind == "json":
        try:
            parsed = json.loads(value)
        except ValueError as err:
            raise SidecarError(
                '{}: {} is not JSON ({}): write an object such as {{"export_yup": true}}.'.format(
                    node, setting.label, err
                )
            )
        if not isinstance(parsed, dict):
            raise SidecarError(
                '{}: {} must be a JSON object, such as {{"export_yup": true}}.'.format(node, setting.label)
            )
        return parsed
    return value


def from_json(node, setting, value):
    """The property value for a JSON value; raises SidecarError naming `node` when it does not fit."""
    kind = setting.kind

    def wrong(expected):
        return SidecarError(
            "{}: settings.{} is {}, but it takes {}.".format(node, setting.key, json.dumps(value), expected)
        )

    if kind == "enum":
        names = [item[0] for item in setting.items]
        if isinstance(value, str) and setting.items is IMAGE_FORMATS:
            value = IMAGE_FORMAT_ALIASES.get(value.lower(), value.upper())
        if value not in names or value == setting.absent:
            raise wrong("one of " + ", ".join(n for n in names if n != setting.absent))
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong("a number")
        return float(value)
    if kind == "count":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise wrong("a whole number of 1 or more")
        return value
    if kind == "text":
        if not isinstance(value, str):
            raise wrong("a string")
        return value
    if kind in ("names", "values"):
        if not isinstance(value, list):
            raise wrong("a list")
        if kind == "names" and not all(isinstance(v, str) for v in value):
            raise wrong("a list of names")
        return format_list(value, names=kind == "names")
    if kind == "json":
        if not isinstance(value, dict):
            raise wrong("an object")
        return json.dumps(value)
    raise AssertionError(kind)


def number(value):
    """A float as JSON writes it: 2 for 2.0 (the templates' form), 0.25 as it is."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


# -- lists as one line of text ------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def parse_list(text, names, what="the list"):
    """The items of `text`, separated by commas. Names stay text; a name holding a comma or quote is written in double
    quotes. With `names` False, numbers, true/false and vectors ([1, 2, 3]) are read as such, other items as names."""
    items = []
    for token in _split(text, what):
        if token.startswith('"'):
            try:
                item = json.loads(token)
            except ValueError:
                raise SidecarError('{}: {} is not a quoted name (write \\" for a quote inside).'.format(what, token))
        elif token.startswith("["):
            if names:
                raise SidecarError("{}: {} is a vector, but this takes names.".format(what, token))
            try:
                item = json.loads(token)
            except ValueError:
                item = None
            if not (isinstance(item, list) and 2 <= len(item) <= 4 and all(_is_number(v) for v in item)):
                raise SidecarError("{}: {} is not a vector of 2 to 4 numbers, such as [1, 2, 3].".format(what, token))
        elif names:
            item = token
        elif _NUMBER.match(token):
            item = json.loads(token) if re.match(r"^-?\d+$", token) else float(token)
        elif token in ("true", "false"):
            item = token == "true"
        else:
            item = token
        items.append(item)
    return items


def format_list(items, names):
    """The text `parse_list` reads back as `items`."""
    return ", ".join(_format_item(item, names) for item in items)


def _format_item(item, names):
    if isinstance(item, bool):
        return "true" if item else "false"
    if _is_number(item):
        return json.dumps(item)
    if isinstance(item, list):
        return json.dumps(item)
    text = str(item)
    plain = (
        text
        and text == text.strip()
        and not any(c in text for c in ',"[]')
        and (names or not (_NUMBER.match(text) or text in ("true", "false")))
    )
    return text if plain else json.dumps(text)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _split(text, what):
    """Splits at commas outside double quotes and brackets; empty items are dropped."""
    tokens, current, quoted, depth, escaped = [], [], False, 0, False
    for c in text:
        if quoted:
            current.append(c)
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                quoted = False
            continue
        if c == '"':
            quoted = True
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        elif c == "," and depth == 0:
            tokens.append("".join(current))
            current = []
            continue
        current.append(c)
    if quoted or depth:
        raise SidecarError("{}: a quote or bracket is not closed in {}.".format(what, text))
    tokens.append("".join(current))
    return [t.strip() for t in tokens if t.strip()]


# -- checking a graph before it becomes nodes ---------------------------------------------------------------------


def describe(node_json):
    """How messages name a node: "validate node 'Check meshes' (id validate)", as the sidecar does."""
    nid, ntype, name = node_json.get("id"), node_json.get("type"), node_json.get("name")
    if name and name != nid:
        return "{} node '{}' (id {})".format(ntype, name, nid)
    return "{} node '{}'".format(ntype, nid)


def check_importable(graph):
    """Raises SidecarError naming every problem that keeps `graph` from becoming nodes: not the JSON form, unknown
    node types or settings, links to nodes or sockets that do not exist. What the sidecar checks beyond that (cycles,
    unlinked inputs, output templates) stays for Validate, so a graph that is still being built can be imported."""
    if not isinstance(graph, dict):
        raise SidecarError('This is not a pipeline: a pipeline is a JSON object {"version": 1, "nodes": [...], ...}.')
    problems = []
    if graph.get("version") != VERSION:
        problems.append(
            "version is {}, and this add-on reads version {}".format(json.dumps(graph.get("version")), VERSION)
        )
    for key in sorted(set(graph) - {"version", "name", "description", "nodes", "links", "ui"}):
        problems.append("'{}' is not a field of a pipeline".format(key))
    nodes = graph.get("nodes")
    if not isinstance(nodes, list):
        problems.append("nodes must be a list")
        nodes = []
    ids = {}
    for i, n in enumerate(nodes):
        where = "nodes[{}]".format(i)
        if not isinstance(n, dict) or not isinstance(n.get("id"), str) or not n["id"]:
            problems.append("{} needs an id".format(where))
            continue
        if n["id"] in ids:
            problems.append("{}: id '{}' is also the id of nodes[{}]".format(where, n["id"], ids[n["id"]]))
            continue
        node_type = BY_TYPE.get(n.get("type"))
        ids[n["id"]] = i
        if node_type is None:
            named = "node '{}' (id {})".format(n["name"], n["id"]) if n.get("name") else "node '{}'".format(n["id"])
            problems.append(
                "{} has an unknown type {}; the node types are {}".format(
                    named, json.dumps(n.get("type")), ", ".join(t.type for t in NODE_TYPES)
                )
            )
            continue
        for key in sorted(set(n) - {"id", "type", "name", "settings", "ui"}):
            problems.append("{}: '{}' is not a field of a node".format(describe(n), key))
        settings = n.get("settings", {})
        if not isinstance(settings, dict):
            problems.append("{}: settings must be an object".format(describe(n)))
            continue
        problems += _unknown_settings(n, node_type, settings)
        for setting in node_type.settings:
            value = get(settings, setting.path)
            if value is not None:
                try:
                    from_json(describe(n), setting, value)
                except SidecarError as err:
                    problems.append(str(err).rstrip("."))
    links = graph.get("links", [])
    if not isinstance(links, list):
        problems.append("links must be a list")
        links = []
    for i, link in enumerate(links):
        problems += _link_problems(i, link, nodes, ids)
    if problems:
        raise SidecarError("This pipeline cannot be opened in the editor: {}.".format("; ".join(problems)))


def _unknown_settings(n, node_type, settings):
    known = {}
    for s in node_type.settings:
        known.setdefault(s.path[0], set()).add(s.path[1] if len(s.path) > 1 else None)
    problems = []
    for key, value in settings.items():
        if key not in known:
            problems.append(
                "{}: settings.{} is not known here; it takes {}".format(describe(n), key, ", ".join(sorted(known)))
            )
        elif None not in known[key]:
            if not isinstance(value, dict):
                problems.append("{}: settings.{} must be an object".format(describe(n), key))
                continue
            for sub in sorted(set(value) - known[key]):
                problems.append(
                    "{}: settings.{}.{} is not known here; it takes {}".format(
                        describe(n), key, sub, ", ".join(sorted(known[key]))
                    )
                )
    return problems


def _link_problems(i, link, nodes, ids):
    where = "links[{}]".format(i)
    try:
        ends = [(link[end]["node"], link[end]["socket"]) for end in ("from", "to")]
    except (KeyError, TypeError):
        return ['{} must be {{"from": {{"node", "socket"}}, "to": {{"node", "socket"}}}}'.format(where)]
    problems = []
    for (node_id, socket), side in zip(ends, ("outputs", "inputs")):
        if node_id not in ids:
            problems.append("{}: there is no node '{}'".format(where, node_id))
            continue
        node_type = BY_TYPE.get(nodes[ids[node_id]].get("type"))
        if node_type is not None and socket not in [s[0] for s in getattr(node_type, side)]:
            names = [s[0] for s in getattr(node_type, side)]
            problems.append(
                "{}: {} has no {} '{}'{}".format(
                    where,
                    describe(nodes[ids[node_id]]),
                    side[:-1],
                    socket,
                    " (it has {})".format(", ".join(names)) if names else "",
                )
            )
    return problems


def get(settings, path):
    """The value at `path` in a settings object, or None."""
    value = settings
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def put(settings, path, value):
    for key in path[:-1]:
        settings = settings.setdefault(key, {})
    settings[path[-1]] = value


# -- templates ----------------------------------------------------------------------------------------------------


def template_dirs(addon_dir):
    """Where the templates may be, in order: beside the packaged add-on, then in a development checkout (the
    add-on's folder is often a link into one)."""
    repo = os.path.dirname(os.path.dirname(os.path.realpath(addon_dir)))
    return [os.path.join(addon_dir, TEMPLATE_FOLDER), os.path.join(repo, TEMPLATE_FOLDER)]


def templates(addon_dir):
    """[(id, name, description, path)] of the first template folder that exists, sorted by id."""
    for folder in template_dirs(addon_dir):
        if os.path.isdir(folder):
            found = []
            for file_name in sorted(os.listdir(folder)):
                if file_name.endswith(".json"):
                    path = os.path.join(folder, file_name)
                    try:
                        graph = read_json(path)
                    except SidecarError:
                        continue
                    found.append(
                        (file_name[:-5], graph.get("name") or file_name[:-5], graph.get("description", ""), path)
                    )
            return found
    return []


def read_json(path):
    """The JSON in `path`; raises SidecarError saying why it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as err:
        raise SidecarError("Cannot read {}: {}.".format(path, err.strerror or err))
    except ValueError as err:
        raise SidecarError("{} is not JSON: {}.".format(path, err))


def without_ui(graph):
    """The graph without its `ui` fields (what the sidecar reads): for comparing two graphs."""
    graph = {k: v for k, v in graph.items() if k != "ui"}
    graph["nodes"] = [{k: v for k, v in n.items() if k != "ui"} for n in graph.get("nodes", [])]
    return graph


def auto_locations(graph, dx=260, dy=340):
    """{node id: [x, y]} for the nodes whose `ui` has no location: a column per step of the longest path from a node
    without inputs (so links run left to right), a row per node in its column."""
    nodes = [n for n in graph.get("nodes", []) if isinstance(n, dict) and isinstance(n.get("id"), str)]
    inputs = {n["id"]: [] for n in nodes}
    for link in graph.get("links", []):
        try:
            inputs[link["to"]["node"]].append(link["from"]["node"])
        except (KeyError, TypeError):
            continue
    depth = {}

    def column(node_id, seen=()):
        if node_id not in depth:
            ups = [u for u in inputs.get(node_id, []) if u in inputs and u not in seen]  # a cycle ends here
            depth[node_id] = 1 + max((column(u, seen + (node_id,)) for u in ups), default=-1)
        return depth[node_id]

    rows = {}
    placed = {}
    for n in nodes:
        if not _is_location((n.get("ui") or {}).get("location")):
            x = column(n["id"])
            placed[n["id"]] = [x * dx, -rows.get(x, 0) * dy]
            rows[x] = rows.get(x, 0) + 1
    return placed


def _is_location(value):
    return isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)


def output_folder(graph, base_dir):
    """The folder of the first export, render or report output, with // resolved against `base_dir` and the part
    from the first {field} on cut off ("//export/{name}.glb" -> BASE/export): what Open Folder opens."""
    for n in graph.get("nodes", []):
        if n.get("type") in ("export", "render", "report"):
            output = (n.get("settings") or {}).get("output")
            if not output:
                continue
            fixed = output.split("{", 1)[0]
            if output.startswith("//"):
                if not base_dir:
                    continue
                fixed = os.path.join(base_dir, fixed[2:])
            folder = fixed if fixed.endswith(("/", os.sep)) else os.path.dirname(fixed)
            return os.path.normpath(folder)
    return ""


def uses_base_dir(graph):
    """Whether an output of the graph starts with // (and so needs the blend file's folder)."""
    return any(
        isinstance((n.get("settings") or {}).get("output"), str) and n["settings"]["output"].startswith("//")
        for n in graph.get("nodes", [])
    )
