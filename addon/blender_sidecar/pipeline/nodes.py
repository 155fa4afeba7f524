"""The "Sidecar Pipeline" node tree: its two socket types, one node class per node type of the JSON form, and the
state line a run draws on each node.

A node's settings are properties named as in the JSON form (form.py's table makes them: `format`, `output`,
`applyModifiers`, the checks by name...; a source's `name` is `branch_name`, a Node already has a name). Each node also
keeps `node_id` (its id in the JSON, stable across renames and runs), `ui_extra` (the `ui` fields of an imported
graph that the editor does not use, written back as they came) and `run` (where it stood in the last run: state and
counts, written by sync.py, never by the artist).
"""

import textwrap

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from . import form, runs

# Socket colours: objects as Blender draws geometry, files as it draws strings.
SOCKET_COLORS = {"objects": (0.0, 0.84, 0.64, 1.0), "files": (0.44, 0.7, 1.0, 1.0)}
RUN_STATES = runs.STATES
STATE_ICONS = {
    "waiting": "SORTTIME",
    "running": "PLAY",
    "done": "CHECKMARK",
    "partial": "ERROR",
    "failed": "CANCEL",
    "skipped": "FORWARD",
    "canceled": "X",
    "invalid": "ERROR",
}
# Node body colours by state (muted, so the text stays readable on the default theme).
STATE_COLORS = {
    "waiting": (0.24, 0.27, 0.33),
    "running": (0.55, 0.42, 0.12),
    "done": (0.18, 0.42, 0.2),
    "partial": (0.42, 0.4, 0.12),
    "failed": (0.55, 0.14, 0.12),
    "skipped": (0.3, 0.3, 0.3),
    "canceled": (0.3, 0.27, 0.27),
    "invalid": (0.55, 0.14, 0.12),
}
HAS_MULTI_INPUT = "use_multi_input" in bpy.types.NodeInputs.bl_rna.functions["new"].parameters


class SidecarPipelineTree(bpy.types.NodeTree):
    """Sidecar pipeline: configured steps (check, transform, fan out, export, render) run as one job on the sidecar"""

    bl_idname = form.TREE_ID
    bl_label = "Sidecar Pipeline"
    bl_icon = "NODETREE"

    pipeline_name: StringProperty(
        name="Pipeline Name", description="The pipeline's name in the report and {name} of a Report's output"
    )
    pipeline_description: StringProperty(name="Description", description="What the pipeline does")
    ui_extra: StringProperty(name="UI", description="The graph's own ui fields from an imported file (JSON)")
    job_id: StringProperty(name="Job", description="The sidecar job of the last run")
    message: StringProperty(name="Message", description="What the sidecar said about the whole graph")

    # No update() callback: Blender 5.2 calls it while it re-types the trees of a file when the add-on is enabled
    # again, and reading `self.links` there crashes it. A link between sockets of different types is named by
    # Validate instead.


class _Socket(object):
    kind = ""

    def draw(self, context, layout, node, text):
        layout.label(text=text)

    def draw_color(self, context, node):
        return SOCKET_COLORS[self.kind]

    @classmethod
    def draw_color_simple(cls):  # preferred from Blender 4.x on
        return SOCKET_COLORS[cls.kind]


class SidecarObjectsSocket(_Socket, bpy.types.NodeSocket):
    """Objects: a set of objects in a state of the scene, one per branch"""

    bl_idname = form.SOCKET_IDS["objects"]
    bl_label = "Objects"
    kind = "objects"


class SidecarFilesSocket(_Socket, bpy.types.NodeSocket):
    """Files: what an export or render wrote"""

    bl_idname = form.SOCKET_IDS["files"]
    bl_label = "Files"
    kind = "files"


class SidecarPipelineNodeRun(bpy.types.PropertyGroup):
    """Where a node stood in the last run (the sidecar's NodeProgress), or why Validate refused it."""

    state: EnumProperty(name="State", items=RUN_STATES, default="none")
    total: IntProperty(name="Total", description="The node's steps (its branches; a render's frames)")
    done: IntProperty(name="Done")
    running: IntProperty(name="Running")
    failed: IntProperty(name="Failed")
    skipped: IntProperty(name="Skipped")
    warnings: IntProperty(name="Warnings", description="Warn-level findings of a Validate node")
    message: StringProperty(name="Message", description="The first failure, else why it was skipped or warned")

    def text(self):
        """One line: "Failed 4/5, 1 failed, 3 warnings"."""
        return runs.progress_text({name: getattr(self, name) for name in runs.COUNTS}, self.state)


def _prop(setting):
    """The bpy property for one setting of form.py's table."""
    common = {"name": setting.label, "description": setting.description}
    kind = setting.kind
    if kind == "enum":
        return EnumProperty(items=setting.items, default=setting.default, **common)
    if kind == "bool":
        return BoolProperty(default=setting.default, **common)
    if kind == "number":
        limits = setting.limits
        return FloatProperty(
            default=setting.default if setting.default is not None else 0.0,
            min=limits.get("min", -1e9),
            max=limits.get("max", 1e9),
            soft_min=limits.get("min", -1e9),
            precision=3,
            **common,
        )
    if kind == "count":
        # 0 is "not set" (the sidecar's default applies), unless the setting has a default of its own (a bake's size).
        return IntProperty(
            default=setting.default or 0,
            min=setting.limits.get("min", 0),
            max=setting.limits.get("max", 1000000),
            **common,
        )
    return StringProperty(**common)


class _PipelineNode(object):
    """What every pipeline node shares; `node_type` is its form.NodeType."""

    node_type = None
    bl_width_default = 200

    @classmethod
    def poll(cls, ntree):
        return ntree.bl_idname == form.TREE_ID

    def init(self, context):
        for name, kind, multi in self.node_type.inputs:
            socket = _new_socket(self.inputs, kind, name, multi)
            socket.link_limit = 4095 if multi else 1
        for name, kind, _multi in self.node_type.outputs:
            _new_socket(self.outputs, kind, name, False)
        self.node_id = unique_id(self.id_data, self.node_type.type, self)

    def copy(self, node):
        # A duplicate is another node: its own id, no run state.
        self.node_id = unique_id(self.id_data, self.node_type.type, self)
        clear_run(self)

    def draw_buttons(self, context, layout):
        draw_run(self, layout, short=True)
        self.draw_settings(layout)

    def draw_buttons_ext(self, context, layout):
        layout.prop(self, "node_id")
        draw_run(self, layout, short=False)
        self.draw_settings(layout)

    def draw_settings(self, layout):
        for setting in self.node_type.settings:
            if setting.when is None or getattr(self, setting.when[0]) == setting.when[1]:
                layout.prop(self, setting.prop)


def _new_socket(sockets, kind, name, multi):
    if multi and HAS_MULTI_INPUT:
        return sockets.new(form.SOCKET_IDS[kind], form.SOCKET_LABELS[kind], identifier=name, use_multi_input=True)
    return sockets.new(form.SOCKET_IDS[kind], form.SOCKET_LABELS[kind], identifier=name)


def unique_id(tree, base, node=None):
    """`base`, or `base_2`, `base_3`...: an id no other node of `tree` has."""
    taken = {getattr(n, "node_id", "") for n in tree.nodes if n != node}
    candidate, i = base, 1
    while candidate in taken:
        i += 1
        candidate = "{}_{}".format(base, i)
    return candidate


def clear_run(node):
    run = node.run
    for name in ("total", "done", "running", "failed", "skipped", "warnings"):
        setattr(run, name, 0)
    run.state, run.message = "none", ""
    node.use_custom_color = False


def draw_run(node, layout, short):
    run = node.run
    if run.state == "none":
        return
    col = layout.column(align=True)
    col.label(text=run.text(), icon=STATE_ICONS.get(run.state, "NONE"))
    if run.message:
        chars = max(20, int(node.width / 6.5)) if short else 48
        lines = textwrap.wrap(run.message, chars) or [""]
        if short and len(lines) > 3:
            lines = lines[:3]
            lines[-1] = lines[-1][: chars - 3] + "..."
        for line in lines:
            col.label(text=line)


class SidecarPipelineSourceNode(_PipelineNode, bpy.types.Node):
    pass


class SidecarPipelineValidateNode(_PipelineNode, bpy.types.Node):
    def draw_settings(self, layout):
        col = layout.column(align=True)
        for setting in self.node_type.settings:
            row = col.row(align=True)
            row.label(text=setting.label)
            row.prop(self, setting.prop, text="")


class SidecarPipelineTransformNode(_PipelineNode, bpy.types.Node):
    pass


class SidecarPipelineGnVariantNode(_PipelineNode, bpy.types.Node):
    def draw_settings(self, layout):
        for setting in self.node_type.settings[:3]:
            layout.prop(self, setting.prop)
        layout.row().prop(self, "spread", expand=True)
        if self.spread == "values":
            layout.prop(self, "values", text="")
        else:
            col = layout.column(align=True)
            for prop in ("range_start", "range_end", "range_step"):
                col.prop(self, prop)


class SidecarPipelineExportNode(_PipelineNode, bpy.types.Node):
    pass


class SidecarPipelineRenderNode(_PipelineNode, bpy.types.Node):
    pass


class SidecarPipelineMovieNode(_PipelineNode, bpy.types.Node):
    pass


class SidecarPipelineBakeNode(_PipelineNode, bpy.types.Node):
    pass


class SidecarPipelineReportNode(_PipelineNode, bpy.types.Node):
    pass


NODE_CLASSES = (
    SidecarPipelineSourceNode,
    SidecarPipelineValidateNode,
    SidecarPipelineTransformNode,
    SidecarPipelineGnVariantNode,
    SidecarPipelineExportNode,
    SidecarPipelineRenderNode,
    SidecarPipelineMovieNode,
    SidecarPipelineBakeNode,
    SidecarPipelineReportNode,
)


def _complete(cls):
    """Gives a node class its identity and properties from form.py's table (bl_idname `SidecarPipeline<Type>Node`)."""
    node_type = form.BY_IDNAME[cls.__name__]
    cls.node_type = node_type
    cls.bl_idname = node_type.idname
    cls.bl_label = node_type.title
    cls.bl_icon = node_type.icon
    cls.__doc__ = node_type.summary
    annotations = {
        "node_id": StringProperty(
            name="Id", description="The node's id in the pipeline's JSON: links, errors and progress name it"
        ),
        "ui_extra": StringProperty(name="UI", description="Other editors' ui fields from an imported file (JSON)"),
        "run": PointerProperty(type=SidecarPipelineNodeRun),
    }
    for setting in node_type.settings:
        annotations[setting.prop] = _prop(setting)
    if node_type.type == "gn_variant":
        annotations["spread"] = EnumProperty(name="Spread", items=form.SPREADS, default="values")
    cls.__annotations__ = annotations


for _cls in NODE_CLASSES:
    _complete(_cls)

classes = (SidecarPipelineTree, SidecarObjectsSocket, SidecarFilesSocket, SidecarPipelineNodeRun) + NODE_CLASSES
register, unregister = bpy.utils.register_classes_factory(classes)
