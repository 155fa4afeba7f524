"""The Bake box inside real Blender, against the real sidecar (dist/, from `npm run build`); no mocks.

    blender -b --factory-startup --python-exit-code 1 --python test/addon/test_bake.py

Bake in Background sends the selected objects from the current (unsaved) state of the file; when the job completes,
the maps are in this file's images without a reload of the file: new images the first time, the same images reloaded
the next, and wired into the material when asked. Without an event loop (-b) the tests pump the drain themselves.
"""

import os
import shutil
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bpy  # noqa: E402

import harness  # noqa: E402

BUNDLE = os.path.join(harness.ROOT, "dist", "blender-sidecar.mjs")


def base_colour(mat, rgba):
    bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    bsdf.inputs["Base Color"].default_value = rgba
    bpy.ops.ed.undo_push(message="change the colour")  # what the interface does after each change: the file is dirty
    return bsdf


def add_riser():
    """A cube whose Geometry Nodes simulation lifts it 0.1 a frame (as test/fixtures/sim_scene.py), frames 1-10."""
    bpy.ops.mesh.primitive_cube_add(location=(0, 4, 0))
    obj = bpy.context.active_object
    obj.name = "Riser"
    tree = bpy.data.node_groups.new("Rise", "GeometryNodeTree")
    tree.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    group_in, group_out = tree.nodes.new("NodeGroupInput"), tree.nodes.new("NodeGroupOutput")
    sim_in, sim_out = tree.nodes.new("GeometryNodeSimulationInput"), tree.nodes.new("GeometryNodeSimulationOutput")
    sim_in.pair_with_output(sim_out)
    lift = tree.nodes.new("GeometryNodeSetPosition")
    lift.inputs["Offset"].default_value = (0.0, 0.0, 0.1)
    tree.links.new(group_in.outputs[0], sim_in.inputs["Geometry"])
    tree.links.new(sim_in.outputs["Geometry"], lift.inputs["Geometry"])
    tree.links.new(lift.outputs["Geometry"], sim_out.inputs["Geometry"])
    tree.links.new(sim_out.outputs["Geometry"], group_out.inputs[0])
    obj.modifiers.new("Rise", "NODES").node_group = tree
    bpy.context.scene.frame_start, bpy.context.scene.frame_end = 1, 10
    bpy.ops.ed.undo_push(message="add a simulation")
    return obj


def top(obj):
    evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.to_mesh()
    try:
        return round(max(v.co.z for v in mesh.vertices), 3)
    finally:
        evaluated.to_mesh_clear()


def centre_pixel(image):
    width, height = image.size
    i = ((height // 2) * width + width // 2) * 4
    return tuple(image.pixels[i : i + 4])


class BakeBoxTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.isfile(BUNDLE):
            raise RuntimeError("{} is missing: run `npm run build` first".format(BUNDLE))
        cls.tmp = tempfile.mkdtemp(prefix="sidecar-bake-test-")
        cls.state_dir = os.path.join(cls.tmp, "state")
        cls.addon = harness.Addon()
        cls.addon.enable()
        cls.addon.set_prefs(
            node_path=harness.node_for_tests(),
            sidecar_path="",
            state_dir=cls.state_dir,
            port=harness.free_port(),
            instances=1,
            auto_start=False,
        )
        bpy.ops.wm.save_as_mainfile(filepath=os.path.join(cls.tmp, "scene.blend"))
        bpy.ops.sidecar.connect(start=True)
        cls.addon.pump(
            lambda: cls.addon.state.connected and cls.addon.state.bake_types, 60, "the connection and sidecar.info"
        )

    @classmethod
    def tearDownClass(cls):
        addon = cls.addon
        try:
            bpy.ops.sidecar.stop_sidecar()
            addon.pump(lambda: addon.state.connection in ("disconnected", "failed"), 20, "the sidecar to stop")
        finally:
            left = harness.sidecars(cls.state_dir)
            harness.kill_all(left)
            addon.remove()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def bake(self):
        """Presses Bake in Background; returns the finished job (completed)."""
        st = self.addon.state
        before = set(st.jobs)
        bpy.ops.sidecar.bake_background()

        def accepted():
            return next(
                (j for j in st.jobs.values() if j.id not in before and not j.id.startswith("submitting-")), None
            )

        job = self.addon.pump(accepted, 30, "the sidecar to accept the bake")
        self.addon.pump(lambda: job.state in ("completed", "failed", "canceled"), 120, "the bake to end")
        self.assertEqual(job.state, "completed", job.error)
        return job

    def test_1_maps_come_back_as_new_images_then_reloaded_and_wired(self):
        cube = bpy.data.objects["Cube"]
        mat = cube.active_material
        for obj in bpy.context.view_layer.objects:
            obj.select_set(obj is cube)
        bpy.context.view_layer.objects.active = cube
        base_colour(mat, (0.8, 0.05, 0.05, 1.0))  # red, unsaved: the bake must see the current state
        settings = bpy.context.scene.sidecar_bake
        settings.maps = {"DIFFUSE", "NORMAL"}
        settings.size = "64"
        settings.samples = 1
        settings.margin = 2
        settings.output = "//textures/"
        settings.wire = False
        images_before = len(bpy.data.images)
        self.bake()
        self.addon.pump(lambda: "Cube_diffuse" in bpy.data.images, 10, "the maps to be loaded")
        diffuse = bpy.data.images["Cube_diffuse"]
        normal = bpy.data.images["Cube_normal"]
        self.assertEqual(len(bpy.data.images), images_before + 2)
        self.assertEqual(bpy.path.abspath(diffuse.filepath), os.path.join(self.tmp, "textures", "Cube_diffuse.png"))
        self.assertEqual(tuple(diffuse.size), (64, 64))
        self.assertEqual(normal.colorspace_settings.name, "Non-Color")
        r, g, b, _a = centre_pixel(diffuse)
        self.assertGreater(r, 3 * b, "the diffuse map is red")
        self.assertIn("2 new, 0 reloaded", self.addon.state.alerts[0].text)

        base_colour(mat, (0.05, 0.05, 0.8, 1.0))  # blue now
        settings.wire = True
        self.bake()
        self.addon.pump(
            lambda: "1 reloaded" in self.addon.state.alerts[0].text or "2 reloaded" in self.addon.state.alerts[0].text,
            10,
            "the reload",
        )
        self.assertEqual(len(bpy.data.images), images_before + 2, "the same images, reloaded, no new ones")
        r, g, b, _a = centre_pixel(bpy.data.images["Cube_diffuse"])
        self.assertGreater(b, 3 * r, "the reloaded diffuse map shows the new bake")
        nodes, links = mat.node_tree.nodes, mat.node_tree.links
        tex = nodes["Sidecar diffuse"]
        self.assertIs(tex.image, diffuse)
        bsdf = next(n for n in nodes if n.type == "BSDF_PRINCIPLED")
        self.assertTrue(any(ln.from_node == tex and ln.to_socket == bsdf.inputs["Base Color"] for ln in links))
        self.assertTrue(
            any(ln.from_node == nodes["Sidecar normal map"] and ln.to_socket == bsdf.inputs["Normal"] for ln in links)
        )
        self.assertEqual(
            bpy.data.filepath, os.path.join(self.tmp, "scene.blend"), "the open file is still the artist's"
        )

    def test_2_from_selected_bakes_the_other_selected_onto_the_active(self):
        cube = bpy.data.objects["Cube"]
        bpy.ops.mesh.primitive_uv_sphere_add(radius=1.3, location=cube.location)
        high = bpy.context.active_object
        high.name = "HighSphere"
        for obj in bpy.context.view_layer.objects:
            obj.select_set(obj in (cube, high))
        bpy.context.view_layer.objects.active = cube
        bpy.ops.ed.undo_push(message="add a high poly")
        settings = bpy.context.scene.sidecar_bake
        settings.maps = {"NORMAL"}
        settings.from_selected = True
        settings.extrusion = 0.5
        settings.wire = False
        job = self.bake()
        self.assertEqual(job.label, "Bake Cube (normal)", "the active object is the target")
        self.addon.pump(lambda: "reloaded" in self.addon.state.alerts[0].text, 10, "the maps to be loaded")
        normal = bpy.data.images["Cube_normal"]
        normal.reload()
        # A sphere's normals seen from a cube's faces bend away from the face centre: a flat cube's map is (0.5, 0.5, 1) all over.
        pixels = list(normal.pixels)
        reds = [pixels[i] for i in range(0, len(pixels), 4) if pixels[i + 3] > 0]
        self.assertGreater(max(reds) - min(reds), 0.2, "the normal map holds the sphere's normals")
        settings.from_selected = False
        bpy.data.objects.remove(high)

    def test_2b_an_object_without_uvs_is_refused_before_sending(self):
        bpy.ops.mesh.primitive_cube_add(location=(4, 0, 0))
        bare = bpy.context.active_object
        bare.name = "Bare"
        while bare.data.uv_layers:
            bare.data.uv_layers.remove(bare.data.uv_layers[0])
        for obj in bpy.context.view_layer.objects:
            obj.select_set(obj is bare)
        with self.assertRaisesRegex(RuntimeError, "Bare has no UV map: unwrap it before baking"):
            bpy.ops.sidecar.bake_background()

    def test_2c_a_bake_that_ends_while_disconnected_is_loaded_after_reconnecting(self):
        st = self.addon.state
        cube = bpy.data.objects["Cube"]
        for obj in bpy.context.view_layer.objects:
            obj.select_set(obj is cube)
        bpy.context.view_layer.objects.active = cube
        settings = bpy.context.scene.sidecar_bake
        settings.from_selected = False
        # A slower bake first: the sidecar has one worker, so the roughness bake waits behind it while we disconnect.
        settings.maps, settings.size, settings.samples = {"AO"}, "256", 8
        bpy.ops.sidecar.bake_background()
        settings.maps, settings.size, settings.samples = {"ROUGHNESS"}, "64", 1
        bpy.ops.sidecar.bake_background()
        # Both answered (no placeholder left), so the roughness job exists before the connection goes.
        self.addon.pump(
            lambda: not any(j.id.startswith("submitting-") for j in st.jobs.values()), 30, "both bakes to be accepted"
        )
        bpy.ops.sidecar.disconnect()
        self.addon.pump(lambda: st.connection == "disconnected", 10, "the disconnect")
        out = os.path.join(self.tmp, "textures", "Cube_roughness.png")
        self.addon.pump(lambda: os.path.isfile(out), 240, "the map to be written while disconnected")
        self.assertNotIn("Cube_roughness", bpy.data.images)
        bpy.ops.sidecar.connect(start=False)
        self.addon.pump(lambda: "Cube_roughness" in bpy.data.images, 30, "the map to be loaded after reconnecting")

    def test_3_a_simulation_baked_in_the_background_plays_back_here_without_reopening(self):
        st = self.addon.state
        if not st.simulation_bake:
            # Blender 3.4 has no simulation zones: the button says so, naming the version, and sends nothing.
            self.assertTrue(bpy.app.version < (4, 1, 0))
            with self.assertRaisesRegex(
                RuntimeError, r"The sidecar's Blender 3\.4\.\d+ has no simulation zones or Bake nodes"
            ):
                bpy.ops.sidecar.bake_simulations_background()
            return
        riser = add_riser()
        for obj in bpy.context.view_layer.objects:
            obj.select_set(obj is riser)
        scene = bpy.context.scene
        scene.frame_set(1)
        scene.frame_set(10)
        self.assertEqual(top(riser), 1.2, "unbaked, a jump to frame 10 shows one step")
        scene.sidecar_bake.cache_output = "//bake/"
        before = set(st.jobs)
        bpy.ops.sidecar.bake_simulations_background()
        job = self.addon.pump(
            lambda: next(
                (j for j in st.jobs.values() if j.id not in before and not j.id.startswith("submitting-")), None
            ),
            30,
            "the bake to be accepted",
        )
        self.addon.pump(lambda: job.state in ("completed", "failed", "canceled"), 120, "the simulation bake to end")
        self.assertEqual(job.state, "completed", job.error)
        modifier = riser.modifiers["Rise"]
        folder = os.path.join(self.tmp, "bake", "Riser_Rise")
        self.addon.pump(
            lambda: bpy.path.abspath(modifier.bake_directory) == folder, 10, "the modifier to point at the bake"
        )
        self.assertEqual(modifier.bake_target, "DISK")
        played = []
        for frame in range(1, 11):
            scene.frame_set(frame)
            played.append(top(riser))
        self.assertEqual(
            played, [round(1 + 0.1 * f, 3) for f in range(1, 11)], "every frame comes from the bake on disk"
        )
        self.assertIn("Simulation bakes read from disk: Riser (Rise)", st.alerts[0].text)


def main():
    print("bake box tests on Blender {}".format(bpy.app.version_string), flush=True)
    suite = unittest.TestLoader().loadTestsFromTestCase(BakeBoxTest)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, failfast=True).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    if code:
        sys.exit(code)
