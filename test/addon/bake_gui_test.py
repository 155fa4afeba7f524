"""The Bake box in Blender's interface, with a real event loop: the sidecar starts by itself, the sidebar's Sidecar
tab opens (real clicks), "Bake in Background" is pressed with the default cube selected, and when the job completes
the maps are in the open file's images, wired into the cube's material, without a reload; the viewport (solid,
texture colour) then shows the baked colour, and a screenshot of the display is saved.

    xvfb-run -a -s "-screen 0 1280x800x24" blender --factory-startup --python test/addon/bake_gui_test.py [-- --out PNG]

Exits 0 when everything worked, 1 otherwise. Built on gui_test.GuiTest (sidebar, tab clicks, screenshots, finish).
"""

import argparse
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bpy  # noqa: E402

import harness  # noqa: E402
from gui_test import GuiTest  # noqa: E402


class BakeGuiTest(GuiTest):
    def setup(self):
        super().setup()
        cube = bpy.data.objects["Cube"]
        bsdf = next(n for n in cube.active_material.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
        bsdf.inputs["Base Color"].default_value = (0.8, 0.3, 0.02, 1.0)  # an unsaved orange the maps must show
        settings = bpy.context.scene.sidecar_bake
        settings.maps = {"DIFFUSE", "NORMAL", "AO"}
        settings.size = "64"
        settings.samples = 2
        settings.margin = 2
        settings.output = os.path.join(self.tmp, "textures") + os.sep
        settings.wire = True

    def scenario(self):
        st = self.addon.state
        yield from self.wait(lambda: st.connected and st.bake_types, 40, "Start Automatically to connect")
        window, area, region = self.sidebar()
        yield 0.5
        yield from self.open_tab(window, area)
        images_before = {i.name for i in bpy.data.images}
        before = set(st.jobs)
        with bpy.context.temp_override(window=window, area=area, region=region):
            pressed = time.perf_counter()
            result = bpy.ops.sidecar.bake_background("INVOKE_DEFAULT")
            self.report["bake_click_ms"] = round((time.perf_counter() - pressed) * 1000, 2)
        if "FINISHED" not in result:
            raise AssertionError("Bake in Background returned {}; {}".format(result, self.addon.describe()))

        def new_job():
            return next(
                (j for j in st.jobs.values() if j.id not in before and not j.id.startswith("submitting-")), None
            )

        yield from self.wait(new_job, 30, "the sidecar to accept the bake")
        job = new_job()
        yield from self.wait(lambda: job.state in ("completed", "failed", "canceled"), 90, "the bake to finish")
        if job.state != "completed":
            raise AssertionError("the bake {}: {}".format(job.state, job.error))
        yield from self.wait(lambda: "Cube_diffuse" in bpy.data.images, 10, "the maps to appear in the file's images")
        new = sorted({i.name for i in bpy.data.images} - images_before)
        self.report["images"] = new
        self.report["job"] = {"id": job.id, "state": job.state, "output": job.output}
        diffuse = bpy.data.images["Cube_diffuse"]
        if tuple(diffuse.size) != (64, 64):
            raise AssertionError("Cube_diffuse is {}, not 64x64".format(tuple(diffuse.size)))
        tree = bpy.data.objects["Cube"].active_material.node_tree
        tree.nodes.active = tree.nodes["Sidecar diffuse"]  # what Solid / Texture colour shows
        shading = area.spaces.active.shading
        shading.type = "SOLID"
        shading.color_type = "TEXTURE"
        with bpy.context.temp_override(window=window, area=area, region=region):
            bpy.ops.screen.screen_full_area()
        yield 0.5
        yield from self.widen_sidebar(window)
        yield 1.0
        yield from self.screenshot(self.out)
        self.check_image(self.out)
        yield from self.scroll_sidebar(window)
        yield 1.0
        yield from self.screenshot(self.lower)
        self.check_image(self.lower)
        self.report["stalls_ms"] = {n: round(s.longest * 1000, 2) for n, s in st.stalls.items()}
        bpy.ops.sidecar.stop_sidecar()
        yield from self.wait(lambda: st.connection == "disconnected", 20, "the sidecar to stop")
        self.finish(True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(harness.ROOT, "test", "artifacts", "bake-panel.png"))
    args = parser.parse_args(harness.our_args())
    test = BakeGuiTest(args.out)
    try:
        test.setup()
    except Exception:
        import traceback

        test.finish(False, traceback.format_exc())


main()
