"""The add-on's operators, `SIDECAR_OT_*` with bl_idname `sidecar.*`.

None of them waits for the sidecar: they check what can be checked at once, send with `Connection.call` (which
returns before the answer) or post a command to the connection's thread, and return. Answers arrive through the
drain timer. Each records how long it held Blender's main thread (state.stalls, shown by bench/addon-stall.py);
saving the temporary copy of a dirty file is recorded apart, as "save copy", since that one has to block.
Expected failures are SidecarError, reported as one sentence.
"""

import os
import time

import bpy
from bpy.props import BoolProperty, StringProperty

from . import connection, launcher, preferences, properties, snapshot, state
from .errors import SidecarError
from .wire import SidecarNotFound, read_discovery

SAVE_COPY_STALL = "save copy"


class _SidecarOperator(object):
    """Runs `run(context)`, turns SidecarError into a report, and records the main-thread time."""

    bl_options = {"REGISTER"}

    def execute(self, context):
        started = time.perf_counter()
        self.saved_copy_seconds = 0.0
        try:
            return self.run(context) or {"FINISHED"}
        except SidecarError as err:
            self.report({"ERROR"}, str(err))
            return {"CANCELLED"}
        finally:
            sidecar_state = state.get()
            if self.saved_copy_seconds:
                sidecar_state.record_stall(SAVE_COPY_STALL, self.saved_copy_seconds)
            sidecar_state.record_stall(self.bl_idname, time.perf_counter() - started - self.saved_copy_seconds)

    def run(self, context):
        raise NotImplementedError


def _connection():
    conn = connection.get()
    if conn is None:
        raise SidecarError("The Blender Sidecar add-on is not enabled.")
    return conn


def _connected():
    conn = _connection()
    conn.require_connected()
    return conn


def _absolute(path, what):
    """`path` with // resolved against the open file (not the temporary copy the job may get)."""
    if not path.strip():
        raise SidecarError("Set {} first.".format(what))
    resolved = bpy.path.abspath(path)
    if resolved.startswith("//"):
        raise SidecarError(
            "{} starts with // (the blend file's folder), but this file has never been saved: save it, or choose an "
            "absolute path.".format(what[0].upper() + what[1:])
        )
    folder = path.endswith(("/", "\\"))
    resolved = os.path.normpath(resolved)
    return resolved + os.sep if folder else resolved


def seconds_text(seconds):
    return "{:.0f} ms".format(seconds * 1000) if seconds < 1 else "{:.1f} s".format(seconds)


def _submit(op, conn, method, params, kind, label, output, snap, extra_context=None):
    """Sends a job; `extra_context` travels with the answer (the pipeline editor names its tree in it)."""
    sidecar_state = state.get()
    params.update(snap.params())
    # This Blender opened (and saved) the file: prefer it over whichever installed Blender the sidecar would pick.
    params.setdefault("blender", bpy.app.binary_path)
    placeholder = sidecar_state.add_submission(
        kind, label, output, snap.path, snap.temporary, snap.seconds if snap.temporary else None
    )
    context = {
        "purpose": "submit",
        "placeholder": placeholder,
        "temporary_blend": snap.path if snap.temporary else None,
    }
    context.update(extra_context or {})
    try:
        conn.call(method, params, context)
    except SidecarError:
        snap.discard()
        sidecar_state.jobs.pop(placeholder, None)
        raise
    how = (
        "a copy of the current state (saved in {})".format(seconds_text(snap.seconds))
        if snap.temporary
        else "the saved file"
    )
    op.report({"INFO"}, "{}: sent to the sidecar with {}.".format(label, how))


class SIDECAR_OT_connect(_SidecarOperator, bpy.types.Operator):
    """Connect to the running sidecar, or start the bundled one"""

    bl_idname = "sidecar.connect"
    bl_label = "Start Sidecar"

    start: BoolProperty(name="Start", default=True, description="Start the sidecar when none is running")

    def run(self, context):
        conn = _connection()
        settings = preferences.launch_settings(context, start=self.start)
        try:
            read_discovery(settings.resolved_state_dir)
        except SidecarNotFound:
            if self.start:
                preferences.check_launch(settings)
        conn.connect(settings)


class SIDECAR_OT_disconnect(_SidecarOperator, bpy.types.Operator):
    """Close the connection; the sidecar keeps running (and its jobs too)"""

    bl_idname = "sidecar.disconnect"
    bl_label = "Disconnect"

    def run(self, context):
        _connection().disconnect()


class SIDECAR_OT_stop_sidecar(_SidecarOperator, bpy.types.Operator):
    """Stop the sidecar and its background Blenders (running jobs are stopped)"""

    bl_idname = "sidecar.stop_sidecar"
    bl_label = "Stop Sidecar"

    def run(self, context):
        _connection().stop_sidecar()


class SIDECAR_OT_render_background(_SidecarOperator, bpy.types.Operator):
    """Render the scene's frame range on the sidecar's background Blenders, from the current state of this file"""

    bl_idname = "sidecar.render_background"
    bl_label = "Render in Background"

    def run(self, context):
        conn = _connected()
        scene = context.scene
        if scene.camera is None:
            raise SidecarError("The scene {} has no camera: add one or set the scene's camera.".format(scene.name))
        output = _absolute(scene.render.filepath, "the render output path")
        frames = "{}-{}".format(scene.frame_start, scene.frame_end)
        if scene.frame_step > 1:
            frames += "x{}".format(scene.frame_step)
        if scene.frame_end < scene.frame_start:
            raise SidecarError("The frame range {} is empty.".format(frames))
        snap = snapshot.blend_to_send()
        self.saved_copy_seconds = snap.seconds if snap.temporary else 0.0
        params = {
            "scene": scene.name,
            "frames": frames,
            "output": output,
            "overwrite": bool(scene.render.use_overwrite),
        }
        instances = scene.sidecar_settings.render_instances
        if instances:
            params["instances"] = instances
        if scene.sidecar_settings.render_movie:
            # The sidecar checks the rest (extension, even frame size) and names what to change.
            params["movie"] = {"output": _absolute(scene.sidecar_settings.movie_output, "the preview movie path")}
        label = "Render {} {}".format(scene.name, frames)
        _submit(self, conn, "render.submit", params, "render", label, output, snap)


class SIDECAR_OT_export_background(_SidecarOperator, bpy.types.Operator):
    """Export on a background Blender, from the current state of this file"""

    bl_idname = "sidecar.export_background"
    bl_label = "Export in Background"

    def run(self, context):
        conn = _connected()
        settings = context.scene.sidecar_settings
        fmt = settings.export_format
        known = [f.get("format") for f in state.get().export_formats]
        if known and fmt not in known:
            raise SidecarError("The sidecar's Blender cannot export {}: it can write {}.".format(fmt, ", ".join(known)))
        scope, what = _export_scope(context, settings)
        output = _export_output(settings, fmt, what)
        snap = snapshot.blend_to_send()
        self.saved_copy_seconds = snap.seconds if snap.temporary else 0.0
        params = {"format": fmt, "output": output}
        if scope:
            params["scope"] = scope
        label = "Export {} {}".format(fmt.upper(), what)
        _submit(self, conn, "export.submit", params, "export", label, output, snap)


def _export_scope(context, settings):
    if settings.export_scope == "SELECTION":
        names = [obj.name for obj in context.selected_objects]
        if not names:
            raise SidecarError(
                "Nothing is selected: select the objects to export, or export a collection or the scene."
            )
        return {"objects": names}, names[0] if len(names) == 1 else "{} objects".format(len(names))
    if settings.export_scope == "COLLECTION":
        coll = settings.export_collection
        if coll is None:
            raise SidecarError("Choose the collection to export.")
        return {"collection": coll.name}, coll.name
    return None, context.scene.name


def _export_output(settings, fmt, what):
    output = _absolute(settings.export_output, "the export output path")
    ext = properties.EXTENSIONS[fmt]
    if output.endswith(os.sep) or os.path.isdir(output):
        stem = os.path.splitext(os.path.basename(bpy.data.filepath))[0] if bpy.data.is_saved else "untitled"
        return os.path.join(output, bpy.path.clean_name("{}_{}".format(stem, what)) + ext)
    return output if os.path.splitext(output)[1] else output + ext


def _job(job_id):
    sidecar_state = state.get()
    if not job_id:
        wm = bpy.context.window_manager
        items, index = wm.sidecar_jobs, wm.sidecar_jobs_index
        job_id = items[index].job_id if 0 <= index < len(items) else ""
    job = sidecar_state.jobs.get(job_id)
    if job is None:
        raise SidecarError("No job is selected." if not job_id else "The job {} is not in the list.".format(job_id))
    return job


class SIDECAR_OT_cancel_job(_SidecarOperator, bpy.types.Operator):
    """Cancel the job: its background Blenders stop at once"""

    bl_idname = "sidecar.cancel_job"
    bl_label = "Cancel Job"

    job_id: StringProperty(name="Job", description="The job to cancel (empty: the one selected in the list)")

    def run(self, context):
        job = _job(self.job_id)
        if job.state == "submitting":
            raise SidecarError("{} is still being submitted: cancel it in a moment.".format(job.label))
        if not job.active:
            raise SidecarError("{} has already ended ({}).".format(job.label or job.id, job.state))
        _connected().call("job.cancel", {"jobId": job.id}, {"purpose": "cancel"})
        self.report({"INFO"}, "Canceling {}.".format(job.label or job.id))


class SIDECAR_OT_open_output(_SidecarOperator, bpy.types.Operator):
    """Open the job's output folder in the system's file browser"""

    bl_idname = "sidecar.open_output"
    bl_label = "Open Output Folder"

    job_id: StringProperty(name="Job", description="The job whose output to open (empty: the one selected in the list)")

    def run(self, context):
        job = _job(self.job_id)
        folder = job.output_folder
        if not folder:
            raise SidecarError("{} has no output folder yet.".format(job.label or job.id))
        launcher.open_folder(folder)


class SIDECAR_OT_clear_alerts(_SidecarOperator, bpy.types.Operator):
    """Clear the Alerts list"""

    bl_idname = "sidecar.clear_alerts"
    bl_label = "Clear Alerts"

    def run(self, context):
        state.get().clear_alerts()


classes = (
    SIDECAR_OT_connect,
    SIDECAR_OT_disconnect,
    SIDECAR_OT_stop_sidecar,
    SIDECAR_OT_render_background,
    SIDECAR_OT_export_background,
    SIDECAR_OT_cancel_job,
    SIDECAR_OT_open_output,
    SIDECAR_OT_clear_alerts,
)
register, unregister = bpy.utils.register_classes_factory(classes)
