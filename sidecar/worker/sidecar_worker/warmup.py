"""Paying Cycles' one-time start-up while the worker waits for its first task.

The first Cycles render of a Blender process loads the render kernels and sets up the image writers and colour
management: 0.15-0.3 s here on a 240x180 frame that later renders in 0.1 s. A worker of a warm pool (`serve --warm`)
would otherwise pay it on the first frame of the first job it gets. So a worker that has had no task for
IDLE_BEFORE_WARMUP_S after starting renders one 8x8 pixel, one-sample frame of a scene of its own, in the file it
started with, and removes that scene again. What it loads stays loaded across the files it opens later.

A worker that gets its first task at once (a cold start, where a job is already waiting) skips this: the frame it is
about to render pays the same start-up, and a warm-up first would only delay it.
"""
import os
import select
import tempfile
import time

import bpy

IDLE_BEFORE_WARMUP_S = 0.25


def idle_for(fd, seconds):
    """True when nothing arrives on `fd` within `seconds` (False where that cannot be known: select() on Windows
    takes only sockets). Only valid before anything was read from the fd through a buffer."""
    if os.name == "nt":
        return False
    try:
        readable, _, _ = select.select([fd], [], [], seconds)
    except (OSError, ValueError):
        return False
    return not readable


def warm_cycles():
    """Renders one tiny Cycles frame of a temporary scene; returns the seconds it took, or None when it could not."""
    if "cycles" not in bpy.context.preferences.addons:
        return None
    started = time.monotonic()
    scene = bpy.data.scenes.new("sidecar-warm-up")
    camera_data = bpy.data.cameras.new("sidecar-warm-up")
    camera = bpy.data.objects.new("sidecar-warm-up", camera_data)
    fd, path = tempfile.mkstemp(suffix=".png", prefix="sidecar-warm-up-")
    os.close(fd)
    try:
        scene.collection.objects.link(camera)
        scene.camera = camera
        scene.render.engine = "CYCLES"
        scene.cycles.samples = 1
        scene.cycles.device = "CPU"
        # New scenes denoise by default, and Debian's Blender is built without OpenImageDenoise.
        scene.cycles.use_denoising = False
        scene.render.resolution_x = scene.render.resolution_y = 8
        scene.render.resolution_percentage = 100
        scene.render.image_settings.file_format = "PNG"
        scene.render.filepath = path
        bpy.ops.render.render(write_still=True, scene=scene.name)
        return time.monotonic() - started
    except Exception:  # noqa: BLE001 - a warm-up that fails leaves the start-up to the first frame, as without it
        return None
    finally:
        bpy.data.objects.remove(camera)
        bpy.data.cameras.remove(camera_data)
        bpy.data.scenes.remove(scene)
        try:
            os.remove(path)
        except OSError:
            pass
