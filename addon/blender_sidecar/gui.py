"""The "Sidecar" tab of the 3D viewport's sidebar: Connection, Render, Export, Jobs, Workers and Alerts.

Panels only read state.py (no network, no file access while drawing); the drain timer redraws them.
"""

import textwrap

import bpy

from . import previews, state

# UILayout.progress (a real progress bar) exists from Blender 4.0; before, a read-only slider stands in.
HAS_PROGRESS = "progress" in bpy.types.UILayout.bl_rna.functions
STATE_ICONS = {
    "connected": "CHECKMARK",
    "connecting": "SORTTIME",
    "starting": "SORTTIME",
    "reconnecting": "FILE_REFRESH",
    "stopping": "SORTTIME",
    "failed": "ERROR",
    "disconnected": "UNLINKED",
}
JOB_ICONS = {
    "render": "RENDER_ANIMATION",
    "export": "EXPORT",
    "pipeline": "NODETREE",
    "bake": "TEXTURE",
    "simulation": "PHYSICS",
}
ALERT_ICONS = {"INFO": "INFO", "WARN": "ERROR", "ERROR": "CANCEL"}
ALERTS_SHOWN = 8


def _wrapped(layout, context, text, icon="NONE"):
    """Labels for `text`, wrapped to the sidebar's width (a label is one line)."""
    width = context.region.width if context.region else 300
    scale = context.preferences.system.ui_scale
    chars = max(16, int((width - 50 * scale) / (7.5 * scale)))
    col = layout.column(align=True)
    for i, line in enumerate(textwrap.wrap(text, chars) or [""]):
        col.label(text=line, icon=icon if i == 0 else ("BLANK1" if icon != "NONE" else "NONE"))
    return col


def _bar(layout, factor, text):
    if HAS_PROGRESS:
        layout.progress(factor=factor, type="BAR", text=text)
    else:
        layout.label(text=text)


class _SidecarPanel(object):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Sidecar"


class SIDECAR_PT_main(_SidecarPanel, bpy.types.Panel):
    bl_label = "Sidecar"

    def draw(self, context):
        layout = self.layout
        st = state.get()
        icon = STATE_ICONS.get(st.connection, "QUESTION")
        if st.connected and st.version:
            col = layout.column(align=True)
            col.label(text="Connected to sidecar {} (pid {})".format(st.version, st.pid), icon=icon)
            if st.blender_version:
                col.label(text="Workers run Blender {}".format(st.blender_version), icon="BLANK1")
        else:
            _wrapped(layout, context, st.message or st.connection.capitalize(), icon)
        row = layout.row(align=True)
        if st.connection in ("connected", "reconnecting"):
            row.operator("sidecar.disconnect", text="Disconnect", icon="UNLINKED")
        else:
            row.operator("sidecar.connect", text="Start", icon="PLAY")
        row.operator("sidecar.stop_sidecar", text="Stop", icon="CANCEL")


class SIDECAR_PT_render(_SidecarPanel, bpy.types.Panel):
    bl_label = "Render"
    bl_parent_id = "SIDECAR_PT_main"

    def draw(self, context):
        layout = self.layout
        scene = context.scene
        row = layout.row(align=True)
        row.prop(scene, "frame_start", text="Start")
        row.prop(scene, "frame_end", text="End")
        layout.prop(scene.sidecar_settings, "render_instances")
        layout.prop(scene.render, "filepath", text="")
        row = layout.row(align=True)
        row.prop(scene.sidecar_settings, "render_movie")
        sub = row.row(align=True)
        sub.active = scene.sidecar_settings.render_movie
        sub.prop(scene.sidecar_settings, "movie_output", text="")
        layout.operator("sidecar.render_background", icon="RENDER_ANIMATION")


class SIDECAR_PT_export(_SidecarPanel, bpy.types.Panel):
    bl_label = "Export"
    bl_parent_id = "SIDECAR_PT_main"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.sidecar_settings
        layout.prop(settings, "export_format", text="")
        layout.row().prop(settings, "export_scope", expand=True)
        if settings.export_scope == "COLLECTION":
            layout.prop(settings, "export_collection", text="")
        layout.prop(settings, "export_output", text="")
        layout.operator("sidecar.export_background", icon="EXPORT")


class SIDECAR_UL_jobs(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index=0, flt_flag=0):
        job = state.get().jobs.get(item.job_id)
        if job is None:
            layout.label(text=item.job_id)
            return
        row = layout.row(align=True)
        split = row.split(factor=0.55, align=True)
        thumbnail = previews.icon_id(job)
        if thumbnail:
            split.label(text=job.label or job.id, icon_value=thumbnail)
        else:
            split.label(text=job.label or job.id, icon=JOB_ICONS.get(job.kind, "QUESTION"))
        if HAS_PROGRESS:
            split.progress(factor=job.progress, type="BAR", text=job.short_text())
        else:
            split.prop(item, "progress", text="", slider=True)
        if job.active and job.state != "submitting":
            row.operator("sidecar.cancel_job", text="", icon="X", emboss=False).job_id = job.id
        elif job.output_folder:
            row.operator("sidecar.open_output", text="", icon="FILE_FOLDER", emboss=False).job_id = job.id
        else:
            row.label(text="", icon="BLANK1")


class SIDECAR_PT_jobs(_SidecarPanel, bpy.types.Panel):
    bl_label = "Jobs"
    bl_parent_id = "SIDECAR_PT_main"
    bl_order = 1  # after the job boxes (Render, Export, Bake), whatever order they register in

    def draw(self, context):
        layout = self.layout
        wm = context.window_manager
        layout.template_list("SIDECAR_UL_jobs", "", wm, "sidecar_jobs", wm, "sidecar_jobs_index", rows=3)
        items, index = wm.sidecar_jobs, wm.sidecar_jobs_index
        job = state.get().jobs.get(items[index].job_id) if 0 <= index < len(items) else None
        if job is None:
            return
        box = layout.box()
        col = box.column(align=True)
        col.label(text=job.label or job.id, icon=JOB_ICONS.get(job.kind, "QUESTION"))
        col.label(text="{} ({})".format(job.progress_text(), job.id))
        if job.blender:
            col.label(text="Blender {}".format(job.blender), icon="BLENDER")
        if job.running:
            col.label(text="On: {}".format(", ".join(job.running)))
        if job.placement and job.active:
            _wrapped(col, context, "Workers: {}".format(job.placement), "INFO")
        if job.output:
            _wrapped(col, context, "Output: {}".format(job.output))
        if job.error:
            _wrapped(col, context, job.error, "ERROR")
        summary = _result_summary(job)
        if summary:
            col.label(text=summary)
        if job.kind == "pipeline":
            from .pipeline import gui as pipeline_gui  # each node's state, as the pipeline editor shows it

            pipeline_gui.draw_job_nodes(col, job)
        if job.kind == "render":
            _draw_newest_frame(box, job)
        if job.save_copy_seconds is not None:
            col.label(
                text="Saving the unsaved file's copy took {}".format(_seconds(job.save_copy_seconds)), icon="FILE_BLEND"
            )
        row = box.row(align=True)
        sub = row.row(align=True)
        sub.enabled = job.active and job.state != "submitting"
        sub.operator("sidecar.cancel_job", icon="X").job_id = job.id
        sub = row.row(align=True)
        sub.enabled = bool(job.output_folder)
        sub.operator("sidecar.open_output", text="Open Folder", icon="FILE_FOLDER").job_id = job.id


def _draw_newest_frame(layout, job):
    """The newest frame's thumbnail (loaded by previews.py, not here), its number, and the Flipbook button."""
    thumbnail = previews.icon_id(job)
    if thumbnail:
        layout.template_icon(icon_value=thumbnail, scale=7.0)
        layout.label(text="Frame {}".format(job.last_frame), icon="IMAGE_DATA")
    result = job.result if isinstance(job.result, dict) else {}
    movie = result.get("movie") if isinstance(result.get("movie"), dict) else None
    if movie and movie.get("frames"):
        layout.label(text="Movie: {} ({} frames)".format(movie.get("path", ""), movie["frames"]), icon="FILE_MOVIE")
    row = layout.row(align=True)
    row.enabled = bool(job.last_frame_path or result.get("firstOutput"))
    row.operator("sidecar.open_flipbook", icon="RENDER_ANIMATION").job_id = job.id


def _result_summary(job):
    result = job.result if isinstance(job.result, dict) else {}
    if job.kind == "render" and "rendered" in result:
        text = "{} rendered, {} skipped".format(result.get("rendered", 0), result.get("skipped", 0))
        if result.get("averageFrameSeconds"):
            text += ", {:.2f} s a frame".format(result["averageFrameSeconds"])
        return text
    outputs = result.get("outputs") or []
    if job.kind == "pipeline" and isinstance(result.get("steps"), dict):
        steps = result["steps"]
        text = "{} steps done, {}".format(steps.get("done", 0), _count(len(outputs), "output", "outputs"))
        for key in ("failed", "skipped"):
            if steps.get(key):
                text += ", {} {}".format(steps[key], key)
        return text
    if job.kind == "export" and outputs and isinstance(outputs[0], dict):
        first = outputs[0]
        parts = []
        gltf = first.get("gltf") or {}
        if gltf:
            parts.append(
                "{}, {}".format(
                    _count(gltf.get("meshes", 0), "mesh", "meshes"),
                    _count(gltf.get("triangles", 0), "triangle", "triangles"),
                )
            )
        if first.get("bytes"):
            parts.append(_size(first["bytes"]))
        return ", ".join(parts)
    if job.kind == "bake" and isinstance(result.get("maps"), list):
        return "{} baked".format(_count(len(result["maps"]), "map", "maps"))
    if job.kind == "simulation" and isinstance(result.get("caches"), list):
        return "{} baked to disk".format(_count(len(result["caches"]), "simulation", "simulations"))
    return ""


def _count(n, one, many):
    return "{} {}".format(n, one if n == 1 else many)


def _seconds(seconds):
    return "{:.0f} ms".format(seconds * 1000) if seconds < 1 else "{:.1f} s".format(seconds)


def _size(n):
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return "{:.0f} {}".format(n, unit) if unit == "bytes" else "{:.1f} {}".format(n, unit)
        n /= 1024.0
    return ""


class SIDECAR_PT_workers(_SidecarPanel, bpy.types.Panel):
    bl_label = "Workers"
    bl_parent_id = "SIDECAR_PT_main"
    bl_order = 1  # after the job boxes (Render, Export, Bake), whatever order they register in

    def draw(self, context):
        layout = self.layout
        st = state.get()
        if not st.workers:
            text = "No background Blender running"
            if st.pool_size:
                text += " (up to {})".format(st.pool_size)
            layout.label(text=text)
            return
        for worker in st.workers:
            col = layout.column(align=True)
            row = col.row()
            row.label(text="{} {}".format(worker.id, worker.state), icon="BLENDER")
            row.label(text="{:.0f} MB".format(worker.rss_mb))
            _bar(
                col,
                min(1.0, worker.cpu / 100.0),
                "CPU {:.0f}%{}".format(worker.cpu, ": " + worker.label if worker.label else ""),
            )


class SIDECAR_PT_alerts(_SidecarPanel, bpy.types.Panel):
    bl_label = "Alerts"
    bl_parent_id = "SIDECAR_PT_main"
    bl_order = 1  # after the job boxes (Render, Export, Bake), whatever order they register in

    def draw_header_preset(self, context):
        self.layout.operator("sidecar.clear_alerts", text="", icon="TRASH", emboss=False)

    def draw(self, context):
        layout = self.layout
        alerts = list(state.get().alerts)
        if not alerts:
            layout.label(text="No alerts")
            return
        for alert in alerts[:ALERTS_SHOWN]:
            _wrapped(layout, context, alert.text, ALERT_ICONS.get(alert.level, "INFO"))
        if len(alerts) > ALERTS_SHOWN:
            layout.label(text="and {} older".format(len(alerts) - ALERTS_SHOWN))


classes = (
    SIDECAR_UL_jobs,
    SIDECAR_PT_main,
    SIDECAR_PT_render,
    SIDECAR_PT_export,
    SIDECAR_PT_jobs,
    SIDECAR_PT_workers,
    SIDECAR_PT_alerts,
)
register, unregister = bpy.utils.register_classes_factory(classes)
