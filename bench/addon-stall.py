"""How long each of the add-on's operators holds Blender's main thread, against the real sidecar.

    blender -b --factory-startup --python bench/addon-stall.py [-- --repeat N --json OUT]
    node --import tsx bench/addon-stall.ts          # on every Blender of the matrix (3.4, 4.3, 5.2)

For each operator: the longest and median time inside its execute (what the add-on records in state.stalls) and
the longest `bpy.ops` call as a script sees it (adds Blender's operator dispatch). The drain timer: its longest run
while jobs report progress, and its one run over a flood of queued messages (it stops after BUDGET and leaves the
rest for the next run). Saving the temporary copy of a dirty file is measured apart: the default scene, and a heavier
one (about a million vertices), because it is the one thing a click may block for.

Background mode has no event loop, so the drain is called here every 20 ms, as the timer would be.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ beside the sources
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "test", "addon"))

import bpy  # noqa: E402

import harness  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", default="")
    return parser.parse_args(harness.our_args())


class Bench(object):
    def __init__(self, repeat):
        self.repeat = repeat
        self.tmp = tempfile.mkdtemp(prefix="sidecar-addon-bench-")
        self.addon = harness.Addon()
        self.calls = {}  # operator -> [seconds of each bpy.ops call]
        self.drain_runs = []

    # -- plumbing ----------------------------------------------------------------------------------------------------

    def pump(self, until, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            started = time.perf_counter()
            self.addon.drain()
            self.drain_runs.append(time.perf_counter() - started)
            if until():
                return
            if time.monotonic() > deadline:
                raise AssertionError("waited {:g} s for {}; {}".format(timeout, what, self.addon.describe()))
            time.sleep(0.02)

    def op(self, name, **props):
        """Calls bpy.ops.sidecar.<name> and records how long the call took."""
        operator = getattr(bpy.ops.sidecar, name)
        started = time.perf_counter()
        try:
            operator(**props)
        except RuntimeError as err:  # an operator's report({'ERROR'}) in background mode; still a measured click
            print("  ({} reported: {})".format(name, str(err).strip()))
        self.calls.setdefault("SIDECAR_OT_" + name, []).append(time.perf_counter() - started)

    def submit(self, name):
        st = self.addon.state
        before = set(st.jobs)
        self.op(name)

        def accepted():
            return next(
                (j for j in st.jobs.values() if j.id not in before and not j.id.startswith("submitting-")), None
            )

        self.pump(accepted, 60, "the sidecar to accept the job")
        return accepted()

    # -- the scenario ------------------------------------------------------------------------------------------------

    def setup(self):
        self.addon.enable()
        self.addon.set_prefs(
            node_path=harness.node_for_tests(),
            state_dir=os.path.join(self.tmp, "state"),
            port=0,
            instances=1,
            auto_start=False,
        )
        scene = bpy.context.scene
        harness.tiny_render_settings(scene)
        scene.frame_start, scene.frame_end = 1, 2
        scene.render.filepath = os.path.join(self.tmp, "render") + os.sep
        scene.sidecar_settings.export_output = os.path.join(self.tmp, "export") + os.sep
        bpy.ops.wm.save_as_mainfile(filepath=os.path.join(self.tmp, "bench.blend"))
        # A fake file browser: open_output really starts a process, and nothing opens on screen.
        fake_bin = os.path.join(self.tmp, "bin")
        os.makedirs(fake_bin)
        with open(os.path.join(fake_bin, "xdg-open"), "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(os.path.join(fake_bin, "xdg-open"), 0o755)
        os.environ["PATH"] = fake_bin + os.pathsep + os.environ.get("PATH", "")

    def run(self):
        st = self.addon.state
        self.op("connect")
        self.pump(lambda: st.connected, 60, "the sidecar to start")
        self.pump(lambda: st.version, 60, "sidecar.info")
        for _ in range(self.repeat):
            self.op("connect")  # already connected: says so
            self.pump(lambda: st.connected, 10, "connected")
        for _ in range(self.repeat):
            job = self.submit("render_background")
            self.pump(lambda: job.state in ("completed", "failed"), 120, "the render")
        cube = bpy.data.objects["Cube"]
        for obj in bpy.context.view_layer.objects:
            obj.select_set(obj is cube)
        for i in range(self.repeat):
            cube.location.x = i * 0.1
            bpy.ops.ed.undo_push(message="move")  # dirty: the export saves a copy first
            job = self.submit("export_background")
            self.pump(lambda: job.state in ("completed", "failed"), 120, "the export")
        scene = bpy.context.scene
        for _ in range(max(2, self.repeat // 2)):
            scene.frame_end = 100
            scene.cycles.samples = 256
            job = self.submit("render_background")
            scene.frame_end, scene.cycles.samples = 2, 2
            self.pump(lambda: job.state == "running", 60, "the long render to start")
            self.op("cancel_job", job_id=job.id)
            self.pump(lambda: job.state == "canceled", 30, "the cancel")
        done = next(j for j in st.jobs.values() if j.state == "completed" and j.output_folder)
        for _ in range(self.repeat):
            self.op("open_output", job_id=done.id)
            self.op("clear_alerts")
        for _ in range(self.repeat):
            self.op("disconnect")
            self.pump(lambda: st.connection == "disconnected", 10, "the disconnect")
            self.op("connect", start=False)
            self.pump(lambda: st.connected, 20, "the reconnect")
        self.flood()
        self.op("stop_sidecar")
        self.pump(lambda: st.connection == "disconnected", 30, "the stop")

    def flood(self):
        """The drain's worst case: thousands of messages waiting at once (a long render's progress, say)."""
        messages = self.addon.connection.messages
        MsgProgress = self.addon.sub("messages").MsgProgress
        job_id = next(iter(self.addon.state.jobs))
        for i in range(5000):
            messages.put(MsgProgress({"jobId": job_id, "kind": "render", "state": "running", "total": 5000, "done": i}))
        runs = []
        while not messages.empty():
            started = time.perf_counter()
            self.addon.drain()
            runs.append(time.perf_counter() - started)
        self.flood_runs = runs

    def heavy_save(self):
        """Saving the copy of a dirty, heavier scene (the one stall the design allows)."""
        snapshot = self.addon.sub("snapshot")
        for i in range(8):
            bpy.ops.mesh.primitive_monkey_add(location=(i * 3, 5, 0))
            obj = bpy.context.active_object
            mod = obj.modifiers.new("Subdivision", "SUBSURF")
            mod.levels = 4
            with bpy.context.temp_override(object=obj, active_object=obj):
                bpy.ops.object.modifier_apply(modifier=mod.name)
        bpy.ops.ed.undo_push(message="heavy")
        verts = sum(len(o.data.vertices) for o in bpy.data.objects if o.type == "MESH")
        times, size = [], 0
        for _ in range(3):
            snap = snapshot.blend_to_send()
            times.append(snap.seconds)
            size = os.path.getsize(snap.path)
            snap.discard()
        return {"vertices": verts, "megabytes": round(size / 2**20, 1), "seconds": times}

    # -- the report --------------------------------------------------------------------------------------------------

    def results(self):
        stalls = self.addon.state.stalls
        rows = []
        for name, calls in self.calls.items():
            inside = stalls.get(name)
            rows.append(
                {
                    "name": name,
                    "calls": len(calls),
                    "inside_max_ms": round(inside.longest * 1000, 2) if inside else None,
                    "inside_median_ms": round(inside.total / inside.count * 1000, 2) if inside else None,
                    "call_max_ms": round(max(calls) * 1000, 2),
                    "call_median_ms": round(statistics.median(calls) * 1000, 2),
                }
            )
        copies = stalls.get("save copy")
        return {
            "blender": bpy.app.version_string,
            "operators": rows,
            "drain": {
                "runs": len(self.drain_runs),
                "max_ms": round(max(self.drain_runs) * 1000, 2),
                "median_ms": round(statistics.median(self.drain_runs) * 1000, 3),
            },
            "drain_flood": {
                "messages": 5000,
                "runs": len(self.flood_runs),
                "max_ms": round(max(self.flood_runs) * 1000, 2),
                "budget_ms": self.addon.sub("timer").BUDGET * 1000,
            },
            "save_copy_default_scene_ms": round(copies.longest * 1000, 2) if copies else None,
        }

    def cleanup(self):
        try:
            if self.addon.enabled:
                self.addon.remove()
        finally:
            harness.kill_all(harness.sidecars(os.path.join(self.tmp, "state")))
            shutil.rmtree(self.tmp, ignore_errors=True)


def print_table(r):
    print("\nLongest main-thread stall per operator, Blender {} (background mode, real sidecar)".format(r["blender"]))
    print("| operator | calls | inside execute, max | median | bpy.ops call, max |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in r["operators"]:
        print("| {name} | {calls} | {inside_max_ms} ms | {inside_median_ms} ms | {call_max_ms} ms |".format(**row))
    d, f = r["drain"], r["drain_flood"]
    print("| drain timer, while jobs run | {} | {} ms | {} ms | |".format(d["runs"], d["max_ms"], d["median_ms"]))
    print(
        "| drain timer, {} messages queued at once | {} | {} ms (budget {:g} ms a run) | | |".format(
            f["messages"], f["runs"], f["max_ms"], f["budget_ms"]
        )
    )
    print(
        "| save copy of the dirty default scene (not counted above) | | {} ms | | |".format(
            r["save_copy_default_scene_ms"]
        )
    )
    h = r["heavy_save"]
    print(
        "| save copy of a heavier scene: {:,} vertices, {} MB | 3 | {:.0f} ms | {:.0f} ms | |".format(
            h["vertices"], h["megabytes"], max(h["seconds"]) * 1000, statistics.median(h["seconds"]) * 1000
        )
    )


def main():
    args = parse_args()
    bench = Bench(args.repeat)
    try:
        bench.setup()
        bench.run()
        results = bench.results()
        results["heavy_save"] = bench.heavy_save()
    finally:
        bench.cleanup()
    print_table(results)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    over = [
        row["name"] for row in results["operators"] if row["inside_max_ms"] is not None and row["inside_max_ms"] > 50
    ]
    if over:
        print("over 50 ms: {}".format(", ".join(over)))
        return 1
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    if code:
        sys.exit(code)
