"""Which .blend file this worker has open, and when it must be opened again.

A worker keeps its file open between tasks of the same job (that is what makes a frame cost a render, not a start-up).
It opens the file again when another file is asked for, when the file changed on disk, or when a different job
needs it: a job's overrides (engine, samples, a Geometry Nodes channel) must not leak into the next job.
"""
import os
import time

import bpy

from .errors import TaskInputError

_current = {"path": None, "mtime": None, "job": None}


def ensure_open(path, job_key):
    """Opens `path` unless it is already open, unchanged, for the same job. Returns seconds spent opening (0 if reused)."""
    if not os.path.isfile(path):
        raise TaskInputError("the blend file %s does not exist" % path)
    mtime = os.stat(path).st_mtime_ns
    if _current["path"] == path and _current["mtime"] == mtime and _current["job"] == job_key:
        return 0.0
    started = time.monotonic()
    try:
        bpy.ops.wm.open_mainfile(filepath=path, load_ui=False)
    except RuntimeError as err:
        _current.update(path=None, mtime=None, job=None)
        if not os.path.isfile(path):
            # Gone between the check and the open (a deleted temporary copy, an unmounted share).
            raise TaskInputError("the blend file %s does not exist" % path) from err
        raise TaskInputError("Blender could not open %s: %s" % (path, str(err).strip().splitlines()[-1])) from err
    _current.update(path=path, mtime=mtime, job=job_key)
    return time.monotonic() - started


def current_path():
    return _current["path"]


def forget():
    _current.update(path=None, mtime=None, job=None)
