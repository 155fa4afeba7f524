"""Entry point of one farm task (a Slurm array task): renders its chunk of frames with the worker's own code.

Run on a node as:
    blender -b -noaudio --python-exit-code 1 --python farm_task.py -- --spec job.json --chunk N
Each frame is rendered exactly as a local worker renders it (sidecar_worker.loop.run_task: the file opened, the job's
sync values and pre-render script applied, the overrides set) to a hidden partial file, which is renamed to a hidden
"rendered" file once Blender says it finished. The sidecar then checks that file as it checks a local frame and
renames it to its final name; a frame this job already wrote (either file) is not rendered again (a retried chunk, a
requeued task). A failing frame ends the task with exit status 1 and its traceback in the task's log.
"""
import json
import os
import sys
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sidecar_worker import loop  # noqa: E402


def _args(argv):
    args = dict(zip(argv[::2], argv[1::2]))
    return args["--spec"], int(args["--chunk"])


def _written_by_job(path, not_before):
    # A final frame from before the job is one an overwrite must render again; this job's own are kept.
    try:
        return os.stat(path).st_mtime >= not_before
    except OSError:
        return False


def _say(message):
    print("[sidecar-farm] %s" % message, flush=True)


def main(argv):
    spec_path, chunk = _args(argv)
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    frames = spec["chunks"][chunk]
    threads = int(os.environ.get("SLURM_CPUS_PER_TASK") or 0) or None
    _say("chunk %d: frames %s on %s" % (chunk, ", ".join(str(f) for f in frames), os.uname().nodename))
    for frame in frames:
        files = spec["files"][str(frame)]
        if _written_by_job(files["final"], spec["notBefore"]) or os.path.exists(files["rendered"]):
            _say("frame %d is already on disk" % frame)
            continue
        task = dict(spec["task"], frame=frame, path=files["partial"], threads=threads)
        try:
            result = loop.run_task(task)
            # The result first: once the rendered file is there, the sidecar may take both at once.
            with open(files["result"], "w", encoding="utf-8") as f:
                json.dump(result, f)
            os.replace(files["partial"], files["rendered"])
        except Exception as err:  # noqa: BLE001 - the task ends here; its log carries the reason
            traceback.print_exc()
            _say("frame %d failed: %s: %s" % (frame, type(err).__name__, err))
            if os.path.exists(files["partial"]):
                os.remove(files["partial"])
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)
        _say("frame %d rendered" % frame)
    sys.stdout.flush()
    # os._exit: Blender's own exit after a --python script can take a second to tear down; nothing is left to save.
    os._exit(0)


main(sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else [])
