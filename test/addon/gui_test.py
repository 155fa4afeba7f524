"""The add-on in Blender's interface, with a real event loop: the sidecar starts by itself (Start Automatically),
the sidebar's "Sidecar" tab opens, "Export in Background" is pressed, the job finishes while the interface keeps
running, and a screenshot of the display is saved.

    xvfb-run -a -s "-screen 0 1280x800x24" blender --factory-startup --python test/addon/gui_test.py [-- --out PNG]

Exits 0 when everything worked, 1 otherwise (with the reason printed). Writes PNG (default
test/artifacts/addon-panel.png) and, beside it, a .json with what was measured.

The mouse is real: xdotool clicks the sidebar's tabs until the Sidecar panel draws (no Blender lets a script choose
the tab: Region.active_panel_category is read-only, and missing on 3.4) and drags the sidebar wider.
The screenshot is ImageMagick's `import -window root`. A Blender in a chroot has neither program: it writes
PNG.request (the command, its DISPLAY and XAUTHORITY) and waits for test/addon/gui.test.ts to run it outside.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bpy  # noqa: E402

import harness  # noqa: E402

TIMEOUT = 90.0


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(harness.ROOT, "test", "artifacts", "addon-panel.png"))
    return parser.parse_args(harness.our_args())


class GuiTest(harness.XvfbScenario):
    def __init__(self, out):
        self.out = os.path.abspath(out)
        self.lower = os.path.splitext(self.out)[0] + "-lower.png"
        self.tmp = tempfile.mkdtemp(prefix="sidecar-gui-test-")
        self.report = {"blender": bpy.app.version_string, "screenshots": [self.out, self.lower]}
        self.draws = 0
        self.started = time.monotonic()
        self.steps = self.scenario()
        self.addon = None

    # -- set-up, before the event loop starts ----------------------------------------------------------------------

    def setup(self):
        prefs = bpy.context.preferences
        prefs.use_preferences_save = False  # nothing this test changes reaches the user's settings
        prefs.view.show_splash = False  # a splash would cover the panel and take the keys (read after this script)
        self.addon = harness.Addon()
        self.addon.enable()
        self.addon.set_prefs(
            node_path=harness.node_for_tests(),
            state_dir=os.path.join(self.tmp, "state"),
            port=0,
            instances=1,
            auto_start=True,  # the first timer run starts the sidecar
        )
        scene = bpy.context.scene
        cube = bpy.data.objects["Cube"]
        cube.location.z = 0.5  # an unsaved change: the export must come from the current state
        for obj in scene.objects:
            obj.select_set(obj is cube)
        settings = scene.sidecar_settings
        settings.export_format = "glb"
        settings.export_scope = "SELECTION"
        settings.export_output = os.path.join(self.tmp, "gui", "cube.glb")
        # Count the Sidecar panel's draws: it draws only while its tab is the active one.
        panel = bpy.types.SIDECAR_PT_main
        original = panel.draw

        def counting_draw(panel_self, context):
            self.draws += 1
            original(panel_self, context)

        panel.draw = counting_draw
        bpy.app.timers.register(self.tick, first_interval=0.5)

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
        yield from self.wait(lambda: st.connected, 40, "Start Automatically to connect")
        self.report["connected_after_s"] = round(time.monotonic() - self.started, 1)
        window, area, region = self.sidebar()
        yield 0.5
        yield from self.open_tab(window, area)
        self.report["tab"] = "Sidecar"
        before = set(st.jobs)
        with bpy.context.temp_override(window=window, area=area, region=region):
            pressed = time.perf_counter()
            result = bpy.ops.sidecar.export_background("INVOKE_DEFAULT")
            self.report["export_click_ms"] = round((time.perf_counter() - pressed) * 1000, 2)
        if "FINISHED" not in result:
            raise AssertionError("Export in Background returned {}; {}".format(result, self.addon.describe()))

        def new_job():
            return next(
                (j for j in st.jobs.values() if j.id not in before and not j.id.startswith("submitting-")), None
            )

        yield from self.wait(new_job, 30, "the sidecar to accept the export")
        job = new_job()
        yield from self.wait(lambda: job.state in ("completed", "failed", "canceled"), 60, "the export to finish")
        if job.state != "completed":
            raise AssertionError("the export {}: {}".format(job.state, job.error))
        if not os.path.isfile(job.output):
            raise AssertionError("the export reported {} but it is not there".format(job.output))
        self.report["job"] = {
            "id": job.id,
            "state": job.state,
            "output": job.output,
            "saveCopySeconds": job.save_copy_seconds,
        }
        # The viewport alone (Ctrl+Space), so the sidebar is as tall as the window allows in the screenshot, and
        # wider (dragging its edge) where xdotool can.
        with bpy.context.temp_override(window=window, area=area, region=region):
            bpy.ops.screen.screen_full_area()
        yield 0.5
        yield from self.widen_sidebar(window)
        yield 1.0  # the panel redraws with the finished job
        yield from self.screenshot(self.out)
        self.check_image(self.out)
        # The sidebar scrolled down: Jobs, Workers and Alerts.
        yield from self.scroll_sidebar(window)
        yield 1.0
        yield from self.screenshot(self.lower)
        self.check_image(self.lower)
        self.report["stalls_ms"] = {n: round(s.longest * 1000, 2) for n, s in st.stalls.items()}
        self.report["draws"] = self.draws
        bpy.ops.sidecar.stop_sidecar()
        yield from self.wait(lambda: st.connection == "disconnected", 20, "the sidecar to stop")
        self.finish(True)

    def sidebar(self):
        """Opens the sidebar of the first 3D viewport."""
        for window in bpy.context.window_manager.windows:
            for area in window.screen.areas:
                if area.type == "VIEW_3D":
                    area.spaces.active.show_region_ui = True
                    area.tag_redraw()
                    return window, area, next(r for r in area.regions if r.type == "UI")
        raise AssertionError("no 3D viewport in the start-up screen")

    def open_tab(self, window, area):
        """Clicks down the sidebar's tab strip (its right edge) until the Sidecar panel draws, as a user would.
        No Blender lets a script choose the tab (Region.active_panel_category is read-only, and missing on 3.4)."""
        region = next(r for r in area.regions if r.type == "UI")  # it has its size once drawn
        # Region coordinates count from the window's bottom left; X's from the screen's top left.
        x = window.x + region.x + region.width - 11
        top = window.y + window.height - (region.y + region.height)
        for offset in range(15, min(region.height, 450), 20):
            draws = self.draws
            yield from self.host(["xdotool", "mousemove", str(x), str(top + offset), "click", "1"])
            yield 0.3
            if self.draws > draws or getattr(region, "active_panel_category", None) == "Sidecar":
                yield from self.host(["xdotool", "mousemove", "400", "400"])  # no tooltip over the panel
                self.report["tab_at"] = [x, top + offset]
                return
        raise AssertionError("clicking down the sidebar's tabs at x={} never showed the Sidecar tab".format(x))

    def widen_sidebar(self, window, by=230):
        """Drags the sidebar's left edge (its resize zone lies a few pixels inside the region) to the left."""
        area = next(a for a in window.screen.areas if a.type == "VIEW_3D")
        region = next(r for r in area.regions if r.type == "UI")
        x = window.x + region.x + 8
        y = window.y + window.height - (region.y + region.height // 2)
        # One step per timer run: Blender must see the pointer over the edge before the button goes down.
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

    def scroll_sidebar(self, window, clicks=15):
        area = next(a for a in window.screen.areas if a.type == "VIEW_3D")
        region = next(r for r in area.regions if r.type == "UI")
        x = window.x + region.x + region.width // 2
        y = window.y + window.height - (region.y + region.height // 2)
        yield from self.host(["xdotool", "mousemove", str(x), str(y)])
        yield 0.2
        yield from self.host(["xdotool", "click", "--repeat", str(clicks), "--delay", "30", "5"])
        yield 0.3
        yield from self.host(["xdotool", "mousemove", "300", "400"])

    def check_image(self, path):
        """Not blank: many colours, not one flat fill."""
        self.screenshot_pixels(path)

    def finish(self, ok, why=""):
        self.report["ok"] = ok
        self.report["seconds"] = round(time.monotonic() - self.started, 1)
        if why:
            self.report["error"] = why
        print("GUI TEST {}: {}".format("PASSED" if ok else "FAILED", json.dumps(self.report, indent=2)), flush=True)
        try:
            os.makedirs(os.path.dirname(self.out), exist_ok=True)
            with open(os.path.splitext(self.out)[0] + ".json", "w") as f:
                json.dump(self.report, f, indent=2)
            if not ok and self.addon is not None and self.addon.connection is not None:
                self.addon.connection.stop_sidecar()
                time.sleep(2)
        finally:
            if self.addon is not None:
                try:
                    self.addon.remove()  # disables it and deletes the test's extension repository
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
    test = GuiTest(args.out)
    try:
        test.setup()
    except Exception:
        test.finish(False, traceback.format_exc())


if __name__ == "__main__":  # bake_gui_test.py builds on GuiTest
    main()
