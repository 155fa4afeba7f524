"""What only the pipeline editor knows about a node type's settings (no bpy): a short label and tooltip for each, the
kind of property that holds it, when it is shown, the editor's limits and "not set" values, an enum's labels. What a
setting is (its name, default, whether it is required, an enum's values) is the sidecar's: catalog.py takes that from
tables.json and these only dress it. A setting the sidecar adds and this file does not name gets a field made from its
schema (`from_schema`), so the editor never lacks one; test_pipeline_form.py asks for a hand-made one for each."""

import re

from .. import tables

OUTPUT_HELP = (
    "An absolute path, or // for the blend file's folder; {name} is the branch (collection, object or file), "
    "{variant} the Geometry Nodes value, {variant_index} its position, {date} the day, {node} the node's id"
)
ICONS = {
    "source": "SCENE_DATA",
    "validate": "CHECKMARK",
    "transform": "MODIFIER",
    "gn_variant": "GEOMETRY_NODES",
    "export": "EXPORT",
    "render": "RENDER_ANIMATION",
    "movie": "FILE_MOVIE",
    "bake": "TEXTURE",
    "report": "TEXT",
}


class Field(object):
    """How the editor shows one setting: `path` its keys in the JSON ("checks.ngons" is nested), `kind` (catalog.KINDS),
    `prop` the node property (default: the last key), `when` = (prop, value) while it applies, `default` the editor's
    where the sidecar has none, `absent` the value meaning "not set", `items` an enum's (value, label, description),
    `aliases` other names an enum value goes by (lower case)."""

    __slots__ = (
        "path",
        "kind",
        "label",
        "description",
        "prop",
        "when",
        "limits",
        "default",
        "absent",
        "items",
        "aliases",
    )

    def __init__(
        self,
        path,
        kind,
        label,
        description,
        prop=None,
        when=None,
        limits=None,
        default=None,
        absent=None,
        items=None,
        aliases=None,
    ):
        self.path = tuple(path.split("."))
        self.kind = kind
        self.label = label
        self.description = description
        self.prop = prop or self.path[-1]
        self.when = when
        self.limits = limits or {}
        self.default = default
        self.absent = absent
        self.items = items
        self.aliases = aliases


def label_of(name):
    """A label from a JSON name: maxRayDistance -> Max Ray Distance, non_manifold -> Non Manifold."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").split()
    return " ".join(w[:1].upper() + w[1:] for w in words)


def from_schema(path, schema):
    """A field for a setting this file does not name, from its JSON Schema."""
    kind = {"boolean": "bool", "number": "number", "integer": "count", "string": "text", "object": "json"}.get(
        schema.get("type"), "text"
    )
    if "enum" in schema:
        kind = "enum"
    elif schema.get("type") == "array":
        kind = "names" if (schema.get("items") or {}).get("type") == "string" else "values"
    limits = {k: schema[m] for k, m in (("min", "minimum"), ("max", "maximum")) if m in schema and kind == "number"}
    return Field(
        ".".join(path),
        kind,
        label_of(path[-1]),
        (schema.get("description") or "").rstrip("."),
        prop="_".join(path),
        limits=limits,
    )


CHECK_LEVELS = (
    ("fail", "Fail", "A finding fails the step and skips what depends on it in its branch"),
    ("warn", "Warn", "A finding is reported; the branch goes on"),
    ("off", "Off", "Not checked"),
)
CHECKS = (
    ("non_manifold", "Non-Manifold", "Edges not shared by exactly two faces (holes, open borders, loose edges)"),
    ("missing_textures", "Missing Textures", "Image textures whose file is not on disk (and not packed)"),
    ("unapplied_scale", "Unapplied Scale", "Objects whose scale is not (1, 1, 1)"),
    ("ngons", "N-Gons", "Faces with more than four sides"),
    ("empty_meshes", "Empty Meshes", "Mesh objects with no faces"),
)
MOVIE_CODECS = tables.MOVIE_CODEC_ITEMS
# The editor's own first choice, "Scene's": the setting is then left out and the scene's engine renders.
ENGINES = (("scene", "Scene's", "The engine the scene is set to"),) + tables.ENGINE_ITEMS
SOURCE_MODES = (
    ("file", "File", "Every visible object of the scene"),
    ("objects", "Objects", "The objects named"),
    ("collection", "Collection", "One collection and its children"),
    ("collections", "Collections", "A branch per collection under the scene's own that holds objects"),
)
ORIGINS = (
    ("keep", "Keep", "Leave the origin where it is"),
    ("geometry", "Geometry", "The vertices' median"),
    ("bounds", "Bounds", "The bounding box's centre"),
    ("bottom", "Bottom", "The centre of the bounding box's bottom face"),
    ("world", "World", "The world origin (0, 0, 0)"),
)

FIELDS = {
    "source": (
        Field("mode", "enum", "Mode", "What the branches start from", items=SOURCE_MODES),
        Field("objects", "names", "Objects", "The objects, by name, separated by commas", when=("mode", "objects")),
        Field("collection", "text", "Collection", "The collection, by name", when=("mode", "collection")),
        Field(
            "exclude", "names", "Exclude", "Collections to leave out, separated by commas", when=("mode", "collections")
        ),
        Field(
            "name",
            "text",
            "Branch Name",
            "{name} for this branch (default: the collection, the single object, or the file's name)",
            prop="branch_name",
        ),
    ),
    "validate": tuple(Field("checks." + name, "enum", label, what, items=CHECK_LEVELS) for name, label, what in CHECKS),
    "transform": (
        Field("applyModifiers", "bool", "Apply Modifiers", "Apply every modifier (Geometry Nodes included)"),
        Field(
            "decimateRatio",
            "number",
            "Decimate",
            "Collapse to this share of the faces (1: no decimation)",
            absent=1.0,
            limits={"min": 0.0001, "max": 1.0},
        ),
        Field("triangulate", "bool", "Triangulate", "Split every face into triangles"),
        Field("applyRotation", "bool", "Apply Rotation", "Apply the rotation to the mesh"),
        Field("applyScale", "bool", "Apply Scale", "Apply the scale to the mesh"),
        Field("origin", "enum", "Origin", "Where to move each origin", items=ORIGINS),
    ),
    "gn_variant": (
        Field("object", "text", "Object", "The object with the Geometry Nodes modifier"),
        Field("modifier", "text", "Modifier", "The modifier's name (default: the first Geometry Nodes one)"),
        Field("input", "text", "Input", "The input's name as Blender shows it (e.g. Count)"),
        Field(
            "values",
            "values",
            "Values",
            "The values, separated by commas: 2, 3.5, true, Rock, [1, 2, 3]",
            when=("spread", "values"),
        ),
        Field("range.start", "number", "Start", "The first value", prop="range_start", when=("spread", "range")),
        Field("range.end", "number", "End", "The last value (inclusive)", prop="range_end", when=("spread", "range")),
        Field(
            "range.step",
            "number",
            "Step",
            "The step between values",
            prop="range_step",
            when=("spread", "range"),
            limits={"min": 1e-6},
        ),
    ),
    "export": (
        Field(
            "format",
            "enum",
            "Format",
            "The file format (those the sidecar's Blender can write)",
            default="glb",
            items=tables.EXPORT_FORMAT_ITEMS,
        ),
        Field("output", "text", "Output", "The file to write (a folder ending in / gets {name}.ext). " + OUTPUT_HELP),
        Field("applyModifiers", "bool", "Apply Modifiers", "Export meshes with their modifiers applied"),
        Field(
            "options",
            "json",
            "Options",
            'Exporter options by Blender\'s name, as a JSON object, e.g. {"export_yup": true}',
        ),
    ),
    "render": (
        Field(
            "output",
            "text",
            "Output",
            "A folder (frames ####.png in it) or a path with # for the frame number. " + OUTPUT_HELP,
        ),
        Field("frames", "text", "Frames", "e.g. 1-24 or 1,5,10-20x2 (empty: the scene's range)"),
        Field(
            "format",
            "enum",
            "Format",
            "The image format",
            items=tables.IMAGE_FORMAT_ITEMS,
            aliases=tables.IMAGE_FORMAT_ALIASES,
        ),
        Field("engine", "enum", "Engine", "The render engine", items=ENGINES, absent="scene"),
        Field("samples", "count", "Samples", "Render samples (0: the scene's)", limits={"max": 1000000}),
        Field("resolutionPercent", "count", "Resolution %", "Resolution scale (0: the scene's)", limits={"max": 1000}),
        Field("camera", "text", "Camera", "The camera object (empty: the scene's)"),
        Field(
            "turntable",
            "bool",
            "Turntable",
            "Render from a camera made at run time that orbits the objects over the frames (no camera needed; "
            "the file is not changed)",
        ),
        Field(
            "turntableTurns",
            "number",
            "Turns",
            "How many times the camera goes round over the frames",
            limits={"min": 0.01, "max": 100.0},
            when=("turntable", True),
        ),
        Field(
            "turntableElevation",
            "number",
            "Elevation",
            "The camera's height above the objects' centre, in degrees",
            limits={"min": -89.0, "max": 89.0},
            when=("turntable", True),
        ),
        Field(
            "instances",
            "count",
            "Instances",
            "At most this many of this node's frames at once (0: any)",
            limits={"max": 64},
        ),
    ),
    "movie": (
        Field(
            "output",
            "text",
            "Output",
            "The movie file: .mp4, .mov or .mkv (put {name} or {variant} in it when the pipeline fans out). "
            + OUTPUT_HELP,
        ),
        Field(
            "fps",
            "number",
            "FPS",
            "Frames per second (0: the scene's frame rate)",
            absent=0.0,
            limits={"min": 0.0, "max": 240.0},
        ),
        Field("codec", "enum", "Codec", "The video codec", items=MOVIE_CODECS),
    ),
    "bake": (
        Field("maps", "names", "Maps", "Bake types, separated by commas: normal, ao, diffuse, roughness, emit, ..."),
        Field("output", "text", "Output", "The folder the maps go to, as <object>_<map>.png. " + OUTPUT_HELP),
        Field("size", "count", "Size", "Width and height in pixels", limits={"min": 8, "max": 16384}),
        Field("margin", "count", "Margin", "Pixels baked past the UV islands", limits={"max": 256}),
        Field("samples", "count", "Samples", "Cycles samples (0: the scene's)", limits={"max": 65536}),
        Field("objects", "names", "Targets", "The targets, by name (empty: every mesh in scope but the sources)"),
        Field("sources", "names", "From", "High-poly objects baked onto each target, separated by commas"),
        Field("extrusion", "number", "Extrusion", "How far out rays start (with sources)", limits={"min": 0.0}),
        Field("maxRayDistance", "number", "Max Ray", "How far rays reach (0: no limit)", limits={"min": 0.0}),
        Field("useInMaterials", "bool", "Use in Materials", "Put the maps into the materials (packed)"),
    ),
    "report": (Field("output", "text", "Output", "Also write the report as JSON here ({name}: the pipeline's name)"),),
}
