"""The pipeline editor's operators, `SIDECAR_OT_pipeline_*` with bl_idname `sidecar.pipeline_*`.

Each works on the tree named by its `tree` property, or else the one open in the node editor it runs in. Validate and
Run Pipeline never wait for the sidecar: they send and return, and the answer arrives through the drain timer
(runs.py, sync.py). Like the add-on's other operators they report an expected failure as one sentence.
"""

import json
import os

import bpy
from bpy.props import EnumProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from .. import operators as sidecar_operators
from .. import snapshot, state
from ..errors import SidecarError
from ..preferences import ADDON_DIR
from . import form, runs, serialize, sync


class _TreeOperator(sidecar_operators._SidecarOperator):
    tree: StringProperty(name="Tree", description="The pipeline (node tree) to use; empty: the one in the editor")

    def pipeline(self, context):
        """The tree to work on; raises SidecarError when there is none."""
        if self.tree:
            tree = bpy.data.node_groups.get(self.tree)
            if tree is None or tree.bl_idname != form.TREE_ID:
                raise SidecarError("There is no Sidecar Pipeline named {}.".format(self.tree))
            return tree
        tree = editor_tree(context)
        if tree is None:
            raise SidecarError("Open a Sidecar Pipeline in a node editor first (or load a template).")
        return tree

    def graph(self, tree):
        """The tree's JSON form; a node whose setting cannot be written is marked with the reason."""
        try:
            return serialize.graph_of(tree)
        except serialize.NodeSettingError as err:
            node = next((n for n in serialize.pipeline_nodes(tree) if n.node_id == err.node_id), None)
            if node is not None:
                sync.set_run(node, {"state": "invalid", "message": str(err)})
                sync.redraw()
            raise


def editor_tree(context):
    space = getattr(context, "space_data", None)
    if space is not None and space.type == "NODE_EDITOR" and space.tree_type == form.TREE_ID:
        return space.edit_tree or space.node_tree
    return None


def show_tree(context, tree):
    """Opens `tree` in the node editor the operator runs in, if it runs in one."""
    space = getattr(context, "space_data", None)
    if space is not None and space.type == "NODE_EDITOR":
        if space.tree_type != form.TREE_ID:
            space.tree_type = form.TREE_ID
        space.node_tree = tree


def new_tree(graph, name):
    tree = serialize.build_tree(graph, name=name)
    # A node tree nothing uses is not saved with the file: keep pipelines as Blender keeps text blocks.
    tree.use_fake_user = True
    return tree


_found = None
_template_items = []  # Blender needs the items of a dynamic enum kept alive by Python


def templates():
    """The templates beside the add-on (read once: menus draw them, and drawing reads no files)."""
    global _found
    if _found is None:
        _found = form.templates(ADDON_DIR)
    return _found


def _templates(self, context):
    _template_items[:] = [(tid, name, desc) for tid, name, desc, _path in templates()] or [
        ("", "(no templates found)", "")
    ]
    return _template_items


class SIDECAR_OT_pipeline_template(sidecar_operators._SidecarOperator, bpy.types.Operator):
    """Create a pipeline from one of the ready ones (game asset, turntable, variant sweep)"""

    bl_idname = "sidecar.pipeline_template"
    bl_label = "New Pipeline from Template"
    bl_options = {"REGISTER", "UNDO"}

    template: EnumProperty(name="Template", items=_templates)
    name: StringProperty(name="Name", description="The new tree's name (default: the template's)")

    def run(self, context):
        found = {tid: path for tid, _name, _desc, path in templates()}
        if self.template not in found:
            raise SidecarError(
                "No pipeline template {} (looked in {}).".format(
                    self.template, ", ".join(form.template_dirs(ADDON_DIR))
                )
            )
        tree = new_tree(form.read_json(found[self.template]), self.name or None)
        show_tree(context, tree)
        self.report({"INFO"}, "Created the pipeline {} from the template {}.".format(tree.name, self.template))


class SIDECAR_OT_pipeline_import(sidecar_operators._SidecarOperator, bpy.types.Operator, ImportHelper):
    """Open a pipeline JSON file (as exported, or written by hand) as a new Sidecar Pipeline tree"""

    bl_idname = "sidecar.pipeline_import"
    bl_label = "Import Pipeline JSON"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})
    name: StringProperty(name="Name", description="The new tree's name (default: the pipeline's name)")

    def run(self, context):
        graph = form.read_json(self.filepath)
        name = self.name or (graph.get("name") if isinstance(graph, dict) else None)
        tree = new_tree(graph, name or os.path.splitext(os.path.basename(self.filepath))[0])
        show_tree(context, tree)
        self.report({"INFO"}, "Imported {} as the pipeline {}.".format(self.filepath, tree.name))


class SIDECAR_OT_pipeline_export(_TreeOperator, bpy.types.Operator, ExportHelper):
    """Save the pipeline as JSON: `blender-sidecar pipeline run FILE.json --input FILE.blend` runs the same graph"""

    bl_idname = "sidecar.pipeline_export"
    bl_label = "Export Pipeline JSON"

    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def invoke(self, context, event):
        try:
            tree = self.pipeline(context)
        except SidecarError as err:
            self.report({"ERROR"}, str(err))
            return {"CANCELLED"}
        folder = os.path.dirname(bpy.data.filepath) if bpy.data.is_saved else ""
        self.filepath = os.path.join(folder, bpy.path.clean_name(tree.pipeline_name or tree.name) + ".json")
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def run(self, context):
        tree = self.pipeline(context)
        graph = self.graph(tree)
        path = bpy.path.abspath(self.filepath)
        try:
            with open(path + ".partial", "w", encoding="utf-8") as f:
                json.dump(graph, f, indent=2)
                f.write("\n")
            os.replace(path + ".partial", path)
        except OSError as err:
            raise SidecarError("Cannot write {}: {}.".format(path, err.strerror or err))
        self.report({"INFO"}, "Saved the pipeline {} to {}.".format(tree.name, path))


class SIDECAR_OT_pipeline_validate(_TreeOperator, bpy.types.Operator):
    """Ask the sidecar to check the pipeline without running it: nodes with problems turn red and say why"""

    bl_idname = "sidecar.pipeline_validate"
    bl_label = "Validate"

    def run(self, context):
        tree = self.pipeline(context)
        graph = self.graph(tree)
        conn = sidecar_operators._connected()
        conn.call("pipeline.validate", {"graph": graph}, {"purpose": runs.VALIDATE, "pipeline_tree": tree.name})
        self.report({"INFO"}, "Checking the pipeline {}.".format(tree.name))


class SIDECAR_OT_pipeline_run(_TreeOperator, bpy.types.Operator):
    """Run the pipeline on the sidecar's background Blenders, from the current state of this file; each node shows
    its progress"""

    bl_idname = "sidecar.pipeline_run"
    bl_label = "Run Pipeline"

    def run(self, context):
        tree = self.pipeline(context)
        job = sync.job_of(tree)
        if job is not None and job.active:
            raise SidecarError("{} is still running: wait for it, or cancel it first.".format(job.label or job.id))
        graph = self.graph(tree)
        conn = sidecar_operators._connected()
        base_dir = os.path.dirname(bpy.data.filepath) if bpy.data.is_saved else ""
        if not base_dir and form.uses_base_dir(graph):
            raise SidecarError(
                "Outputs of this pipeline start with // (the blend file's folder), but this file has never been "
                "saved: save it, or use absolute output paths."
            )
        _check_formats(graph)
        snap = snapshot.blend_to_send()
        self.saved_copy_seconds = snap.seconds if snap.temporary else 0.0
        params = {"graph": graph}
        if base_dir:
            params["baseDir"] = base_dir
        label = "Pipeline {}".format(tree.pipeline_name or tree.name)
        output = form.output_folder(graph, base_dir or os.path.dirname(snap.path))
        sidecar_operators._submit(
            self, conn, "pipeline.submit", params, "pipeline", label, output, snap, {"pipeline_tree": tree.name}
        )


def _check_formats(graph):
    known = [f.get("format") for f in state.get().export_formats]
    if not known:
        return
    for n in graph["nodes"]:
        fmt = (n.get("settings") or {}).get("format") if n.get("type") == "export" else None
        if fmt and fmt not in known:
            raise SidecarError(
                "{}: the sidecar's Blender cannot export {}; it can write {}.".format(
                    form.describe(n), fmt, ", ".join(known)
                )
            )


class SIDECAR_OT_pipeline_clear(_TreeOperator, bpy.types.Operator):
    """Forget the last run's states: the nodes get their own colours back"""

    bl_idname = "sidecar.pipeline_clear"
    bl_label = "Clear States"
    bl_options = {"REGISTER", "UNDO"}

    def run(self, context):
        serialize.clear_runs(self.pipeline(context))
        sync.redraw()


class SIDECAR_OT_pipeline_cancel(_TreeOperator, bpy.types.Operator):
    """Cancel the pipeline's running job"""

    bl_idname = "sidecar.pipeline_cancel"
    bl_label = "Cancel Pipeline"

    def run(self, context):
        tree = self.pipeline(context)
        job = sync.job_of(tree)
        if job is None or not job.active:
            raise SidecarError("The pipeline {} is not running.".format(tree.name))
        sidecar_operators._connected().call("job.cancel", {"jobId": job.id}, {"purpose": "cancel"})
        self.report({"INFO"}, "Canceling {}.".format(job.label or job.id))


classes = (
    SIDECAR_OT_pipeline_template,
    SIDECAR_OT_pipeline_import,
    SIDECAR_OT_pipeline_export,
    SIDECAR_OT_pipeline_validate,
    SIDECAR_OT_pipeline_run,
    SIDECAR_OT_pipeline_clear,
    SIDECAR_OT_pipeline_cancel,
)
register, unregister = bpy.utils.register_classes_factory(classes)
