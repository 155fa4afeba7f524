"""The pipeline editor's interface: the node editor's Add menu (node categories), the "Pipeline" menu and the
Validate / Run Pipeline buttons in its header, and the "Sidecar" tab of its sidebar (the connection, the tree's
name, the run's job with its progress, the active node's state in full).

Like the 3D viewport's panels, these only read: the state module and the nodes' `run` properties.
"""

import bpy

from .. import gui as sidecar_gui
from .. import state
from . import form, nodes, runs, sync
from . import operators as pipeline_operators

CATEGORY_ID = "SIDECAR_PIPELINE_NODES"


def _in_pipeline_editor(context):
    space = getattr(context, "space_data", None)
    return space is not None and space.type == "NODE_EDITOR" and space.tree_type == form.TREE_ID


class SIDECAR_MT_pipeline_templates(bpy.types.Menu):
    bl_label = "New from Template"

    def draw(self, context):
        found = pipeline_operators.templates()
        if not found:
            self.layout.label(text="No templates found")
        for tid, name, _desc, _path in found:
            self.layout.operator("sidecar.pipeline_template", text=name, icon="NODETREE").template = tid


class SIDECAR_MT_pipeline(bpy.types.Menu):
    bl_label = "Pipeline"

    def draw(self, context):
        layout = self.layout
        layout.menu("SIDECAR_MT_pipeline_templates", icon="NODETREE")
        layout.operator("sidecar.pipeline_import", icon="IMPORT")
        layout.operator("sidecar.pipeline_export", icon="EXPORT")
        layout.separator()
        layout.operator("sidecar.pipeline_validate", icon="CHECKMARK")
        layout.operator("sidecar.pipeline_run", icon="PLAY")
        layout.operator("sidecar.pipeline_cancel", icon="X")
        layout.operator("sidecar.pipeline_clear", icon="TRASH")


def draw_header(self, context):
    if not _in_pipeline_editor(context):
        return
    layout = self.layout
    layout.separator()
    layout.menu("SIDECAR_MT_pipeline")
    if context.space_data.edit_tree is not None:
        row = layout.row(align=True)
        row.operator("sidecar.pipeline_validate", text="Validate", icon="CHECKMARK")
        row.operator("sidecar.pipeline_run", text="Run Pipeline", icon="PLAY")


class SIDECAR_PT_pipeline(bpy.types.Panel):
    bl_space_type = "NODE_EDITOR"
    bl_region_type = "UI"
    bl_category = "Sidecar"
    bl_label = "Sidecar Pipeline"

    @classmethod
    def poll(cls, context):
        return _in_pipeline_editor(context)

    def draw(self, context):
        layout = self.layout
        st = state.get()
        if not st.connected:
            row = layout.row()
            sidecar_gui._wrapped(row, context, st.message or "Not connected.", "UNLINKED")
            layout.operator("sidecar.connect", text="Start Sidecar", icon="PLAY")
        tree = context.space_data.edit_tree
        if tree is None:
            layout.menu("SIDECAR_MT_pipeline_templates", icon="NODETREE")
            layout.operator("sidecar.pipeline_import", icon="IMPORT")
            return
        col = layout.column(align=True)
        col.prop(tree, "pipeline_name", text="Name")
        col.prop(tree, "pipeline_description", text="")
        row = layout.row(align=True)
        row.scale_y = 1.3
        row.operator("sidecar.pipeline_validate", icon="CHECKMARK")
        row.operator("sidecar.pipeline_run", icon="PLAY")
        if tree.message:
            sidecar_gui._wrapped(layout, context, tree.message, "ERROR")
        job = sync.job_of(tree)
        if job is not None:
            _draw_job(layout, context, job)
        node = context.active_node
        if node is not None and node.bl_idname in form.BY_IDNAME and node.run.state != "none":
            box = layout.box()
            box.label(text=node.label or node.name, icon=nodes.STATE_ICONS.get(node.run.state, "NODE"))
            box.label(text=node.run.text())
            if node.run.message:
                sidecar_gui._wrapped(box, context, node.run.message)
        row = layout.row(align=True)
        row.menu("SIDECAR_MT_pipeline_templates", text="Templates", icon="NODETREE")
        row.operator("sidecar.pipeline_import", text="", icon="IMPORT")
        row.operator("sidecar.pipeline_export", text="", icon="EXPORT")
        row.operator("sidecar.pipeline_clear", text="", icon="TRASH")


def _draw_job(layout, context, job):
    box = layout.box()
    col = box.column(align=True)
    col.label(text=job.label or job.id, icon="NODETREE")
    col.label(text="Job {}".format(job.id), icon="BLANK1")
    sidecar_gui._bar(col, job.progress, job.progress_text())
    if job.running:
        sidecar_gui._wrapped(col, context, "On: {}".format(", ".join(job.running)))
    if job.error:
        sidecar_gui._wrapped(col, context, job.error, "ERROR")
    row = box.row(align=True)
    sub = row.row(align=True)
    sub.enabled = job.active and job.state != "submitting"
    sub.operator("sidecar.cancel_job", icon="X").job_id = job.id
    sub = row.row(align=True)
    sub.enabled = bool(job.output_folder)
    sub.operator("sidecar.open_output", text="Open Folder", icon="FILE_FOLDER").job_id = job.id


def draw_job_nodes(layout, job):
    """Each node of a pipeline job with its state and counts (the 3D viewport's Jobs details)."""
    progress = runs.get().nodes.get(job.id)
    if not progress:
        return
    names = _node_names(job)
    col = layout.column(align=True)
    for node_id, p in progress.items():
        col.label(
            text="{}: {}".format(names.get(node_id, node_id), runs.progress_text(p)),
            icon=nodes.STATE_ICONS.get(p.get("state"), "NODE"),
        )


def _node_names(job):
    """Node id -> what to call it: the report's names, else the labels of the tree that ran it."""
    result = job.result if isinstance(job.result, dict) else {}
    names = {n.get("id"): n.get("name") for n in result.get("nodes") or [] if isinstance(n, dict)}
    if not names:
        for tree in sync.trees():
            if tree.job_id == job.id:
                names = {n.node_id: n.label or n.node_id for n in tree.nodes if hasattr(n, "node_id")}
    return names


# -- the Add menu -------------------------------------------------------------------------------------------------
# nodeitems_utils draws the Add menu of custom node trees on 3.4, 4.x and 5.x alike (NODE_MT_add falls back to it
# for trees other than the built-in ones); should a Blender drop it, a menu appended to NODE_MT_add does the same.

try:
    import nodeitems_utils
except ImportError:  # pragma: no cover - not on the Blenders this add-on supports so far
    nodeitems_utils = None


def _categories():
    class PipelineCategory(nodeitems_utils.NodeCategory):
        @classmethod
        def poll(cls, context):
            return _in_pipeline_editor(context)

    steps = [nodeitems_utils.NodeItem(t.idname) for t in form.NODE_TYPES]
    layout = [nodeitems_utils.NodeItem("NodeFrame"), nodeitems_utils.NodeItem("NodeReroute")]
    return [
        PipelineCategory("SIDECAR_PIPELINE_STEPS", "Pipeline", items=steps),
        PipelineCategory("SIDECAR_PIPELINE_LAYOUT", "Layout", items=layout),
    ]


def _draw_add_menu(self, context):
    if not _in_pipeline_editor(context):
        return
    for t in form.NODE_TYPES:
        op = self.layout.operator("node.add_node", text=t.title, icon=t.icon)
        op.type = t.idname
        op.use_transform = True


classes = (SIDECAR_MT_pipeline_templates, SIDECAR_MT_pipeline, SIDECAR_PT_pipeline)
_register, _unregister = bpy.utils.register_classes_factory(classes)


def register():
    _register()
    if nodeitems_utils is not None:
        nodeitems_utils.register_node_categories(CATEGORY_ID, _categories())
    else:
        bpy.types.NODE_MT_add.append(_draw_add_menu)
    bpy.types.NODE_HT_header.append(draw_header)


def unregister():
    bpy.types.NODE_HT_header.remove(draw_header)
    if nodeitems_utils is not None:
        nodeitems_utils.unregister_node_categories(CATEGORY_ID)
    else:
        bpy.types.NODE_MT_add.remove(_draw_add_menu)
    _unregister()
