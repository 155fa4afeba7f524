"""Render tasks: one frame of the open file to an exact path, with the job's overrides applied."""
import os
import time

import bpy

from . import preview, scenes
from .turntable import Turntable
from .errors import TaskInputError

# ENGINE_NAMES: what users may call an engine -> the identifiers Blender versions use (EEVEE was BLENDER_EEVEE_NEXT in
# 4.2-4.4), from the sidecar's table (sidecar/domain/render/engines.ts).
from .tables import ENGINE_NAMES


VIDEO_FORMATS = {"FFMPEG", "AVI_JPEG", "AVI_RAW"}


def _set_engine(scene, engine):
    candidates = ENGINE_NAMES.get(engine.lower(), [engine])
    for identifier in candidates:
        try:
            scene.render.engine = identifier
            return
        except TypeError:
            continue
    raise TaskInputError("this Blender has no render engine %r (try %s)" % (engine, ", ".join(ENGINE_NAMES)))


def _set_samples(scene, samples):
    engine = scene.render.engine
    if engine == "CYCLES":
        scene.cycles.samples = samples
    elif engine.startswith("BLENDER_EEVEE"):
        scene.eevee.taa_render_samples = samples


def _check_denoiser(scene):
    # Debian's Blender is built without OpenImageDenoise: a scene with denoising on fails every frame. Say so up front.
    if scene.render.engine != "CYCLES" or not scene.cycles.use_denoising:
        return
    options = bpy.app.build_options
    if hasattr(options, "openimagedenoise") and not options.openimagedenoise:
        if getattr(scene.cycles, "denoiser", "OPENIMAGEDENOISE") == "OPENIMAGEDENOISE":
            raise TaskInputError(
                "scene %r has Cycles denoising on, but this Blender was built without OpenImageDenoise; "
                "turn denoising off in the file (Render Properties > Sampling > Denoise) or use another Blender build"
                % scene.name
            )


def apply_overrides(task):
    scene = scenes.scene_named(task.get("scene"))
    if not task.get("turntable"):  # a turntable brings its own camera (see render_frame)
        scenes.use_camera(scene, task.get("camera"))
    if task.get("engine"):
        _set_engine(scene, task["engine"])
    if task.get("samples"):
        _set_samples(scene, task["samples"])
    if task.get("resolutionPercent"):
        scene.render.resolution_percentage = task["resolutionPercent"]
    if task.get("format"):
        try:
            scene.render.image_settings.file_format = task["format"]
        except TypeError:
            raise TaskInputError("this Blender cannot write image format %r" % task["format"])
    if scene.render.image_settings.file_format in VIDEO_FORMATS:
        raise TaskInputError(
            "scene %r renders to video (%s); frames must be images: pass format, e.g. PNG"
            % (scene.name, scene.render.image_settings.file_format)
        )
    if task.get("device") == "CPU" and scene.render.engine == "CYCLES":
        # The sidecar's retry after the GPU ran out of memory.
        scene.cycles.device = "CPU"
    threads = task.get("threads")
    if threads:
        scene.render.threads_mode = "FIXED"
        scene.render.threads = threads
    # Cycles keeps the scene synced between this worker's frames of the job (the file is opened again for another job,
    # which frees it): the same pictures, without the scene sync and BVH build every frame.
    scene.render.use_persistent_data = bool(task.get("persistentData")) and scene.render.engine == "CYCLES"
    # The sidecar keeps its own books (which frames exist); placeholders would look like finished frames after a crash.
    scene.render.use_placeholder = False
    scene.render.use_overwrite = True
    _check_denoiser(scene)
    return scene


_heartbeat = {"at": 0.0, "samples_at": 0.0}


def _render_stats(stats, *args):
    # Render progress, at most every 2 s (every 0.5 s while samples move: the sidecar shows them). Blender 5.x prints
    # nothing while a script renders, and the sidecar takes silence for a hang; these lines come from the renderer
    # itself, so a real hang still stays silent. (3.x passes None here, but prints its own "Sample n/m" lines.)
    now = time.monotonic()
    text = str(stats)
    samples = "Sample" in text or "samples" in text
    if now - _heartbeat["samples_at" if samples else "at"] >= (0.5 if samples else 2.0):
        _heartbeat["at"] = now
        if samples:
            _heartbeat["samples_at"] = now
        print("[render] %s" % text.strip(), flush=True)


def render_frame(task):
    if _render_stats not in bpy.app.handlers.render_stats:
        bpy.app.handlers.render_stats.append(_render_stats)
    _heartbeat.update(at=0.0, samples_at=0.0)  # each frame's first stats line, and first samples, are printed
    scene = apply_overrides(task)
    path = task["path"]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    scene.render.use_file_extension = False
    scene.render.filepath = path
    scene.frame_set(task["frame"])
    turntable = Turntable(scene, task.get("scope")) if task.get("turntable") else None
    try:
        if turntable:
            turntable.place(task["turntable"], task["frame"])
        started = time.monotonic()
        result = bpy.ops.render.render(write_still=True, scene=scene.name)
        seconds = time.monotonic() - started
    finally:
        if turntable:
            turntable.remove()
    if "FINISHED" not in result:
        raise RuntimeError("Blender did not finish rendering frame %d (%s)" % (task["frame"], ", ".join(result)))
    result = {
        "frame": task["frame"],
        "path": path,
        "renderSeconds": seconds,
        "fileFormat": scene.render.image_settings.file_format,
        "persistentData": scene.render.use_persistent_data,
        "threads": scene.render.threads,
    }
    if task.get("previewPath"):
        result.update(_preview(scene, task))
    return result


def _preview(scene, task):
    # A preview that fails never fails the frame: the frame is what the job is for. The sidecar reports the reason.
    started = time.monotonic()
    try:
        size = preview.write_preview(
            scene,
            task["path"],
            scene.render.image_settings.file_format,
            task["previewPath"],
            task.get("previewSize", 256),
        )
    except Exception as err:  # noqa: BLE001 - any failure becomes a sentence on the frame
        return {"previewError": "%s: %s" % (type(err).__name__, err)}
    return {"preview": dict(size, path=task["previewPath"]), "previewSeconds": time.monotonic() - started}
