"""The Sidecar Pipeline node editor (addon/blender_sidecar/pipeline/) inside real Blender, against the real sidecar
(dist/, from `npm run build`); no mocks.

    blender -b --factory-startup --python-exit-code 1 --python test/addon/test_pipeline_editor.py [-- NAME ...]

NAMEs keep only the tests whose id contains one of them. The steps run in order and build on each other: the
templates and import/export first (no sidecar), then one sidecar started by the add-on (a temporary state folder, a
free port) for Validate, Run Pipeline, and `blender-sidecar pipeline run` with the editor's exported JSON over the same
file. The file is made by test/fixtures/make_scene.py with --collections --faults (Props, Rocks, Trees, the default
Collection, and Faulty, which fails the game-asset template's checks). Without an event loop (-b) the tests drive the
drain themselves (harness.Addon.pump), as the timer would.
"""

import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bpy  # noqa: E402

import harness  # noqa: E402
from harness import Addon  # noqa: E402

BUNDLE = os.path.join(harness.ROOT, "dist", "blender-sidecar.mjs")
TEMPLATES = os.path.join(harness.ROOT, "sidecar", "pipelines", "templates")
SCHEMA = os.path.join(harness.ROOT, "docs", "pipeline.schema.json")
MAKE_SCENE = os.path.join(harness.ROOT, "test", "fixtures", "make_scene.py")
FAULTY_REASON = (
    r"^Validate 'Check meshes' \[Faulty\] failed: missing_textures: FaultyMesh \(material FaultyMaterial: image "
    r"missing\.png not found at .*missing\.png\); empty_meshes: EmptyMesh \(no faces\)$"
)
SKIPPED = "not run: Validate 'Check meshes' [Faulty] failed"


def template(name):
    with open(os.path.join(TEMPLATES, name + ".json")) as f:
        return json.load(f)


def link(a, b, from_socket="objects", to_socket="objects"):
    return {"from": {"node": a, "socket": from_socket}, "to": {"node": b, "socket": to_socket}}


# Every setting of every node type set, some to their defaults (which must survive a round trip too).
EVERY_SETTING = {
    "version": 1,
    "name": "Every setting",
    "description": "Each node type with every setting it takes.",
    "nodes": [
        {
            "id": "objs",
            "type": "source",
            "name": "Some objects",
            "settings": {"mode": "objects", "objects": ["Cube", 'Props, big "one"', "true"], "name": "picked"},
        },
        {"id": "coll", "type": "source", "settings": {"mode": "collections", "exclude": ["Collection", "Faulty"]}},
        {
            "id": "check",
            "type": "validate",
            "name": "Strict",
            "settings": {
                "checks": {
                    "non_manifold": "fail",
                    "missing_textures": "off",
                    "unapplied_scale": "warn",
                    "ngons": "fail",
                    "empty_meshes": "fail",
                }
            },
        },
        {
            "id": "fix",
            "type": "transform",
            "settings": {
                "applyModifiers": False,
                "decimateRatio": 0.25,
                "triangulate": True,
                "applyRotation": True,
                "applyScale": True,
                "origin": "bottom",
            },
        },
        {
            "id": "counts",
            "type": "gn_variant",
            "settings": {
                "object": "Grid",
                "modifier": "GeometryNodes",
                "input": "Count",
                "range": {"start": 1, "end": 7, "step": 2},
            },
        },
        {
            "id": "mixed",
            "type": "gn_variant",
            "settings": {
                "object": "Grid",
                "input": "Offset",
                "values": [1, 2.5, True, "Rock", "12", [1, 2, 3], [0.5, -1]],
            },
        },
        {
            "id": "glb",
            "type": "export",
            "name": "Export GLB",
            "settings": {
                "format": "glb",
                "output": "//every/{name}_{variant}.glb",
                "applyModifiers": False,
                "options": {"export_yup": True, "export_apply": False},
            },
        },
        {
            "id": "frames",
            "type": "render",
            "settings": {
                "output": "//every/{name}/{variant_index}/####.png",
                "frames": "1-3,5",
                "format": "JPEG",
                "engine": "workbench",
                "samples": 4,
                "resolutionPercent": 50,
                "camera": "Camera",
                "instances": 2,
            },
        },
        {
            "id": "movie",
            "type": "movie",
            "settings": {"output": "//every/{name}-{variant_index}.mov", "fps": 12.5, "codec": "mpeg4"},
        },
        {"id": "report", "type": "report", "settings": {"output": "//every/{date}-report.json"}},
    ],
    "links": [
        link("coll", "check"),
        link("check", "fix"),
        link("objs", "counts"),
        link("fix", "mixed"),
        link("mixed", "glb"),
        link("counts", "frames"),
        link("frames", "movie", "files", "files"),
        link("glb", "report", "files", "files"),
        link("frames", "report", "files", "files"),
        link("movie", "report", "files", "files"),
    ],
}


class Recorder(object):
    """Stands in for a UILayout: records the labels drawn."""

    def __init__(self):
        self.lines = []

    def column(self, align=False):
        return self

    def label(self, text="", icon="NONE"):
        self.lines.append((text, icon))


class PipelineEditorTest(unittest.TestCase):
    addon = None

    @classmethod
    def setUpClass(cls):
        if not os.path.isfile(BUNDLE):
            raise RuntimeError("{} is missing: run `npm run build` first".format(BUNDLE))
        cls.tmp = tempfile.mkdtemp(prefix="sidecar-pipeline-editor-")
        cls.state_dir = os.path.join(cls.tmp, "state")
        cls.scene = os.path.join(cls.tmp, "editor", "scene.blend")
        os.makedirs(os.path.dirname(cls.scene))
        r = subprocess.run(
            [
                bpy.app.binary_path,
                "-b",
                "--factory-startup",
                "--python-exit-code",
                "1",
                "--python",
                MAKE_SCENE,
                "--",
                cls.scene,
                "--collections",
                "--faults",
                "--frames",
                "2",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=120,
        )
        if r.returncode != 0:
            raise RuntimeError("make_scene.py failed: {}".format(r.stdout.decode(errors="replace")))
        bpy.ops.wm.open_mainfile(filepath=cls.scene)
        cls.addon = Addon()
        cls.addon.enable()
        cls.addon.set_prefs(
            node_path=harness.node_for_tests(),
            sidecar_path="",
            state_dir=cls.state_dir,
            port=harness.free_port(),
            instances=2,
            auto_start=False,
        )
        cls.form = cls.addon.sub("pipeline.form")
        cls.serialize = cls.addon.sub("pipeline.serialize")

    @classmethod
    def tearDownClass(cls):
        addon = cls.addon
        try:
            if addon is not None and addon.enabled and addon.connection is not None and addon.state.connected:
                try:
                    bpy.ops.sidecar.stop_sidecar()
                    addon.pump(lambda: addon.state.connection in ("disconnected", "failed"), 20, "the sidecar to stop")
                except Exception as err:
                    print("teardown: stopping the sidecar failed: {}".format(err))
        finally:
            left = harness.sidecars(cls.state_dir)
            harness.kill_all(left)
            if addon is not None:
                addon.remove()
            shutil.rmtree(cls.tmp, ignore_errors=True)
            if left:
                raise AssertionError("sidecar processes were left running: {}".format(left))

    # -- helpers -------------------------------------------------------------------------------------------------

    def tree_from_template(self, tid, name):
        bpy.ops.sidecar.pipeline_template(template=tid, name=name)
        tree = bpy.data.node_groups[name]
        self.assertEqual(tree.bl_idname, "SidecarPipelineTree")
        return tree

    def nodes(self, tree):
        return {n.node_id: n for n in self.serialize.pipeline_nodes(tree)}

    def runs(self, tree):
        return {
            nid: (n.run.state, n.run.done, n.run.total, n.run.failed, n.run.skipped)
            for nid, n in self.nodes(tree).items()
        }

    def write_json(self, name, graph):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            json.dump(graph, f, indent=2)
        return path

    def import_json(self, path, name):
        bpy.ops.sidecar.pipeline_import(filepath=path, name=name)
        return bpy.data.node_groups[name]

    def export_json(self, tree, name):
        path = os.path.join(self.tmp, name)
        bpy.ops.sidecar.pipeline_export(tree=tree.name, filepath=path)
        with open(path) as f:
            return path, json.load(f)

    def connect(self):
        if not self.addon.state.connected:
            bpy.ops.sidecar.connect()
            self.addon.pump(lambda: self.addon.state.connected and self.addon.state.export_formats, 60, "the sidecar")

    def run_pipeline(self, tree, timeout=180):
        """Run Pipeline, then pump until the tree's job has ended; returns the panel's job."""
        addon = self.addon
        before = set(addon.state.jobs)
        bpy.ops.sidecar.pipeline_run(tree=tree.name)
        addon.pump(lambda: tree.job_id and tree.job_id not in before, 30, "the sidecar to accept the pipeline")
        job = addon.state.jobs[tree.job_id]
        addon.pump(lambda: job.state in ("completed", "failed", "canceled"), timeout, "the pipeline to end")
        addon.pump(lambda: True, 1, "the last messages")  # the job's end and its report, written to the nodes
        return job

    # -- the steps -------------------------------------------------------------------------------------------------

    def test_01_each_template_becomes_nodes_and_the_same_json_again(self):
        for tid in ("game-asset", "turntable", "variant-sweep"):
            expected = template(tid)
            tree = self.tree_from_template(tid, "template " + tid)
            self.assertTrue(tree.use_fake_user, "kept with the file though nothing uses it")
            graph = self.serialize.graph_of(tree)
            self.assertEqual(self.form.without_ui(graph), self.form.without_ui(expected), tid)
            for got, want in zip(graph["nodes"], expected["nodes"]):
                self.assertEqual(got["ui"]["location"], want["ui"]["location"])
                node = self.nodes(tree)[got["id"]]
                self.assertEqual(
                    node.bl_idname,
                    "SidecarPipeline{}Node".format("".join(p.capitalize() for p in got["type"].split("_"))),
                )
                self.assertEqual(node.label, want["name"])
            # Sockets: typed, named as in the JSON form, drawn in their colours.
            nodes = self.nodes(tree)
            source, report = nodes["source"], nodes["report"]
            self.assertEqual(
                [(s.identifier, s.bl_idname) for s in source.outputs], [("objects", "SidecarObjectsSocket")]
            )
            self.assertEqual([(s.identifier, s.bl_idname) for s in report.inputs], [("files", "SidecarFilesSocket")])
            self.assertGreater(report.inputs[0].link_limit, 1, "a Report takes many links")
            self.assertEqual(len(source.outputs[0].draw_color(bpy.context, source)), 4)
        game = self.nodes(bpy.data.node_groups["template game-asset"])
        self.assertEqual(
            [(c, getattr(game["validate"], c)) for c in ("non_manifold", "missing_textures", "ngons")],
            [("non_manifold", "warn"), ("missing_textures", "fail"), ("ngons", "warn")],
        )
        self.assertEqual((game["export"].format, game["export"].output), ("glb", "//export/{name}.glb"))

    def test_02_the_editors_settings_and_defaults_are_the_sidecars(self):
        with open(SCHEMA) as f:
            schema = json.load(f)
        by_type = {}
        items = schema["properties"]["nodes"]["items"]
        for variant in items.get("oneOf") or items["anyOf"]:
            by_type[variant["properties"]["type"]["const"]] = variant["properties"]["settings"]
        self.assertEqual(sorted(by_type), sorted(t.type for t in self.form.NODE_TYPES))
        for node_type in self.form.NODE_TYPES:
            settings = by_type[node_type.type]
            rna = bpy.types.Node.bl_rna_get_subclass_py(node_type.idname).bl_rna.properties
            paths = set()
            for key, prop in settings["properties"].items():
                inner = prop.get("properties")
                if inner:
                    paths |= {(key, sub) for sub in inner}
                else:
                    paths.add((key,))
            self.assertEqual(
                paths, {s.path for s in node_type.settings}, "{}: the settings it takes".format(node_type.type)
            )
            for setting in node_type.settings:
                prop = settings["properties"][setting.path[0]]
                if len(setting.path) > 1:
                    prop = prop["properties"][setting.path[1]]
                where = "{} {}".format(node_type.type, setting.key)
                if "enum" in prop:
                    self.assertEqual([i.identifier for i in rna[setting.prop].enum_items], prop["enum"], where)
                if "default" in prop:
                    self.assertEqual(rna[setting.prop].default, prop["default"], where)
                elif setting.absent is None and not setting.required:
                    self.fail(
                        "{}: the editor has a default ({}) where the sidecar has none".format(where, setting.default)
                    )
                self.assertEqual(
                    setting.required,
                    setting.path[-1] in (settings.get("required") or [])
                    or (
                        len(setting.path) > 1
                        and setting.path[-1] in settings["properties"][setting.path[0]].get("required", [])
                    ),
                    where,
                )

    def test_03_import_and_export_give_back_the_same_json(self):
        path = self.write_json("every.json", EVERY_SETTING)
        tree = self.import_json(path, "every")
        nodes = self.nodes(tree)
        self.assertEqual(nodes["objs"].objects, 'Cube, "Props, big \\"one\\"", true')
        self.assertEqual(nodes["mixed"].values, '1, 2.5, true, Rock, "12", [1, 2, 3], [0.5, -1]')
        self.assertEqual((nodes["counts"].spread, nodes["counts"].range_end), ("range", 7.0))
        self.assertEqual(nodes["frames"].engine, "workbench")
        exported_path, exported = self.export_json(tree, "every-out.json")
        self.assertEqual(self.form.without_ui(exported), self.form.without_ui(EVERY_SETTING))
        again = self.import_json(exported_path, "every again")
        _, twice = self.export_json(again, "every-twice.json")
        self.assertEqual(twice, exported, "import then export changes nothing, ui included")
        # A node made in the editor writes only what was chosen: the sidecar's defaults apply to the rest.
        fresh = bpy.data.node_groups.new("fresh", "SidecarPipelineTree")
        for idname in ("SidecarPipelineValidateNode", "SidecarPipelineTransformNode", "SidecarPipelineValidateNode"):
            fresh.nodes.new(idname)
        nodes = self.nodes(fresh)
        self.assertEqual(sorted(nodes), ["transform", "validate", "validate_2"], "ids from the type, unique")
        nodes["transform"].triangulate = True
        graph = self.serialize.graph_of(fresh)
        self.assertEqual([n["settings"] for n in graph["nodes"]], [{}, {"triangulate": True}, {}])
        # What cannot become nodes is refused, every problem named at once.
        broken = json.loads(json.dumps(EVERY_SETTING))
        broken["nodes"][3]["type"] = "smooth"
        broken["nodes"][6]["settings"]["ratio"] = 2
        broken["nodes"][7]["settings"]["format"] = "GIF"
        broken["links"].append(link("nowhere", "glb"))
        with self.assertRaises(RuntimeError) as caught:
            bpy.ops.sidecar.pipeline_import(filepath=self.write_json("broken.json", broken))
        message = str(caught.exception)
        for part in (
            "node 'fix' has an unknown type \"smooth\"",
            "export node 'Export GLB' (id glb): settings.ratio is not known here; it takes applyModifiers, format, options, output",
            "render node 'frames': settings.format is \"GIF\", but it takes one of PNG, JPEG",
            "links[{}]: there is no node 'nowhere'".format(len(broken["links"]) - 1),
        ):
            self.assertIn(part, message)
        # Text that does not parse stops an export, naming the node, and marks it.
        nodes = self.nodes(tree)
        nodes["glb"].options = "{export_yup: true"
        with self.assertRaisesRegex(RuntimeError, r"export node 'Export GLB' \(id glb\): Options is not JSON"):
            bpy.ops.sidecar.pipeline_export(tree=tree.name, filepath=os.path.join(self.tmp, "x.json"))
        self.assertEqual(nodes["glb"].run.state, "invalid")
        nodes["glb"].options = '{"export_yup": true, "export_apply": false}'
        bpy.ops.sidecar.pipeline_clear(tree=tree.name)
        self.assertEqual(nodes["glb"].run.state, "none")

    def test_04_validate_marks_the_nodes_the_sidecar_names(self):
        addon = self.addon
        self.connect()
        every = bpy.data.node_groups["every"]
        bpy.ops.sidecar.pipeline_validate(tree=every.name)
        addon.pump(lambda: "Every setting is a valid pipeline." in addon.state.alerts[0].text, 20, "the answer")
        tree = self.tree_from_template("game-asset", "broken")
        nodes = self.nodes(tree)
        tree.links.remove(nodes["export"].inputs[0].links[0])
        bpy.ops.sidecar.pipeline_validate(tree=tree.name)
        addon.pump(lambda: nodes["export"].run.state == "invalid", 20, "the export node to be marked")
        self.assertRegex(
            nodes["export"].run.message, r"^export node 'Export GLB' \(id export\) needs its input 'objects' linked"
        )
        self.assertTrue(nodes["export"].use_custom_color)
        self.assertEqual([n.run.state for n in nodes.values()].count("invalid"), 1)
        self.assertEqual(addon.state.alerts[0].level, "WARN")
        # Run Pipeline refuses it the same way (the sidecar checks the graph at submit).
        bpy.ops.sidecar.pipeline_clear(tree=tree.name)
        bpy.ops.sidecar.pipeline_run(tree=tree.name)
        addon.pump(lambda: nodes["export"].run.state == "invalid", 20, "the refusal")
        self.assertRegex(addon.state.alerts[0].text, r"^The sidecar refused pipeline\.submit: ")
        self.assertEqual(tree.job_id, "")
        # Linked again, it is valid and the mark goes.
        tree.links.new(nodes["triangulate"].outputs[0], nodes["export"].inputs[0])
        bpy.ops.sidecar.pipeline_validate(tree=tree.name)
        addon.pump(lambda: nodes["export"].run.state == "none", 20, "the mark to go")

    def test_05_run_the_game_asset_template_from_the_editor(self):
        addon = self.addon
        self.connect()
        tree = self.tree_from_template("game-asset", "Game asset run")
        bpy.ops.wm.save_mainfile()  # an artist's saved file (4.3 in background still counts it unsaved: a copy)
        started = time.monotonic()
        job = self.run_pipeline(tree)
        print("\n  game-asset from the editor: {:.1f} s".format(time.monotonic() - started))
        self.assertEqual((job.kind, job.label, job.state), ("pipeline", "Pipeline Game asset", "failed"))
        self.assertRegex(job.error, r"^1 of 15 steps failed: Validate 'Check meshes' \[Faulty\] failed")
        runs = self.runs(tree)
        self.assertEqual(
            runs,
            {
                "source": ("done", 5, 5, 0, 0),
                "validate": ("failed", 4, 5, 1, 0),
                "triangulate": ("partial", 4, 5, 0, 1),
                "export": ("partial", 4, 5, 0, 1),
                "report": (runs["report"][0], runs["report"][1], runs["report"][2], 0, runs["report"][4]),
            },
        )
        nodes = self.nodes(tree)
        self.assertRegex(nodes["validate"].run.message, FAULTY_REASON)
        self.assertEqual(nodes["validate"].run.warnings, 3)
        self.assertEqual((nodes["triangulate"].run.message, nodes["export"].run.message), (SKIPPED, SKIPPED))
        self.assertEqual(nodes["validate"].run.text(), "Failed 4/5, 1 failed, 3 warnings")
        for nid, colour in (("validate", "failed"), ("source", "done"), ("export", "partial")):
            node_colour = tuple(round(c, 3) for c in nodes[nid].color)
            self.assertEqual(node_colour, tuple(round(c, 3) for c in addon.sub("pipeline.nodes").STATE_COLORS[colour]))
        export = os.path.join(self.tmp, "editor", "export")
        self.assertEqual(
            sorted(os.listdir(export)), ["Collection.glb", "Props.glb", "Rocks.glb", "Trees.glb", "report.json"]
        )
        self.assertEqual(job.output_folder, export)
        self.assertRegex(addon.sub("gui")._result_summary(job), r"^12 steps done, 4 outputs, 1 failed, 2 skipped$")
        wm = bpy.context.window_manager
        self.assertEqual(wm.sidecar_jobs[wm.sidecar_jobs_index].job_id, job.id, "the Jobs list shows it, selected")
        lines = Recorder()  # what the Jobs panel's details draw for it, node by node
        addon.sub("pipeline.gui").draw_job_nodes(lines, job)
        self.assertEqual(
            lines.lines,
            [
                ("Collections: Done 5/5", "CHECKMARK"),
                ("Check meshes: Failed 4/5, 1 failed, 3 warnings", "CANCEL"),
                ("Triangulate: Partial 4/5, 1 skipped", "ERROR"),
                ("Export GLB: Partial 4/5, 1 skipped", "ERROR"),
                ("Report: Done 4/5, 1 skipped", "CHECKMARK"),
            ],
        )

    def test_06_the_cli_gives_the_same_files_for_the_editors_json(self):
        tree = bpy.data.node_groups["Game asset run"]
        graph_file, graph = self.export_json(tree, "game-asset.json")
        self.assertEqual(self.form.without_ui(graph), self.form.without_ui(template("game-asset")))
        cli_base = os.path.join(self.tmp, "cli")
        os.makedirs(cli_base)
        node = harness.node_for_tests() or shutil.which("node") or "node"
        started = time.monotonic()
        r = subprocess.run(
            [
                node,
                BUNDLE,
                "pipeline",
                "run",
                graph_file,
                "--input",
                self.scene,
                "--base-dir",
                cli_base,
                "--state-dir",
                self.state_dir,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=240,
        )
        out, err = r.stdout.decode(), r.stderr.decode()
        print("  game-asset from the CLI: {:.1f} s".format(time.monotonic() - started))
        self.assertEqual(r.returncode, 1, "the Faulty branch fails, as in the editor:\n{}\n{}".format(out, err))
        self.assertIn("pipeline 'Game asset' failed", out)
        self.assertRegex(out, r"Check meshes +validate +failed +4/5 done, 1 failed, 3 warnings")
        editor = os.path.join(self.tmp, "editor", "export")
        cli = os.path.join(cli_base, "export")
        self.assertEqual(sorted(os.listdir(cli)), sorted(os.listdir(editor)), out)
        for name in ("Collection.glb", "Props.glb", "Rocks.glb", "Trees.glb"):
            with open(os.path.join(editor, name), "rb") as a, open(os.path.join(cli, name), "rb") as b:
                self.assertTrue(a.read() == b.read(), "{}: the same bytes from the editor and the CLI".format(name))

    def test_07_a_failed_validation_skips_what_depends_on_it(self):
        graph = {
            "version": 1,
            "name": "Faulty only",
            "nodes": [
                {"id": "src", "type": "source", "settings": {"mode": "collection", "collection": "Faulty"}},
                {"id": "check", "type": "validate", "name": "Check meshes", "settings": {}},
                {"id": "tri", "type": "transform", "settings": {"triangulate": True}},
                {"id": "glb", "type": "export", "settings": {"format": "glb", "output": "//faulty/{name}.glb"}},
                {"id": "other", "type": "export", "settings": {"format": "glb", "output": "//faulty/unchecked.glb"}},
            ],
            "links": [link("src", "check"), link("check", "tri"), link("tri", "glb"), link("src", "other")],
        }
        tree = self.import_json(self.write_json("faulty.json", graph), "faulty")
        job = self.run_pipeline(tree)
        self.assertEqual(job.state, "failed")
        self.assertEqual(
            self.runs(tree),
            {
                "src": ("done", 1, 1, 0, 0),
                "check": ("failed", 0, 1, 1, 0),
                "tri": ("skipped", 0, 1, 0, 1),
                "glb": ("skipped", 0, 1, 0, 1),
                "other": ("done", 1, 1, 0, 0),
            },
        )
        nodes = self.nodes(tree)
        self.assertRegex(nodes["check"].run.message, r"^Validate 'Check meshes' failed: missing_textures: FaultyMesh")
        self.assertEqual(nodes["glb"].run.message, "not run: Validate 'Check meshes' failed")
        self.assertEqual(sorted(os.listdir(os.path.join(self.tmp, "editor", "faulty"))), ["unchecked.glb"])

    def test_08_disable_leaves_nothing(self):
        addon = self.addon
        bpy.ops.sidecar.stop_sidecar()
        addon.pump(lambda: addon.state.connection == "disconnected", 20, "the sidecar to stop")
        addon.disable()
        self.assertEqual(addon.leftovers(), [])
        self.assertIsNone(bpy.types.NodeTree.bl_rna_get_subclass_py("SidecarPipelineTree"))
        self.assertFalse(hasattr(bpy.types, "SIDECAR_OT_pipeline_run"))
        # Back, as Reload Scripts does it (the package and its modules reloaded), with the file's trees still there.
        importlib.reload(sys.modules[addon.name])
        addon.enable()
        tree = bpy.data.node_groups["Game asset run"]
        self.assertEqual(tree.bl_idname, "SidecarPipelineTree")
        self.assertEqual(self.nodes(tree)["validate"].run.state, "failed")
        self.assertEqual(
            self.form.without_ui(self.serialize.graph_of(tree)), self.form.without_ui(template("game-asset"))
        )
        addon.disable()
        self.assertEqual(addon.leftovers(), [])


def main():
    print(
        "pipeline editor tests on Blender {} ({} add-on), Python {}".format(
            bpy.app.version_string, harness.default_mode(), sys.version.split()[0]
        ),
        flush=True,
    )
    names = harness.our_args()
    suite = unittest.TestLoader().loadTestsFromTestCase(PipelineEditorTest)
    if names:
        suite = unittest.TestSuite([t for t in suite if any(n in t.id() for n in names)])
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, failfast=True).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    if code:
        sys.exit(code)
