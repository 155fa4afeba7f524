"""The Sidecar Pipeline editor in Blender's interface, with a real event loop: the sidecar starts by itself, the 3D
viewport becomes a node editor showing a "Sidecar Pipeline", the game-asset template is loaded and run over a file
with collections (one of them faulty), the nodes take their states while the interface keeps running, and a
screenshot of the display is saved.

    xvfb-run -a -s "-screen 0 1280x800x24" blender --factory-startup --python test/addon/pipeline_gui_test.py \
        [-- --out PNG]

Exits 0 when everything worked, 1 otherwise (with the reason printed). Writes PNG (default
test/artifacts/pipeline-editor.png) and, beside it, a .json with what was measured: each node's state and counts as
the nodes hold them, and how many pixels of each state's colour the screenshot has.

The sidebar's Sidecar tab is opened with real clicks (xdotool), the screenshot is ImageMagick's `import -window root`;
a Blender in a chroot has neither and writes PNG.request for test/addon/pipeline-editor.test.ts to run the command
outside (as gui_test.py does).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bpy  # noqa: E402

import harness  # noqa: E402

TIMEOUT = 75.0
MAKE_SCENE = os.path.join(harness.ROOT, "test", "fixtures", "make_scene.py")
TREE_ID = "SidecarPipelineTree"


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(harness.ROOT, "test", "artifacts", "pipeline-editor.png"))
    return parser.parse_args(harness.our_args())


class PipelineGuiTest(harness.XvfbScenario):
    def __init__(self, out):
        self.out = os.path.abspath(out)
        self.tmp = tempfile.mkdtemp(prefix="sidecar-pipeline-gui-")
        self.report = {"blender": bpy.app.version_string, "screenshot": self.out}
        self.started = time.monotonic()
        self.steps = self.scenario()
        self.addon = None

    # -- set-up, before the event loop starts ----------------------------------------------------------------------

    def setup(self):
        prefs = bpy.context.preferences
        prefs.use_preferences_save = False  # nothing this test changes reaches the user's settings
        prefs.view.show_splash = False
        # The sidebar beside the nodes, not over them (4.x and later overlap it), so View All frames them all.
        prefs.system.use_region_overlap = False
        scene = os.path.join(self.tmp, "assets", "assets.blend")
        os.makedirs(os.path.dirname(scene))
        subprocess.run(
            [
                bpy.app.binary_path,
                "-b",
                "--factory-startup",
                "--python-exit-code",
                "1",
                "--python",
                MAKE_SCENE,
                "--",
                scene,
                "--collections",
                "--faults",
                "--frames",
                "2",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            timeout=60,
        )
        bpy.ops.wm.open_mainfile(filepath=scene)
        self.report["blend"] = scene
        self.addon = harness.Addon()
        self.addon.enable()
        self.addon.set_prefs(
            node_path=harness.node_for_tests(),
            state_dir=os.path.join(self.tmp, "state"),
            port=0,
            instances=2,
            auto_start=True,  # the first timer run starts the sidecar
        )
        # Persistent: a timer that is not is removed when a file loads.
        bpy.app.timers.register(self.tick, first_interval=0.5, persistent=True)

    # -- the scenario, one step per timer run ----------------------------------------------------------------------

    def tick(self):
        try:
            delay = next(self.steps)
        except StopIteration:
            return None
        except Exception:
            self.finish(False, traceback.format_exc())
            return None
        if time.monotonic() - self.started > TIMEOUT:
            self.finish(False, "the GUI test took over {:g} s; {}".format(TIMEOUT, self.addon.describe()))
            return None
        return delay

    def scenario(self):
        st = self.addon.state
        self.node_editor()
        yield 0.5  # the area gets the node editor's regions when it next redraws
        window, area = self.node_editor()
        region = next(r for r in area.regions if r.type == "WINDOW")
        with bpy.context.temp_override(window=window, area=area, region=region):
            result = bpy.ops.sidecar.pipeline_template("EXEC_DEFAULT", template="game-asset")
        if "FINISHED" not in result:
            raise AssertionError("loading the template returned {}".format(result))
        tree = area.spaces.active.node_tree
        if tree is None or tree.bl_idname != TREE_ID:
            raise AssertionError("the node editor does not show the template's tree: {}".format(tree))
        self.report["tree"] = tree.name
        with bpy.context.temp_override(window=window, area=area, region=region):
            bpy.ops.screen.screen_full_area()  # the editor alone: nodes as large as the window allows
        yield 0.3
        window, area = self.node_editor()
        region = next(r for r in area.regions if r.type == "WINDOW")
        yield from self.wait(lambda: st.connected and st.export_formats, 40, "Start Automatically to connect")
        self.report["connected_after_s"] = round(time.monotonic() - self.started, 1)
        before = set(st.jobs)
        with bpy.context.temp_override(window=window, area=area, region=region):
            pressed = time.perf_counter()
            result = bpy.ops.sidecar.pipeline_run("INVOKE_DEFAULT")  # the tree in this editor, as the button does
            self.report["run_click_ms"] = round((time.perf_counter() - pressed) * 1000, 2)
        if "FINISHED" not in result:
            raise AssertionError("Run Pipeline returned {}; {}".format(result, self.addon.describe()))
        yield from self.wait(
            lambda: tree.job_id and tree.job_id not in before, 30, "the sidecar to accept the pipeline"
        )
        job = st.jobs[tree.job_id]
        running_seen = []

        def ended():
            running_seen.extend(n.name for n in tree.nodes if n.run.state == "running")
            return job.state in ("completed", "failed", "canceled")

        yield from self.wait(ended, 60, "the pipeline to end")
        yield 0.5  # the job's report, written to the nodes by the drain
        self.report["job"] = {"id": job.id, "state": job.state, "error": job.error, "kind": job.kind}
        self.report["nodes"] = {
            n.node_id: {"state": n.run.state, "text": n.run.text(), "message": n.run.message}
            for n in tree.nodes
            if hasattr(n, "run")
        }
        self.report["seen_running"] = sorted(set(running_seen))
        expected = {"source": "done", "validate": "failed", "triangulate": "partial", "export": "partial"}
        got = {k: self.report["nodes"][k]["state"] for k in expected}
        if got != expected:
            raise AssertionError("the nodes show {}, not {}".format(got, expected))
        validate = next(n for n in tree.nodes if getattr(n, "node_id", "") == "validate")
        tree.nodes.active = validate  # the sidebar shows the active node's state and message in full
        validate.select = True
        yield from self.open_tab(window, area)
        with bpy.context.temp_override(window=window, area=area, region=region):
            bpy.ops.node.view_all()
        yield 1.0  # drawn with the final states
        yield from self.screenshot(self.out)
        self.check_image(self.out)
        self.report["stalls_ms"] = {n: round(s.longest * 1000, 2) for n, s in st.stalls.items()}
        bpy.ops.sidecar.stop_sidecar()
        yield from self.wait(lambda: st.connection == "disconnected", 20, "the sidecar to stop")
        self.finish(True)

    def open_tab(self, window, area):
        """Opens the editor's sidebar and clicks down its tab strip (its right edge) until the Sidecar Pipeline panel
        draws, as a user would: no Blender lets a script choose the tab (see gui_test.py)."""
        area.spaces.active.show_region_ui = True
        panel = bpy.types.SIDECAR_PT_pipeline
        original = panel.draw
        draws = [0]

        def counting_draw(panel_self, context):
            draws[0] += 1
            original(panel_self, context)

        panel.draw = counting_draw
        yield 0.5
        region = next(r for r in area.regions if r.type == "UI")
        x = window.x + region.x + region.width - 11
        top = window.y + window.height - (region.y + region.height)
        try:
            for offset in range(15, min(region.height, 400), 20):
                before = draws[0]
                yield from self.host(["xdotool", "mousemove", str(x), str(top + offset), "click", "1"])
                yield 0.3
                if draws[0] > before:
                    self.report["tab_at"] = [x, top + offset]
                    yield from self.widen_sidebar(window, region)
                    return
        finally:
            panel.draw = original
        raise AssertionError("clicking down the sidebar's tabs at x={} never showed the Sidecar tab".format(x))

    def widen_sidebar(self, window, region, by=80):
        """Drags the sidebar's left edge (its resize zone lies a few pixels inside the region) to the left, one step
        per timer run: Blender must see the pointer over the edge before the button goes down."""
        x = window.x + region.x + 2  # the node editor's sidebar does not overlap: its edge is the region's
        y = window.y + window.height - (region.y + region.height // 2)
        for args in (
            ["mousemove", x, y],
            ["mousedown", 1],
            ["mousemove", x - 30, y],
            ["mousemove", x - by, y],
            ["mouseup", 1],
            ["mousemove", 300, 400],
        ):
            yield from self.host(["xdotool"] + [str(a) for a in args])
            yield 0.15
        self.report["sidebar_width"] = region.width

    def node_editor(self):
        """The largest area, turned into a node editor for Sidecar Pipelines."""
        window = bpy.context.window_manager.windows[0]
        area = max(window.screen.areas, key=lambda a: a.width * a.height)
        if area.type != "NODE_EDITOR" or area.ui_type != TREE_ID:
            area.type = "NODE_EDITOR"
            area.ui_type = TREE_ID
        area.spaces.active.show_region_ui = False
        return window, area

    def check_image(self, path):
        """Not blank, and the nodes' state colours are on it (a failed node, done nodes, partial nodes)."""
        pixels, linear = self.screenshot_pixels(path)
        state_colors = self.addon.sub("pipeline.nodes").STATE_COLORS
        found = {}
        for name in ("failed", "done", "partial"):
            want = state_colors[name] if not linear else tuple(c**2.2 for c in state_colors[name])
            found[name] = sum(
                1
                for i in range(0, len(pixels), 4 * 3)
                if abs(pixels[i] - want[0]) < 0.03
                and abs(pixels[i + 1] - want[1]) < 0.03
                and abs(pixels[i + 2] - want[2]) < 0.03
            )
        self.report["state_pixels"] = found
        missing = [name for name, count in found.items() if count < 100]
        if missing:
            raise AssertionError("no {} node colour on the screenshot: {}".format(", ".join(missing), found))

    def finish(self, ok, why=""):
        self.report["ok"] = ok
        self.report["seconds"] = round(time.monotonic() - self.started, 1)
        if why:
            self.report["error"] = why
        print(
            "PIPELINE GUI TEST {}: {}".format("PASSED" if ok else "FAILED", json.dumps(self.report, indent=2)),
            flush=True,
        )
        try:
            for area in bpy.context.window_manager.windows[0].screen.areas:
                if area.type == "NODE_EDITOR":  # an editor of a tree type that is about to go away
                    area.type = "VIEW_3D"
            os.makedirs(os.path.dirname(self.out), exist_ok=True)
            with open(os.path.splitext(self.out)[0] + ".json", "w") as f:
                json.dump(self.report, f, indent=2)
            if not ok and self.addon is not None and self.addon.connection is not None:
                self.addon.connection.stop_sidecar()
                time.sleep(2)
        finally:
            if self.addon is not None:
                try:
                    self.addon.remove()
                except Exception:
                    traceback.print_exc()
            shutil.rmtree(self.tmp, ignore_errors=True)
            if ok:
                bpy.ops.wm.quit_blender()
            else:
                sys.stdout.flush()
                os._exit(1)  # a timer cannot make Blender exit with a code otherwise


def main():
    args = parse_args()
    test = PipelineGuiTest(args.out)
    try:
        test.setup()
    except Exception:
        test.finish(False, traceback.format_exc())


main()
