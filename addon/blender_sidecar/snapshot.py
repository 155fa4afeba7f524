"""The .blend file a background job opens: the saved file itself when it holds what the artist sees, else a copy of
the current state saved into a temporary folder, timed (the one thing a click may block the main thread for).

The sidecar deletes a copy when its job ends (`temporaryBlendFile: true`); `saveCopySeconds` travels with the job.
"""

import contextlib
import os
import tempfile
import time
import uuid

import bpy

from .errors import SidecarError

COPIES_FOLDER = "blender-sidecar-copies"


class Snapshot(object):
    """`path` to send; `temporary` when it is a copy to delete after the job; `seconds` the copy took to save."""

    __slots__ = ("path", "temporary", "seconds")

    def __init__(self, path, temporary, seconds):
        self.path = path
        self.temporary = temporary
        self.seconds = seconds

    def params(self):
        """The submit params that say which file to open and how it was made."""
        params = {"blendFile": self.path}
        if self.temporary:
            params["temporaryBlendFile"] = True
            params["saveCopySeconds"] = round(self.seconds, 4)
        return params

    def discard(self):
        """Deletes a copy nobody will use (the submission failed before the sidecar took it)."""
        if self.temporary:
            for path in (self.path, self.path + "1"):
                try:
                    os.remove(path)
                except OSError:
                    pass


def copies_dir():
    """Where copies go: a folder of the system's temporary folder, which the sidecar and its workers can read."""
    return os.path.join(tempfile.gettempdir(), COPIES_FOLDER)


def blend_to_send():
    """The file for a job: the saved one when it is saved and not dirty, else a fresh copy of the current state."""
    if bpy.data.is_saved and not bpy.data.is_dirty:
        return Snapshot(bpy.data.filepath, False, 0.0)
    folder = copies_dir()
    stem = os.path.splitext(os.path.basename(bpy.data.filepath))[0] if bpy.data.is_saved else "untitled"
    path = os.path.join(folder, "{}-{}-{}.blend".format(stem, time.strftime("%Y%m%d-%H%M%S"), uuid.uuid4().hex[:6]))
    started = time.perf_counter()
    try:
        os.makedirs(folder, exist_ok=True)
        with _no_thumbnail():
            # copy=True: the open file stays the artist's file (and stays dirty); relative paths are remapped to
            # the copy's folder, so textures and libraries still resolve. Uncompressed: a copy read once by a
            # worker gains nothing from it, and compressing is most of the save (5.x compresses new files).
            result = bpy.ops.wm.save_as_mainfile(filepath=path, copy=True, check_existing=False, compress=False)
    except (OSError, RuntimeError) as err:
        raise SidecarError("Cannot save a temporary copy of this file to {}: {}".format(folder, str(err).strip()))
    seconds = time.perf_counter() - started
    if "FINISHED" not in result or not os.path.isfile(path):
        raise SidecarError("Blender did not save the temporary copy to {}: see the Info log.".format(path))
    return Snapshot(path, True, seconds)


@contextlib.contextmanager
def _no_thumbnail():
    """Saves without the file's thumbnail: nobody looks at a worker's copy, and drawing it is most of the time a
    save takes in the interface (0.77 s of 0.77 s for the default scene with software OpenGL; none in background)."""
    prefs = bpy.context.preferences
    filepaths = prefs.filepaths
    if getattr(filepaths, "file_preview_type", "NONE") == "NONE":
        yield
        return
    before, dirty = filepaths.file_preview_type, prefs.is_dirty
    filepaths.file_preview_type = "NONE"
    try:
        yield
    finally:
        filepaths.file_preview_type = before
        prefs.is_dirty = dirty  # the preferences did not really change
