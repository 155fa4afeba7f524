"""Render previews in Blender's interface, with a real event loop: the sidecar starts by itself, "Render in
Background" is pressed with "Preview Movie" on, the job's row and box show the newest frame's thumbnail as frames
land (the thumbnail changes while the job runs, and no drain holds the main thread for 50 ms), then "Flipbook"
opens the frames in an Image Editor as an image sequence, which shows another frame when the timeline moves.

    xvfb-run -a -s "-screen 0 1280x800x24" blender --factory-startup --python test/addon/previews_gui_test.py [-- --out PNG]

Writes PNG (the panel with the thumbnail), PNG-flipbook-a.png and -b.png (the flipbook at the first and last frame)
and a .json with what was seen. Exits 0 when everything worked, 1 otherwise (with the reason printed).
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
import sidebar  # noqa: E402

TIMEOUT = 120.0
FRAMES = 6


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(harness.ROOT, "test", "artifacts", "previews-panel.png"))
    return parser.parse_args(harness.our_args())


class PreviewsGuiTest(harness.XvfbScenario):
    def __init__(self, out):
        self.out = os.path.abspath(out)
        stem = os.path.splitext(self.out)[0]
        self.flipbook_shots = [stem + "-flipbook-a.png", stem + "-flipbook-b.png"]
        self.tmp = tempfile.mkdtemp(prefix="sidecar-previews-gui-")
        self.report = {"blender": bpy.app.version_string, "screenshots": [self.out] + self.flipbook_shots}
        self.draws = 0
        self.started = time.monotonic()
        self.steps = self.scenario()
        self.addon = None

    def setup(self):
        prefs = bpy.context.preferences
        prefs.use_preferences_save = False  # nothing this test changes reaches the user's settings
        prefs.view.show_splash = False
        # Rendered images full screen (Blender's own option), so the flipbook's screenshots are mostly the Image Editor.
        prefs.view.render_display_type = "SCREEN"
        self.addon = harness.Addon()
        self.addon.enable()
        self.addon.set_prefs(
            node_path=harness.node_for_tests(),
            state_dir=os.path.join(self.tmp, "state"),
            port=0,
            instances=1,
            auto_start=True,
        )
        scene = bpy.context.scene
        # Slow enough (about half a second a frame) that the panel sees frames land one by one.
        harness.tiny_render_settings(scene, size=(200, 150), samples=64)
        scene.frame_start, scene.frame_end = 1, FRAMES
        scene.render.filepath = os.path.join(self.tmp, "frames") + os.sep
        # The cube crosses the picture: every frame differs, so a flipbook stuck on one frame shows.
        cube = bpy.data.objects["Cube"]
        cube.location.x = -2.5
        cube.keyframe_insert("location", frame=1)
        cube.location.x = 2.5
        cube.keyframe_insert("location", frame=FRAMES)
        settings = scene.sidecar_settings
        settings.render_movie = True
        settings.movie_output = os.path.join(self.tmp, "preview.mp4")
        panel = bpy.types.SIDECAR_PT_main
        original = panel.draw

        def counting_draw(panel_self, context):
            self.draws += 1
            original(panel_self, context)

        panel.draw = counting_draw
        bpy.app.timers.register(self.tick, first_interval=0.5)

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
        previews = self.addon.sub("previews")
        yield from self.wait(lambda: st.connected, 40, "Start Automatically to connect")
        window, area, region = sidebar.viewport_sidebar()
        yield 0.5
        self.report["tab_at"] = yield from sidebar.open_tab(self, window, area, lambda: self.draws)
        before = set(st.jobs)
        with bpy.context.temp_override(window=window, area=area, region=region):
            result = bpy.ops.sidecar.render_background("INVOKE_DEFAULT")
        if "FINISHED" not in result:
            raise AssertionError("Render in Background returned {}; {}".format(result, self.addon.describe()))

        def new_job():
            return next(
                (j for j in st.jobs.values() if j.id not in before and not j.id.startswith("submitting-")), None
            )

        yield from self.wait(new_job, 30, "the sidecar to accept the render")
        job = new_job()
        # The thumbnail follows the frames while the job runs: note each frame shown with an icon.
        shown = []
        while job.state not in ("completed", "failed", "canceled"):
            if previews.icon_id(job) and job.last_frame not in shown:
                shown.append(job.last_frame)
            yield 0.05
            if time.monotonic() - self.started > TIMEOUT - 10:
                raise AssertionError("the render did not finish; {}".format(self.addon.describe()))
        if job.state != "completed":
            raise AssertionError("the render {}: {}".format(job.state, job.error))
        yield 0.3  # the drain that applied "completed" may come before the one that loads the last thumbnail
        if previews.icon_id(job) and job.last_frame not in shown:
            shown.append(job.last_frame)
        self.report["thumbnails_seen"] = shown
        if len(shown) < 2:
            raise AssertionError("the thumbnail did not change as frames landed: saw frames {}".format(shown))
        if not previews.icon_id(job) or job.last_frame != FRAMES:
            raise AssertionError(
                "the finished job shows frame {} (icon {})".format(job.last_frame, previews.icon_id(job))
            )
        self.report["job"] = {
            "id": job.id,
            "state": job.state,
            "last_frame": job.last_frame,
            "movie": job.result.get("movie"),
        }
        # The panel: viewport alone, sidebar wider, scrolled to the Jobs box with the thumbnail.
        with bpy.context.temp_override(window=window, area=area, region=region):
            bpy.ops.screen.screen_full_area()
        yield 0.5
        yield from sidebar.widen(self, window)
        yield from sidebar.scroll(self, window, 6)
        yield 1.0
        yield from self.screenshot(self.out)
        self.screenshot_pixels(self.out)
        full = next(a for a in window.screen.areas if a.type == "VIEW_3D")  # the maximized viewport is a new area
        with bpy.context.temp_override(window=window, area=full):
            bpy.ops.screen.back_to_previous()
        yield 0.5
        yield from self.flipbook(window, job)
        self.report["stalls_ms"] = {n: round(s.longest * 1000, 2) for n, s in st.stalls.items()}
        bpy.ops.sidecar.stop_sidecar()
        yield from self.wait(lambda: st.connection == "disconnected", 20, "the sidecar to stop")
        self.finish(True)

    def flipbook(self, window, job):
        scene = bpy.context.scene
        scene.frame_set(scene.frame_start)
        area = next(a for a in window.screen.areas if a.type == "VIEW_3D")
        with bpy.context.temp_override(window=window, area=area):
            result = bpy.ops.sidecar.open_flipbook(job_id=job.id)
        if "FINISHED" not in result:
            raise AssertionError("Flipbook returned {}; {}".format(result, self.addon.describe()))
        yield 1.0
        editors = [
            (w, a) for w in bpy.context.window_manager.windows for a in w.screen.areas if a.type == "IMAGE_EDITOR"
        ]
        if not editors:
            raise AssertionError("Flipbook opened no Image Editor")
        space = editors[-1][1].spaces.active
        image, user = space.image, space.image_user
        self.report["flipbook"] = {
            "image": image.name if image else None,
            "source": image.source if image else None,
            "frame_duration": user.frame_duration,
            "frame_offset": user.frame_offset,
        }
        if image is None or image.source != "SEQUENCE" or user.frame_duration != FRAMES:
            raise AssertionError(
                "the Image Editor does not show the frames as a sequence: {}".format(self.report["flipbook"])
            )
        yield from self.screenshot(self.flipbook_shots[0])
        first, _ = self.screenshot_pixels(self.flipbook_shots[0])
        scene.frame_set(scene.frame_end)  # what scrubbing the timeline does
        yield 1.0
        yield from self.screenshot(self.flipbook_shots[1])
        last, _ = self.screenshot_pixels(self.flipbook_shots[1])
        changed = sum(1 for i in range(0, len(first), 4 * 7) if abs(first[i] - last[i]) > 0.1)
        self.report["flipbook"]["pixels_changed"] = changed
        if changed < 200:
            raise AssertionError(
                "the flipbook showed the same picture at the first and last frame ({} pixels changed)".format(changed)
            )

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
                    self.addon.remove()
                except Exception:
                    traceback.print_exc()
            shutil.rmtree(self.tmp, ignore_errors=True)
            if ok:
                bpy.ops.wm.quit_blender()
            else:
                sys.stdout.flush()
                os._exit(1)


def main():
    test = PreviewsGuiTest(parse_args().out)
    try:
        test.setup()
    except Exception:
        test.finish(False, traceback.format_exc())


main()
