"""The add-on's modules that never import bpy (launcher, connection, messages, state), on plain Python:

    python3 test/addon/test_plain.py

They must import without Blender (the wire client is also a scripting client, and these are its neighbours), and
their logic is checked here where it is quick. Everything that needs Blender or the sidecar is in test_addon.py.
"""

import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "addon"))

from blender_sidecar import connection, launcher, state, thumbnail  # noqa: E402
from blender_sidecar.errors import SidecarError  # noqa: E402
from blender_sidecar.messages import (  # noqa: E402
    MsgAlert,
    MsgCallResult,
    MsgConnection,
    MsgInfo,
    MsgJobs,
    MsgJobState,
    MsgProgress,
    MsgWorkers,
)
from blender_sidecar.wire import ConnectionClosed, RpcError  # noqa: E402


class ImportTest(unittest.TestCase):
    def test_no_module_here_imports_bpy(self):
        self.assertNotIn("bpy", sys.modules)


class LauncherTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addon = os.path.join(self.tmp, "repo", "addon", "blender_sidecar")
        os.makedirs(self.addon)

    def touch(self, *parts):
        path = os.path.join(*parts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").close()
        os.chmod(path, 0o755)
        return path

    def test_the_single_executable_comes_first_then_the_bundled_script_then_the_checkout(self):
        checkout = self.touch(self.tmp, "repo", "dist", "blender-sidecar.mjs")
        self.assertEqual(launcher.find_sidecar("", self.addon).path, checkout)
        bundled = self.touch(self.addon, "sidecar", "blender-sidecar.mjs")
        program = launcher.find_sidecar("", self.addon)
        self.assertEqual((program.path, program.needs_node), (bundled, True))
        exe = self.touch(self.addon, "sidecar", "bin", launcher.platform_tag(), "blender-sidecar")
        program = launcher.find_sidecar("", self.addon)
        self.assertEqual((program.path, program.needs_node), (exe, False))
        chosen = self.touch(self.tmp, "elsewhere", "my-sidecar.mjs")
        self.assertEqual(launcher.find_sidecar(chosen, self.addon).path, chosen)

    def test_a_missing_sidecar_says_where_it_looked(self):
        with self.assertRaisesRegex(
            SidecarError, r"^The bundled sidecar is missing \(looked for .*blender-sidecar\.mjs\)"
        ):
            launcher.find_sidecar("", self.addon)

    def test_platform_tags_follow_node(self):
        self.assertEqual(launcher.platform_tag("linux", "x86_64"), "linux-x64")
        self.assertEqual(launcher.platform_tag("darwin", "arm64"), "darwin-arm64")
        self.assertEqual(launcher.platform_tag("win32", "AMD64"), "win32-x64")

    def test_node_from_the_preferences_must_exist(self):
        with self.assertRaisesRegex(SidecarError, r"^Node\.js was not found at /nowhere/node"):
            launcher.find_node("/nowhere/node")
        node = self.touch(self.tmp, "bin", "node")
        self.assertEqual(launcher.find_node(node), node)

    def test_an_old_node_is_refused_in_one_sentence(self):
        fake = os.path.join(self.tmp, "node18")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\necho v18.19.0\n")
        os.chmod(fake, 0o755)
        with self.assertRaisesRegex(SidecarError, r"^Node\.js v18\.19\.0 at .* is too old: the sidecar needs Node 20"):
            launcher.check_node(fake)

    def test_the_serve_command(self):
        program = launcher.SidecarProgram("/a/blender-sidecar.mjs", True)
        cmd = launcher.serve_command(program, "/usr/bin/node", "/state", 0, "/usr/bin/blender", 42, 2)
        self.assertEqual(
            cmd,
            [
                "/usr/bin/node",
                "/a/blender-sidecar.mjs",
                "serve",
                "--port",
                "0",
                "--blender",
                "/usr/bin/blender",
                "--parent-pid",
                "42",
                "--state-dir",
                "/state",
                "--instances",
                "2",
            ],
        )
        exe = launcher.SidecarProgram("/a/blender-sidecar", False)
        self.assertEqual(
            launcher.serve_command(exe, None, "", 8765, "/b", 1, 0)[:4],
            ["/a/blender-sidecar", "serve", "--port", "8765"],
        )
        # The old behaviour, by preference: closing Blender stops its background jobs.
        self.assertEqual(
            launcher.serve_command(exe, None, "", 0, "/b", 1, 0, stop_with_parent=True)[-1], "--stop-with-parent"
        )
        self.assertNotIn("--stop-with-parent", launcher.serve_command(exe, None, "", 0, "/b", 1, 0))

    def test_why_a_start_failed(self):
        taken = launcher.explain_exit(
            1, "error: the port is already in use; pick another with --port, or 0 for any free one\n", 8765
        )
        self.assertEqual(
            taken,
            "Port 8765 is already taken by another program: set another port in the add-on's preferences, or 0 for any free one.",
        )
        self.assertIn("does not run on this Node.js", launcher.explain_exit(1, "SyntaxError: Unexpected token '?'", 0))
        self.assertEqual(
            launcher.explain_exit(2, "starting\nerror: no Blender found at /x\n", 0),
            "The sidecar stopped while starting (exit code 2): no Blender found at /x",
        )
        self.assertIn("it printed nothing", launcher.explain_exit(-9, "", 0))

    def test_open_folder_refuses_a_missing_folder(self):
        with self.assertRaisesRegex(SidecarError, "does not exist"):
            launcher.open_folder(os.path.join(self.tmp, "nope"))


class DescribeErrorTest(unittest.TestCase):
    def test_rpc_errors_name_the_method_and_fields(self):
        err = RpcError(
            -32602, "invalid params", {"errors": [{"field": "output", "message": "must be absolute"}]}, "render.submit"
        )
        self.assertEqual(
            connection.describe_error(err),
            "The sidecar refused render.submit: invalid params (output: must be absolute).",
        )

    def test_a_drop_is_its_own_sentence(self):
        self.assertIn("dropped before it answered", connection.describe_error(ConnectionClosed("gone")))

    def test_a_call_without_a_connection_raises_at_once(self):
        conn = connection.Connection()
        with self.assertRaisesRegex(SidecarError, "^Not connected to the sidecar"):
            conn.call("sidecar.ping")
        conn.shutdown()


class StateTest(unittest.TestCase):
    def setUp(self):
        self.st = state.SidecarState("/usr/bin/blender")

    def test_a_submission_becomes_the_job_the_sidecar_names_even_when_its_state_came_first(self):
        st = self.st
        placeholder = st.add_submission("export", "Export GLB Cube", "/out/cube.glb", "/tmp/copy.blend", True, 0.25)
        self.assertEqual(list(st.jobs), [placeholder])
        st.apply(MsgJobState({"jobId": "j-1", "kind": "export", "state": "queued", "previous": "queued"}))
        st.apply(
            MsgCallResult("export.submit", {"jobId": "j-1"}, context={"purpose": "submit", "placeholder": placeholder})
        )
        self.assertEqual(list(st.jobs), ["j-1"])
        job = st.jobs["j-1"]
        self.assertEqual(
            (job.label, job.output, job.save_copy_seconds, job.local), ("Export GLB Cube", "/out/cube.glb", 0.25, True)
        )
        self.assertEqual(job.state, "queued")

    def test_a_refused_submission_leaves_an_alert_and_no_job(self):
        st = self.st
        placeholder = st.add_submission("render", "Render Scene 1-3", "/r/", "/f.blend", False, None)
        st.apply(
            MsgCallResult(
                "render.submit",
                error="The sidecar refused render.submit: bad.",
                context={"purpose": "submit", "placeholder": placeholder},
            )
        )
        self.assertEqual(list(st.jobs), [])
        self.assertEqual((st.alerts[0].level, st.alerts[0].text), ("ERROR", "The sidecar refused render.submit: bad."))

    def test_a_render_job_keeps_its_newest_frame_and_preview_but_not_the_movie_as_a_frame(self):
        st = self.st
        base = {"jobId": "j-7", "kind": "render", "state": "running", "total": 3, "skipped": 0, "failed": 0}
        st.apply(
            MsgProgress(
                dict(
                    base,
                    done=1,
                    last={"key": 4, "label": "frame 4", "output": "/r/0004.png", "preview": "/r/.previews/0004.png"},
                )
            )
        )
        job = st.jobs["j-7"]
        self.assertEqual(
            (job.last_frame, job.last_frame_path, job.last_preview), (4, "/r/0004.png", "/r/.previews/0004.png")
        )
        st.apply(MsgProgress(dict(base, done=3, last={"key": 2000000, "label": "preview movie", "output": "/r/m.mp4"})))
        self.assertEqual((job.last_frame, job.last_preview), (4, "/r/.previews/0004.png"), "the movie is no frame")

    def test_progress_then_the_end_alerts_once(self):
        st = self.st
        st.apply(
            MsgProgress(
                {
                    "jobId": "j-2",
                    "kind": "render",
                    "state": "running",
                    "total": 4,
                    "done": 1,
                    "skipped": 0,
                    "failed": 0,
                    "etaSeconds": 3,
                    "running": [
                        {"worker": "w1", "label": "Frame 2", "samples": {"done": 9, "total": 16}},
                        {"worker": "w2", "label": "Frame 3"},
                    ],
                    "placement": "1 of 2 workers: 11.8 GB each, 14.0 GB free",
                }
            )
        )
        job = st.jobs["j-2"]
        self.assertEqual((job.state, job.progress, job.short_text()), ("running", 0.25, "1/4"))
        self.assertEqual(job.running, ["Frame 2 (sample 9/16)", "Frame 3"], "a long frame shows its samples moving")
        self.assertEqual(job.placement, "1 of 2 workers: 11.8 GB each, 14.0 GB free")
        st.apply(
            MsgProgress(
                {
                    "jobId": "j-2",
                    "kind": "render",
                    "state": "completed",
                    "total": 4,
                    "done": 4,
                    "skipped": 0,
                    "failed": 0,
                }
            )
        )
        self.assertEqual(job.state, "running", "only job.state ends a job")
        st.apply(
            MsgJobState(
                {
                    "jobId": "j-2",
                    "kind": "render",
                    "state": "completed",
                    "previous": "running",
                    "result": {"firstOutput": "/r/0001.png"},
                }
            )
        )
        st.apply(MsgJobState({"jobId": "j-2", "kind": "render", "state": "completed", "previous": "running"}))
        self.assertEqual(job.progress, 1.0)
        self.assertEqual([a.level for a in st.alerts], ["INFO"])
        self.assertEqual(job.output_folder, "/r")

    def test_failures_and_cancels_are_alerts_with_their_sentence(self):
        st = self.st
        st.apply(
            MsgJobState(
                {
                    "jobId": "j-3",
                    "kind": "export",
                    "state": "failed",
                    "previous": "running",
                    "error": "nothing was exported",
                }
            )
        )
        st.apply(MsgJobState({"jobId": "j-4", "kind": "render", "state": "canceled", "previous": "running"}))
        self.assertEqual(
            [(a.level, a.text) for a in st.alerts],
            [("WARN", "Render j-4 was canceled."), ("ERROR", "Export j-3 failed: nothing was exported")],
        )

    def test_jobs_from_the_list_are_newest_first_and_keep_what_only_we_know(self):
        st = self.st
        st.apply(
            MsgJobs(
                [
                    {
                        "id": "j-new",
                        "kind": "render",
                        "state": "running",
                        "progress": {"total": 10, "done": 5},
                        "blendFile": "/p/shot.blend",
                        "output": "/r/####",
                    },
                    {
                        "id": "j-old",
                        "kind": "export",
                        "state": "completed",
                        "progress": {"total": 1, "done": 1},
                        "result": {"outputs": [{"output": "/e/a.glb"}]},
                    },
                ]
            )
        )
        self.assertEqual(list(st.jobs), ["j-new", "j-old"])
        self.assertEqual(st.jobs["j-new"].label, "Render shot.blend")
        self.assertEqual(st.jobs["j-old"].output, "/e/a.glb")
        self.assertEqual(len(st.alerts), 0, "a list is no news")

    def test_old_finished_jobs_make_room(self):
        st = self.st
        for i in range(state.MAX_JOBS + 5):
            st.apply(
                MsgJobState({"jobId": "j-{}".format(i), "kind": "render", "state": "completed", "previous": "running"})
            )
        self.assertEqual(len(st.jobs), state.MAX_JOBS)
        self.assertEqual(next(iter(st.jobs)), "j-{}".format(state.MAX_JOBS + 4))

    def test_the_sidecars_own_alerts_update_in_place_and_go_when_resolved(self):
        st = self.st
        st.alert("INFO", "Connected.")
        raised = {
            "key": "disk-low:/r",
            "level": "WARN",
            "what": "The disk is 95% full.",
            "where": "/r",
            "action": "Free space.",
            "count": 1,
        }
        st.apply(connection._sidecar_alert(raised))
        st.apply(connection._sidecar_alert(dict(raised, level="ERROR", what="The disk is 99% full.", count=2)))
        self.assertEqual(
            [(a.level, a.text) for a in st.alerts],
            [("ERROR", "The disk is 99% full (/r): free space (2 times)."), ("INFO", "Connected.")],
        )
        st.apply(connection._sidecar_alert(dict(raised, resolvedAt="2026-01-01T00:00:00Z")))
        self.assertEqual([a.text for a in st.alerts], ["Connected."])

    def test_workers_connection_and_info(self):
        st = self.st
        st.apply(
            MsgWorkers([{"id": "w1", "pid": 5, "state": "busy", "cpuPercent": 97.5, "rssMB": 300, "label": "frame 3"}])
        )
        self.assertEqual((st.workers[0].cpu, st.workers[0].rss_mb, st.workers[0].label), (97.5, 300.0, "frame 3"))
        st.apply(
            MsgInfo(
                {
                    "version": "0.1.0",
                    "pid": 9,
                    "blender": {"found": True, "path": "/opt/other/blender", "version": "4.3.2"},
                    "exportFormats": [{"format": "glb"}],
                    "pool": {"instances": 2},
                }
            )
        )
        self.assertEqual((st.version, st.pool_size, st.export_formats), ("0.1.0", 2, [{"format": "glb"}]))
        self.assertEqual(st.alerts[0].level, "WARN", "a sidecar that runs another Blender is worth a warning")
        st.apply(MsgConnection("failed", "Port 1 is already taken.", alert="ERROR"))
        self.assertEqual((st.connection, st.workers), ("failed", []))
        self.assertEqual(st.alerts[0].text, "Port 1 is already taken.")
        revision = st.revision
        self.assertTrue(st.apply(MsgAlert("INFO", "hello")))
        self.assertGreater(st.revision, revision)


def _png(width, height, rgba, filters, colour=6):
    """A PNG written here, each row with the filter `filters[y % len(filters)]` (0 none ... 4 Paeth)."""
    import struct
    import zlib

    bpp = thumbnail.CHANNELS[colour]
    stride = width * bpp

    def pred(kind, a, b, c):
        return [0, a, b, (a + b) // 2, thumbnail._paeth(a, b, c)][kind]

    raw, prev = bytearray(), bytes(stride)
    for y in range(height):
        line = rgba[y * stride : (y + 1) * stride]
        kind = filters[y % len(filters)]
        raw.append(kind)
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            c = prev[i - bpp] if i >= bpp else 0
            raw.append((line[i] - pred(kind, a, prev[i], c)) & 255)
        prev = line

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (
        thumbnail.SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b"")
    )


class ThumbnailTest(unittest.TestCase):
    """The preview reader runs on a thread, outside Blender: it must read every row filter libpng writes."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_reads_every_row_filter_back_to_the_same_pixels(self):
        width, height = 7, 10
        rgba = bytes((x * 37 + y * 11 + c * 53) % 256 for y in range(height) for x in range(width) for c in range(4))
        path = self.write("a.png", _png(width, height, rgba, [0, 1, 2, 3, 4]))
        self.assertEqual(thumbnail.read_png(path), (width, height, rgba))

    def test_rgb_becomes_opaque_rgba(self):
        rgb = bytes([10, 20, 30, 40, 50, 60])
        path = self.write("rgb.png", _png(2, 1, rgb, [1], colour=2))
        self.assertEqual(thumbnail.read_png(path), (2, 1, bytes([10, 20, 30, 255, 40, 50, 60, 255])))

    def test_floats_for_blender_are_bottom_row_first(self):
        rgba = bytes([255, 0, 0, 255]) + bytes([0, 0, 255, 255])  # red on top, blue below
        floats = thumbnail.rgba_floats(1, 2, rgba)
        self.assertEqual(list(floats), [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0])

    def test_ints_for_blender_are_the_bytes_bottom_row_first(self):
        rgba = bytes([255, 0, 0, 255]) + bytes([0, 0, 255, 255])  # red on top, blue below
        self.assertEqual(thumbnail.rgba_ints(1, 2, rgba).tobytes(), bytes([0, 0, 255, 255, 255, 0, 0, 255]))

    def test_an_icon_keeps_the_shape(self):
        rgba = bytes(256 * 128 * 4)
        self.assertEqual(thumbnail.shrink(256, 128, rgba, 32)[:2], (32, 16))
        self.assertEqual(thumbnail.shrink(8, 4, bytes(8 * 4 * 4), 32)[:2], (8, 4), "never enlarged")

    def test_what_it_does_not_read_is_one_sentence(self):
        with self.assertRaisesRegex(thumbnail.NotAPreview, "not a PNG"):
            thumbnail.read_png(self.write("x.png", b"GIF89a..."))
        sixteen = _png(1, 1, bytes(4), [0]).replace(struct_pack_depth16(), struct_pack_depth16(16))
        with self.assertRaisesRegex(thumbnail.NotAPreview, "8-bit"):
            thumbnail.read_png(self.write("deep.png", sixteen))


def struct_pack_depth16(depth=8):
    import struct

    return struct.pack(">IIB", 1, 1, depth)


if __name__ == "__main__":
    unittest.main(verbosity=1)
