"""The add-on inside real Blender, against the real sidecar (dist/, from `npm run build`); no mocks.

    blender -b --factory-startup --python-exit-code 1 --python test/addon/test_addon.py [-- NAME ...]

NAMEs keep only the tests whose id contains one of them. The steps run in order and build on each other (one
sidecar for the whole run, started by the add-on in a temporary state folder on a free port). Without an event
loop (-b) Blender runs no timers, so the tests call the drain themselves (Addon.pump), as the timer would.
See harness.py for how the add-on is enabled on each Blender (legacy add-on on 3.4, extension on 4.2+).
"""

import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bpy  # noqa: E402

import harness  # noqa: E402
from harness import Addon  # noqa: E402
from polling import until  # noqa: E402

BUNDLE = os.path.join(harness.ROOT, "dist", "blender-sidecar.mjs")


class AddonTest(unittest.TestCase):
    addon = None

    @classmethod
    def setUpClass(cls):
        if not os.path.isfile(BUNDLE):
            raise RuntimeError("{} is missing: run `npm run build` first".format(BUNDLE))
        cls.tmp = tempfile.mkdtemp(prefix="sidecar-addon-test-")
        cls.state_dir = os.path.join(cls.tmp, "state")
        cls.port = harness.free_port()
        cls.addon = Addon()
        cls.extra_processes = []
        scene = bpy.context.scene
        harness.tiny_render_settings(scene)
        scene.frame_start, scene.frame_end = 1, 3
        scene.render.filepath = os.path.join(cls.tmp, "render") + os.sep
        cls.blend = os.path.join(cls.tmp, "scene.blend")
        bpy.ops.wm.save_as_mainfile(filepath=cls.blend)

    @classmethod
    def tearDownClass(cls):
        addon = cls.addon
        try:
            if addon is not None and addon.enabled and addon.connection is not None:
                try:
                    bpy.ops.sidecar.stop_sidecar()
                    addon.pump(lambda: addon.state.connection in ("disconnected", "failed"), 20, "the sidecar to stop")
                except Exception as err:
                    print("teardown: stopping the sidecar failed: {}".format(err))
        finally:
            left = harness.sidecars(cls.state_dir)
            harness.kill_all(left + [p.pid for p in cls.extra_processes if p.poll() is None])
            for p in cls.extra_processes:
                p.wait(5)
            if addon is not None:
                addon.remove()
            shutil.rmtree(cls.tmp, ignore_errors=True)
            if left:
                raise AssertionError("sidecar processes were left running: {}".format(left))

    # -- helpers -------------------------------------------------------------------------------------------------

    def configure(self, **overrides):
        values = dict(
            node_path=harness.node_for_tests(),
            sidecar_path="",
            state_dir=self.state_dir,
            port=self.port,
            instances=1,
            auto_start=False,
        )
        values.update(overrides)
        self.addon.set_prefs(**values)

    def connect(self, start=True, timeout=40):
        bpy.ops.sidecar.connect(start=start)
        return self.addon.pump(lambda: self.addon.state.connected, timeout, "the connection")

    def job(self, job_id):
        return self.addon.state.jobs.get(job_id)

    def submit(self, operator, timeout=30):
        """Runs a submit operator; returns the job the sidecar accepted for it (its id is known)."""
        before = set(self.addon.state.jobs)
        operator()

        def accepted():
            return next(
                (
                    j
                    for j in self.addon.state.jobs.values()
                    if j.local and j.id not in before and not j.id.startswith("submitting-")
                ),
                None,
            )

        return self.addon.pump(accepted, timeout, "the sidecar to accept the job")

    def wait_for(self, job, states, timeout):
        self.addon.pump(lambda: job.state in states, timeout, "{} to be {}".format(job.id, "/".join(states)))
        return job

    def assertNoLeftovers(self):
        self.assertEqual(self.addon.leftovers(), [], "the add-on left these behind after unregister")

    # -- the steps -------------------------------------------------------------------------------------------------

    def test_01_enable_disable_without_a_sidecar(self):
        addon = self.addon
        for _ in range(3):
            addon.enable()
            self.assertTrue(hasattr(bpy.types.Scene, "sidecar_settings"))
            self.assertTrue(bpy.app.timers.is_registered(addon.sub("timer").drain))
            self.assertEqual(harness.threads(), [], "nothing runs before the first connect")
            addon.disable()
            self.assertNoLeftovers()
            self.assertFalse(hasattr(bpy.types.Scene, "sidecar_settings"))
            self.assertFalse(hasattr(bpy.types, "SIDECAR_OT_connect"))
        # What Reload Scripts does to an add-on (addon_utils.reset_all): disable, importlib.reload() of the
        # package, enable; the flat modules must come back with fresh code, and still one timer.
        addon.enable()
        old_class = addon.sub("state").SidecarState
        addon.disable()
        importlib.reload(sys.modules[addon.name])
        addon.enable()
        self.assertIsNot(addon.sub("state").SidecarState, old_class, "the flat modules were reloaded too")
        self.assertIsInstance(addon.state, addon.sub("state").SidecarState)
        self.assertEqual(len([t for t in addon.leftovers() if t.startswith("timer")]), 1)
        addon.disable()
        self.assertNoLeftovers()
        addon.enable()
        module = sys.modules[addon.name]
        if addon.mode == "extension":  # Blender drops bl_info from extensions; the manifest describes them
            self.assertEqual(module.preferences.__package__, addon.name)
        else:
            self.assertEqual(module.bl_info["blender"], (3, 4, 0))

    def test_01b_the_export_box_offers_the_sidecars_formats_keeping_saved_numbers(self):
        with open(os.path.join(harness.ROOT, "addon", "blender_sidecar", "tables.json"), encoding="utf-8") as f:
            table = json.load(f)["exportFormats"]
        if not hasattr(bpy.types.Scene, "sidecar_settings"):  # run alone, without test_01
            self.addon.enable()
        items = bpy.types.Scene.bl_rna.properties["sidecar_settings"].fixed_type.properties["export_format"].enum_items
        self.assertEqual([i.identifier for i in items], [f["format"] for f in table])
        self.assertEqual([i.name for i in items], [f["label"] for f in table])
        # A file saved before the formats came from the table stored these numbers.
        self.assertEqual(
            {i.identifier: i.value for i in items if i.identifier in ("glb", "usd", "abc", "ply")},
            {"glb": 0, "usd": 4, "abc": 5, "ply": 7},
        )

    def test_02_failures_are_one_sentence(self):
        addon = self.addon
        self.configure()
        with self.assertRaisesRegex(RuntimeError, "Not connected to the sidecar: press Start in the Sidecar panel"):
            bpy.ops.sidecar.render_background()
        # Node missing.
        self.configure(node_path=os.path.join(self.tmp, "no-such-node"))
        with self.assertRaisesRegex(RuntimeError, r"Node\.js was not found at .*no-such-node"):
            bpy.ops.sidecar.connect()
        # The port is taken: the sidecar starts, fails, and the add-on says why.
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            self.configure(port=port)
            bpy.ops.sidecar.connect()
            addon.pump(lambda: addon.state.connection == "failed", 30, "the start to fail")
        self.assertIn("Port {} is already taken by another program".format(port), addon.state.message)
        self.assertEqual(addon.state.alerts[0].level, "ERROR")
        self.assertEqual(harness.sidecars(self.state_dir), [])
        # A missing sidecar file.
        self.configure(sidecar_path=os.path.join(self.tmp, "missing.mjs"))
        with self.assertRaisesRegex(RuntimeError, "The sidecar file set in the add-on's preferences does not exist"):
            bpy.ops.sidecar.connect()

    def test_03_connect_starts_the_bundled_sidecar(self):
        addon = self.addon
        self.configure()
        self.connect()
        st = addon.state
        self.assertEqual(st.url, "ws://127.0.0.1:{}/rpc".format(self.port))
        pids = harness.sidecars(self.state_dir)
        self.assertEqual(pids, [addon.connection.pid])
        args = harness.cmdline(pids[0])
        self.assertIn(BUNDLE, args)
        self.assertEqual(args[args.index("--blender") + 1], bpy.app.binary_path)
        self.assertEqual(args[args.index("--parent-pid") + 1], str(os.getpid()))
        addon.pump(lambda: st.version, 60, "sidecar.info")
        self.assertTrue(os.path.samefile(st.blender_path, bpy.app.binary_path))
        self.assertTrue(any(a.text.startswith("Started the sidecar") for a in st.alerts))
        self.assertEqual(harness.threads(), ["blender-sidecar-manager", "blender-sidecar-wire"])

    def test_04_enable_disable_while_connected_keeps_one_client(self):
        addon = self.addon
        pid = addon.connection.pid
        for _ in range(3):
            addon.disable()
            self.assertNoLeftovers()
            self.assertTrue(harness.alive(pid), "disabling the add-on leaves the sidecar running")
            addon.enable()
            self.configure()
            self.connect()  # Start finds the running one: no second sidecar
            self.assertEqual(harness.threads(), ["blender-sidecar-manager", "blender-sidecar-wire"])
            self.assertEqual(addon.connection.pid, pid)
            self.assertEqual(harness.sidecars(self.state_dir), [pid])

    def test_05_render_in_background(self):
        addon = self.addon
        bpy.context.scene.render.use_overwrite = True
        dirty = bpy.data.is_dirty  # Blender 4.3 in background mode counts every file as dirty
        job = self.submit(bpy.ops.sidecar.render_background)
        if dirty:
            self.assertTrue(job.temporary_blend)
        else:
            self.assertEqual(job.blend_file, self.blend, "a saved, clean file is sent as it is")
            self.assertFalse(job.temporary_blend)
            self.assertIsNone(job.save_copy_seconds)
        seen = []
        st = addon.state
        apply = st.apply

        def watch(msg):  # every message the drain applies, not only what is left after each run
            if type(msg).__name__ == "MsgProgress" and msg.params.get("jobId") == job.id:
                seen.append(msg.params.get("done"))
            return apply(msg)

        st.apply = watch
        try:
            addon.pump(lambda: job.state in ("completed", "failed"), 120, "the render")
        finally:
            del st.apply
        self.assertEqual(job.state, "completed", job.error)
        self.assertEqual((job.done, job.total), (3, 3))
        self.assertTrue({1, 2, 3} <= set(seen), "progress came frame by frame: {}".format(seen))
        self.assertEqual(job.progress, 1.0)
        names = sorted(n for n in os.listdir(os.path.join(self.tmp, "render")) if n != ".previews")
        self.assertEqual(names, ["0001.png", "0002.png", "0003.png"])
        self.assertEqual(job.output_folder, os.path.join(self.tmp, "render"))
        self.assertIn("finished", addon.state.alerts[0].text)
        wm = bpy.context.window_manager
        self.assertEqual(wm.sidecar_jobs[wm.sidecar_jobs_index].job_id, job.id, "the Jobs list selects the new job")
        self.assertAlmostEqual(wm.sidecar_jobs[wm.sidecar_jobs_index].progress, 100.0)

    def test_05b_thumbnail_flipbook_frames_and_preview_movie(self):
        addon = self.addon
        scene = bpy.context.scene
        settings = scene.sidecar_settings
        settings.render_movie = True
        settings.movie_output = os.path.join(self.tmp, "movie", "preview.mp4")
        try:
            job = self.submit(bpy.ops.sidecar.render_background)
            self.wait_for(job, ("completed", "failed"), 120)
        finally:
            settings.render_movie = False
        self.assertEqual(job.state, "completed", job.error)
        # The newest frame, its preview loaded into the panel's preview collection (at the preview's own size).
        self.assertEqual(job.last_frame, 3, "one worker renders in order: frame 3 lands last")
        self.assertEqual(job.last_frame_path, os.path.join(self.tmp, "render", "0003.png"))
        self.assertEqual(job.last_preview, os.path.join(self.tmp, "render", ".previews", "0003.png"))
        previews = addon.sub("previews")
        addon.pump(lambda: job.last_preview in previews._collection, 10, "the thumbnail to be read")
        # (Blender gives previews no icon ids in the background: previews_gui_test.py checks the drawn thumbnail.)
        self.assertIn(job.last_preview, previews._collection, "the job's thumbnail is loaded")
        self.assertEqual(tuple(previews._collection[job.last_preview].image_size), (48, 36))
        pixels = list(previews._collection[job.last_preview].image_pixels_float)
        self.assertGreater(max(pixels) - min(pixels), 0.1, "the thumbnail is a picture, not a flat fill")
        # The movie: every frame, at the frame size, reported with the job.
        movie = job.result.get("movie") or {}
        self.assertEqual((movie.get("frames"), movie.get("width"), movie.get("height")), (3, 48, 36), job.result)
        self.assertTrue(os.path.isfile(settings.movie_output))
        # The flipbook's sequence: every frame on disk, loaded as one SEQUENCE image.
        flipbook = addon.sub("flipbook")
        first, frames = flipbook.find_sequence(job.last_frame_path)
        self.assertEqual((first, frames), (os.path.join(self.tmp, "render", "0001.png"), [1, 2, 3]))
        image = flipbook.load_sequence(first, frames, "Flipbook test")
        self.assertEqual(image.source, "SEQUENCE")
        bpy.data.images.remove(image)
        # Without an interface there is no Image Editor: the button says so instead of failing.
        with self.assertRaises(RuntimeError) as caught:
            bpy.ops.sidecar.open_flipbook(job_id=job.id)
        self.assertIn("needs Blender's interface", str(caught.exception))

    def test_06_export_the_current_unsaved_state(self):
        addon = self.addon
        bpy.ops.mesh.primitive_cone_add(location=(3, 0, 0))
        cone = bpy.context.active_object
        cone.name = "DirtyCone"
        bpy.ops.ed.undo_push(message="add a cone")  # what the interface does after each change
        self.assertTrue(bpy.data.is_dirty)
        for obj in bpy.context.view_layer.objects:
            obj.select_set(obj is cone)
        settings = bpy.context.scene.sidecar_settings
        settings.export_format = "glb"
        settings.export_scope = "SELECTION"
        settings.export_output = "//exports/"  # relative to the saved file, not to the temporary copy
        job = self.submit(bpy.ops.sidecar.export_background)
        self.assertTrue(job.temporary_blend)
        self.assertTrue(job.blend_file.startswith(addon.sub("snapshot").copies_dir()))
        self.assertTrue(os.path.isfile(job.blend_file), "the copy is there while the job runs")
        self.assertGreater(job.save_copy_seconds, 0)
        self.assertEqual(bpy.data.filepath, self.blend, "the open file is still the artist's")
        self.assertTrue(bpy.data.is_dirty)
        expected = os.path.join(self.tmp, "exports", "scene_DirtyCone.glb")
        self.assertEqual(job.output, expected)
        addon.pump(lambda: job.state in ("completed", "failed", "canceled"), 120, "the export")
        self.assertEqual(job.state, "completed", job.error)
        # The add-on prefers its own Blender for the file it edits, and the panel shows the Blender that ran the job.
        self.assertEqual(job.blender, bpy.app.version_string.split(" ")[0], "the job ran on this Blender")
        self.assertIn('"DirtyCone"', harness.glb_json(expected), "the unsaved cone was exported")
        self.assertNotIn('"Cube"', harness.glb_json(expected), "only the selection")
        addon.pump(lambda: not os.path.exists(job.blend_file), 10, "the sidecar to delete the temporary copy")
        stalls = addon.state.stalls
        self.assertIn("save copy", stalls)

    def test_07_a_refused_submission_deletes_its_copy(self):
        addon = self.addon
        copies = addon.sub("snapshot").copies_dir()
        before = set(os.listdir(copies))
        bpy.context.scene.sidecar_settings.export_output = os.path.join(self.tmp, "wrong.obj")  # not a .glb name
        bpy.ops.sidecar.export_background()
        addon.pump(lambda: not any(j.state == "submitting" for j in addon.state.jobs.values()), 30, "the answer")
        alert = addon.state.alerts[0]
        self.assertEqual(alert.level, "ERROR")
        self.assertRegex(alert.text, r"^The sidecar refused export\.submit: .*wrong\.obj does not end in \.glb")
        self.assertEqual(set(os.listdir(copies)), before, "the copy the sidecar never took is deleted")

    def test_08_cancel_a_running_render(self):
        addon = self.addon
        scene = bpy.context.scene
        scene.frame_start, scene.frame_end = 1, 50
        harness.tiny_render_settings(scene, (320, 240), 256)  # about a second a frame
        scene.render.filepath = os.path.join(self.tmp, "long") + os.sep
        try:
            job = self.submit(bpy.ops.sidecar.render_background)
        finally:
            scene.frame_start, scene.frame_end = 1, 3
            harness.tiny_render_settings(scene)
        addon.pump(lambda: job.running or job.done, 60, "a frame to start")
        bpy.ops.sidecar.cancel_job(job_id=job.id)
        self.wait_for(job, ("canceled",), 20)
        self.assertLess(job.done, 50)
        self.assertEqual(addon.state.alerts[0].level, "WARN")
        self.assertIn("was canceled", addon.state.alerts[0].text)
        with self.assertRaisesRegex(RuntimeError, "has already ended"):
            bpy.ops.sidecar.cancel_job(job_id=job.id)

    def test_09_open_output_folder(self):
        addon = self.addon
        job = next(j for j in addon.state.jobs.values() if j.kind == "export" and j.state == "completed")
        fake_bin = os.path.join(self.tmp, "bin")
        os.makedirs(fake_bin, exist_ok=True)
        record = os.path.join(self.tmp, "opened.txt")
        with open(os.path.join(fake_bin, "xdg-open"), "w") as f:
            f.write('#!/bin/sh\nprintf "%s" "$1" > "{}"\n'.format(record))
        os.chmod(os.path.join(fake_bin, "xdg-open"), 0o755)
        path = os.environ.get("PATH", "")
        os.environ["PATH"] = fake_bin + os.pathsep + path
        try:
            bpy.ops.sidecar.open_output(job_id=job.id)
            # The fake xdg-open runs on its own: wait until it has written the whole path, not only made the file.
            until(
                lambda: os.path.exists(record) and os.path.getsize(record) > 0, 10, "the fake xdg-open's record", 0.05
            )
        finally:
            os.environ["PATH"] = path
        with open(record) as f:
            self.assertEqual(f.read(), os.path.join(self.tmp, "exports"))
        if not shutil.which("xdg-open"):
            with self.assertRaisesRegex(RuntimeError, "Cannot open folders here"):
                bpy.ops.sidecar.open_output(job_id=job.id)
        bpy.ops.sidecar.clear_alerts()
        self.assertEqual(len(addon.state.alerts), 0)

    def test_10_reconnects_after_the_sidecar_is_killed(self):
        addon = self.addon
        old = addon.connection.pid
        workers = harness.children(old)
        os.kill(old, signal.SIGKILL)
        addon.pump(lambda: addon.state.connection != "connected", 10, "the drop to be noticed")
        addon.pump(lambda: addon.state.connected and addon.connection.pid != old, 40, "a new sidecar")
        self.assertEqual(harness.sidecars(self.state_dir), [addon.connection.pid])
        texts = [a.text for a in addon.state.alerts]
        self.assertTrue(any("stopped unexpectedly (exit code -9)" in t for t in texts), texts)
        self.assertTrue(harness.wait_gone(workers, 30), "the killed sidecar's workers end: {}".format(workers))
        # wait_gone held Blender's event loop; let the add-on catch up on what its connection said meanwhile.
        addon.pump(lambda: addon.state.connected, 30, "the connection after the wait")
        # The new connection is subscribed again: the job's end arrives as a notification.
        bpy.context.scene.sidecar_settings.export_output = os.path.join(self.tmp, "after-restart.glb")
        job = self.wait_for(self.submit(bpy.ops.sidecar.export_background), ("completed", "failed"), 120)
        self.assertEqual(job.state, "completed", job.error)
        self.assertTrue(os.path.isfile(os.path.join(self.tmp, "after-restart.glb")))

    def test_11_stop_then_follow_a_sidecar_started_elsewhere(self):
        addon = self.addon
        old = addon.connection.pid
        bpy.ops.sidecar.stop_sidecar()
        addon.pump(lambda: addon.state.connection == "disconnected", 20, "the stop")
        self.assertTrue(harness.wait_gone([old], 10))
        self.assertEqual(addon.state.message, "The sidecar was stopped.")
        first = self.serve()
        self.connect(start=False)  # found through sidecar.json; the add-on starts nothing
        self.assertEqual(addon.connection.pid, first.pid)
        first.send_signal(signal.SIGTERM)
        first.wait(15)
        second = self.serve()
        addon.pump(lambda: addon.state.connected and addon.connection.pid == second.pid, 30, "the reconnect")
        self.assertEqual(harness.sidecars(self.state_dir), [second.pid])
        # Stop Sidecar stops one the add-on did not start, too.
        bpy.ops.sidecar.stop_sidecar()
        addon.pump(lambda: addon.state.connection == "disconnected", 20, "the stop")
        self.assertEqual(second.wait(10), 0)
        self.assertEqual(harness.sidecars(self.state_dir), [])

    def serve(self):
        """A sidecar started the way the CLI would, outside the add-on."""
        node = harness.node_for_tests() or shutil.which("node") or "node"
        log = open(os.path.join(self.tmp, "serve-{}.log".format(len(self.extra_processes))), "ab")
        proc = subprocess.Popen(
            [
                node,
                BUNDLE,
                "serve",
                "--state-dir",
                self.state_dir,
                "--port",
                "0",
                "--instances",
                "1",
                "--blender",
                bpy.app.binary_path,
                "--parent-pid",
                str(os.getpid()),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.extra_processes.append(proc)
        reader = self.addon.sub("wire").read_discovery
        not_found = self.addon.sub("wire").SidecarNotFound

        def written():
            try:
                return reader(self.state_dir).pid == proc.pid
            except not_found:
                return False

        until(written, 20, "the sidecar started for the test to write sidecar.json", 0.05)
        return proc

    def test_12_no_click_held_the_main_thread_for_50_ms(self):
        stalls = self.addon.state.stalls
        print("\nmain-thread time per operator (longest, count):")
        for name, stall in stalls.items():
            print("  {:32} {:7.1f} ms  x{}".format(name, stall.longest * 1000, stall.count))
        slow = {n: s.longest for n, s in stalls.items() if n != "save copy" and s.longest > 0.050}
        self.assertEqual(slow, {}, "over 50 ms")

    def test_13_disable_leaves_nothing(self):
        self.addon.disable()
        self.assertNoLeftovers()


def main():
    print(
        "addon tests on Blender {} ({} add-on), Python {}".format(
            bpy.app.version_string, harness.default_mode(), sys.version.split()[0]
        ),
        flush=True,
    )
    names = harness.our_args()
    loader = unittest.TestLoader()
    suite = loader.loadTestsFromTestCase(AddonTest)
    if names:
        keep = [t for t in suite if any(n in t.id() for n in names)]
        suite = unittest.TestSuite(keep)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, failfast=True).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    if code:
        sys.exit(code)
