"""The worker loop: announce, then take tasks one at a time until told to exit or the sidecar goes away.

One task at a time, on Blender's main thread (bpy is not thread-safe). A task's failure is reported and the loop goes
on; only a lost pipe ends it, so a worker never outlives the sidecar that feeds it by more than the current task.
"""
import os
import sys
import time
import traceback

import bpy

from . import (
    bake,
    blendfile,
    bytecode,
    export,
    framing,
    gn,
    inspect,
    movie,
    peak_memory,
    render,
    scripts,
    simulation,
    warmup,
)
from .errors import TaskInputError
from .pipeline import bake_step as pipeline_bake
from .pipeline import checks as pipeline_checks
from .pipeline import inspect as pipeline_inspect
from .pipeline import transform as pipeline_transform
from .pipeline import variant as pipeline_variant

REPLY_FD = 3


def _handlers():
    # Looked up at call time, so a pre-render script may wrap a task function (tests use this to stand in for
    # failures that cannot happen on this machine, such as a GPU running out of memory).
    return {
        "inspect": lambda task: inspect.inspect_file(task),
        "render": lambda task: render.render_frame(task),
        "movie": lambda task: movie.make_movie(task),
        "export": lambda task: export.export_item(task),
        "bake.plan": lambda task: bake.plan(task),
        "bake": lambda task: bake.bake_object(task),
        "bake.simulation.plan": lambda task: simulation.plan(task),
        "bake.simulation": lambda task: simulation.bake_object(task),
        "pipeline.inspect": lambda task: pipeline_inspect.inspect_file(task),
        "pipeline.validate": lambda task: pipeline_checks.validate(task),
        "pipeline.transform": lambda task: pipeline_transform.transform(task),
        "pipeline.variant": lambda task: pipeline_variant.set_variant(task),
        "pipeline.bake": lambda task: pipeline_bake.bake_step(task),
    }


def _run(task, handlers):
    kind = task.get("kind")
    handler = handlers.get(kind)
    if handler is None:
        raise TaskInputError("this worker does not know task kind %r" % kind)
    opened = 0.0
    if task.get("blendFile"):
        opened = blendfile.ensure_open(task["blendFile"], task.get("jobKey"))
        if opened:
            scripts.forget()
            if task.get("gn"):
                # A fresh copy of the file: the job's Geometry Nodes values go in before anything renders or exports.
                gn.apply_values(task["gn"])
    # The pre-render script runs after the file (and its sync values) are in place, before the task itself.
    scripts.run_once(task)
    result = handler(task)
    if opened:
        result = dict(result, openSeconds=opened)
    if task.get("gn"):
        result = dict(result, gnRevision=task["gn"].get("revision"))
    return result


def run_task(task):
    """Runs one task as the loop would (the file opened, sync values and pre-render script applied); for farm tasks."""
    return _run(task, _handlers())


def _error_reply(task_id, err):
    if isinstance(err, TaskInputError):
        return {"type": "result", "id": task_id, "ok": False, "error": {"kind": "input", "message": str(err)}}
    tb = traceback.format_exc()
    return {
        "type": "result",
        "id": task_id,
        "ok": False,
        "error": {"kind": "python", "message": "%s: %s" % (type(err).__name__, err), "traceback": tb},
    }


def main(argv):
    handlers = _handlers()
    stdin = sys.stdin.buffer
    framing.write_message(
        REPLY_FD,
        {
            "type": "hello",
            "pid": os.getpid(),
            "version": ".".join(str(v) for v in bpy.app.version),
            "python": sys.version.split()[0],
            "kinds": sorted(handlers),
            "bytecode": bytecode.status(),
        },
    )
    # Nothing has been read from stdin yet, so select() on its fd sees whether a task is already waiting.
    if warmup.idle_for(stdin.fileno(), warmup.IDLE_BEFORE_WARMUP_S):
        seconds = warmup.warm_cycles()
        sys.stdout.flush()
        if seconds is not None:
            framing.write_message(REPLY_FD, {"type": "warmed", "engine": "CYCLES", "seconds": seconds})
        # Still waiting: the next worker's start-up need not compile what this one's did. A task that arrives stops
        # it (about 1 s for all of Blender's start-up, once): the rest is saved when the worker exits.
        bytecode.save_missing(interrupted=lambda: not warmup.idle_for(stdin.fileno(), 0))
    while True:
        try:
            message = framing.read_message(stdin)
        except framing.ChannelClosed:
            break
        if message.get("type") == "exit":
            # Told to exit (not cut off): what this worker imported, compiled once for the next worker's start-up.
            bytecode.save_missing()
            break
        if message.get("type") != "task":
            continue
        task_id = message.get("id")
        started = time.monotonic()
        peak_memory.reset()
        try:
            result = _run(message, handlers)
            reply = {"type": "result", "id": task_id, "ok": True, "result": result}
        except Exception as err:  # noqa: BLE001 - every failure becomes a reply; the loop must go on
            reply = _error_reply(task_id, err)
        reply["seconds"] = time.monotonic() - started
        peak = peak_memory.peak_bytes()
        if peak:
            reply["peakRssBytes"] = peak
        sys.stdout.flush()
        framing.write_message(REPLY_FD, reply)
    sys.stdout.flush()
    # os._exit: Blender's own exit path after a --python script can take a second to tear down; nothing is left to save.
    os._exit(0)
