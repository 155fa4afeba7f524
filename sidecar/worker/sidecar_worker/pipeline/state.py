"""Steps that change the scene: they save what they made as a copy, and the worker forgets its open file afterwards
(the scene in memory no longer matches any file on disk, so the next task must open its file again)."""
import functools
import os

import bpy

from .. import blendfile


def changes_scene(step):
    @functools.wraps(step)
    def wrapper(task):
        try:
            return step(task)
        finally:
            blendfile.forget()

    return wrapper


def save_copy(path):
    """Saves the scene as it is now to `path`, leaving the open file's own path alone. Relative paths are remapped."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    result = bpy.ops.wm.save_as_mainfile(filepath=path, copy=True, check_existing=False)
    if "FINISHED" not in result:
        raise RuntimeError("Blender did not save %s (%s)" % (path, ", ".join(result)))
