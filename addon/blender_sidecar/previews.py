"""Thumbnails of render jobs' newest frames, for the panel: one `bpy.utils.previews` collection, one image per job.

The sidecar writes each frame's preview (a PNG of about 256 px, through the scene's colour management). When a job's
newest preview changes, a short-lived thread reads the PNG (thumbnail.py, plain Python: Blender's own image loading
may hold the main thread for 150 ms or more the first time on Blender 5.x); the drain timer then hands the pixels to
a preview it creates (a picture for the Jobs box, a 32 px icon for the list row). So drawing costs nothing and the
main thread only copies pixels, and nothing is written to the user's thumbnail cache (a preview loaded from a file
would be). At most one preview per job in the panel's list (state.MAX_JOBS), and one read per job at a time.
"""

import logging
import queue
import threading
import time

import bpy
import bpy.utils.previews

from . import thumbnail, timer

ICON_SIZE = 32  # Blender's icon size: what a list row draws
THREAD_NAME = "blender-sidecar-preview"
log = logging.getLogger(__name__)

_collection = None
_shown = {}  # job id -> preview path shown for it
_reading = {}  # job id -> (path, thread) being read
_read = queue.Queue()  # (job id, path, picture or None, error) from the reading threads


def icon_id(job):
    """The icon of the job's newest frame, or 0 when it has none (yet)."""
    if _collection is None or not job.last_preview:
        return 0
    preview = _collection.get(job.last_preview)
    return preview.icon_id if preview is not None else 0


def _read_picture(job_id, path):
    """On a thread: the preview's pixels and its icon's, ready for Blender (packed ints, bottom row first). It lets
    go of the interpreter lock after every row, so the main thread never waits long for it."""
    try:
        width, height, rgba = thumbnail.read_png(path, pause=lambda: time.sleep(0))
        iw, ih, icon = thumbnail.shrink(width, height, rgba, ICON_SIZE)
        picture = (width, height, thumbnail.rgba_ints(width, height, rgba), iw, ih, thumbnail.rgba_ints(iw, ih, icon))
        _read.put((job_id, path, picture, None))
    except Exception as err:  # noqa: BLE001 - OSError, NotAPreview, zlib.error: a broken file must not end silently
        _read.put((job_id, path, None, err))


def _start_reading(job_id, path):
    thread = threading.Thread(target=_read_picture, args=(job_id, path), name=THREAD_NAME, daemon=True)
    _reading[job_id] = (path, thread)
    thread.start()


def _create(path, picture):
    width, height, pixels, iw, ih, icon = picture
    preview = _collection.get(path) or _collection.new(path)
    preview.image_size = (width, height)
    preview.image_pixels.foreach_set(pixels)
    preview.icon_size = (iw, ih)
    preview.icon_pixels.foreach_set(icon)


def _drop(path):
    if path and path in _collection and path not in _shown.values():
        del _collection[path]


def _take_read():
    while True:
        try:
            job_id, path, picture, err = _read.get_nowait()
        except queue.Empty:
            return
        if _reading.get(job_id, (None,))[0] == path:
            del _reading[job_id]
        if picture is None:
            # A preview the sidecar named but that cannot be read (deleted meanwhile): the row keeps the one it has.
            log.warning("could not read the preview %s: %s", path, err)
            continue
        _create(path, picture)
        old = _shown.get(job_id)
        _shown[job_id] = path
        if old != path:
            _drop(old)


def show(sidecar_state):
    """After each drain: shows what was read, starts reading newer previews, forgets jobs that left the list."""
    if _collection is None:
        return
    _take_read()
    for job_id in [j for j in _shown if j not in sidecar_state.jobs]:
        _drop(_shown.pop(job_id))
    for job in sidecar_state.jobs.values():
        path = job.last_preview
        if path and _shown.get(job.id) != path and job.id not in _reading:
            _start_reading(job.id, path)


def _apply(_msg):
    pass


def wait_idle(timeout):
    """Waits (up to `timeout` s) for the reading threads to end: unregister, and tests without an event loop."""
    for _path, thread in list(_reading.values()):
        thread.join(timeout)


def register():
    global _collection
    _collection = bpy.utils.previews.new()
    _shown.clear()
    _reading.clear()
    timer.follow(_apply, show)


def unregister():
    global _collection
    timer.unfollow(_apply, show)
    wait_idle(2.0)
    if _collection is not None:
        bpy.utils.previews.remove(_collection)
    _collection = None
    _shown.clear()
    _reading.clear()
