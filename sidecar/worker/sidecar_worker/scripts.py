"""A job's pre-render script: a Python file the user names, run inside the worker once after the file is opened
(to set up passes, override settings, load a library). Its errors are the user's, reported with their traceback."""
import runpy

from . import blendfile

_ran_for = {"key": None}


def run_once(task):
    script = task.get("preRenderScript")
    if not script:
        return
    key = (blendfile.current_path(), task.get("jobKey"), script)
    if _ran_for["key"] == key:
        return
    runpy.run_path(script, run_name="__sidecar_pre_render__")
    _ran_for["key"] = key


def forget():
    _ran_for["key"] = None
