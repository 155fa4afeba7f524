"""The pipeline editor's no-bpy modules (pipeline/form.py, pipeline/runs.py) on plain Python:

    python3 test/addon/test_pipeline_form.py

What needs Blender or the sidecar is in test_pipeline_editor.py.
"""

import json
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "addon"))

from blender_sidecar.errors import SidecarError  # noqa: E402
from blender_sidecar.messages import MsgCallResult, MsgJobs, MsgJobState, MsgProgress  # noqa: E402
from blender_sidecar import tables  # noqa: E402
from blender_sidecar.pipeline import catalog, fields, form, runs  # noqa: E402


class ListTextTest(unittest.TestCase):
    def test_names_are_plain_unless_they_need_quotes(self):
        names = ["Cube", "Props, big", 'say "hi"', "true", "12", " padded"]
        text = form.format_list(names, names=True)
        self.assertEqual(text, 'Cube, "Props, big", "say \\"hi\\"", true, 12, " padded"')
        self.assertEqual(form.parse_list(text, names=True), names)
        self.assertEqual(form.parse_list("Cube,Sphere , ,Cone", names=True), ["Cube", "Sphere", "Cone"])

    def test_values_keep_their_types(self):
        values = [2, 0.25, -3.0, True, False, "Rock", "12", "true", [1, 2, 3], [0.5, -1]]
        text = form.format_list(values, names=False)
        self.assertEqual(text, '2, 0.25, -3.0, true, false, Rock, "12", "true", [1, 2, 3], [0.5, -1]')
        back = form.parse_list(text, names=False)
        self.assertEqual(back, values)
        self.assertEqual([type(v) for v in back], [type(v) for v in values])
        self.assertEqual(form.parse_list("1e3, .5", names=False), [1000.0, 0.5])

    def test_what_does_not_parse_is_one_sentence(self):
        for text, names, message in (
            ('"open', True, "a quote or bracket is not closed"),
            ("[1, 2", False, "a quote or bracket is not closed"),
            ("[1, x]", False, "is not a vector of 2 to 4 numbers"),
            ("[1, 2]", True, "is a vector, but this takes names"),
        ):
            with self.assertRaisesRegex(SidecarError, message):
                form.parse_list(text, names=names, what="Values")


class FormTest(unittest.TestCase):
    def test_every_node_type_has_its_sockets_and_an_id(self):
        self.assertEqual(
            [t.type for t in form.NODE_TYPES],
            ["source", "validate", "transform", "gn_variant", "export", "render", "movie", "bake", "report"],
        )
        self.assertEqual(form.BY_TYPE["gn_variant"].idname, "SidecarPipelineGnVariantNode")
        self.assertEqual(form.BY_TYPE["report"].inputs, (("files", "files", True),))
        self.assertEqual(form.BY_TYPE["export"].outputs, (("files", "files", False),))

    def test_which_settings_are_written(self):
        export = form.BY_TYPE["export"]
        render = form.BY_TYPE["render"]
        source = form.BY_TYPE["source"]

        def written(node_type, key, value, is_set=False, **props):
            return form.written(node_type, node_type.setting(key), value, is_set, props.get)

        self.assertTrue(written(export, "output", ""), "a required setting, even empty")
        self.assertFalse(written(export, "applyModifiers", True), "the default, not set")
        self.assertTrue(written(export, "applyModifiers", True, is_set=True), "the default, set explicitly")
        self.assertTrue(written(export, "applyModifiers", False))
        self.assertFalse(written(render, "frames", "  "))
        self.assertFalse(written(render, "engine", "scene", is_set=True), "the scene's engine is no engine")
        self.assertFalse(written(render, "samples", 0))
        self.assertFalse(written(source, "objects", "Cube", mode="file"), "objects only in mode objects")
        self.assertTrue(written(source, "objects", "Cube", mode="objects"))

    def test_a_graph_that_cannot_become_nodes_is_refused_naming_every_problem(self):
        graph = {
            "version": 2,
            "extra": 1,
            "nodes": [
                {"id": "a", "type": "source", "settings": {"mode": "sometimes"}},
                {"id": "a", "type": "source"},
                {"id": "b", "type": "blur", "name": "Blur"},
                {"id": "c", "type": "validate", "settings": {"checks": {"ngons": "fail", "holes": "warn"}}},
            ],
            "links": [{"from": {"node": "a", "socket": "files"}, "to": {"node": "c", "socket": "objects"}}],
        }
        with self.assertRaises(SidecarError) as caught:
            form.check_importable(graph)
        message = str(caught.exception)
        for part in (
            "version is 2, and this add-on reads version 1",
            "'extra' is not a field of a pipeline",
            "source node 'a': settings.mode is \"sometimes\", but it takes one of file, objects, collection, collections",
            "nodes[1]: id 'a' is also the id of nodes[0]",
            "node 'Blur' (id b) has an unknown type \"blur\"",
            "validate node 'c': settings.checks.holes is not known here; it takes empty_meshes, missing_textures",
            "links[0]: source node 'a' has no output 'files' (it has objects)",
        ):
            self.assertIn(part, message)

    def test_templates_are_found_beside_the_add_on_or_in_the_checkout(self):
        addon_dir = os.path.join(ROOT, "addon", "blender_sidecar")
        found = form.templates(addon_dir)
        self.assertEqual(
            [(t[0], t[1]) for t in found],
            [("game-asset", "Game asset"), ("turntable", "Turntable"), ("variant-sweep", "Variant sweep")],
        )
        for tid, _name, _desc, path in found:
            form.check_importable(form.read_json(path))

    def test_nodes_without_a_location_are_laid_out_left_to_right(self):
        def link(a, b):
            return {"from": {"node": a, "socket": "objects"}, "to": {"node": b, "socket": "objects"}}

        graph = {
            "nodes": [{"id": i} for i in ("src", "a", "b", "glb")] + [{"id": "kept", "ui": {"location": [5, 6]}}],
            "links": [link("src", "a"), link("src", "b"), link("a", "glb"), link("b", "glb")],
        }
        self.assertEqual(
            form.auto_locations(graph, dx=100, dy=10), {"src": [0, 0], "a": [100, 0], "b": [100, -10], "glb": [200, 0]}
        )
        graph["links"].append(link("glb", "a"))  # a cycle (the sidecar refuses it) still gets every node a place
        placed = form.auto_locations(graph)
        self.assertEqual(len({tuple(p) for p in placed.values()}), 4)

    def test_a_packaged_add_on_finds_the_templates_packed_beside_it(self):
        with tempfile.TemporaryDirectory() as tmp:
            addon_dir = os.path.join(tmp, "blender_sidecar")
            folder = os.path.join(addon_dir, "sidecar", "pipelines", "templates")
            os.makedirs(folder)
            with open(os.path.join(folder, "mine.json"), "w") as f:
                json.dump({"version": 1, "name": "Mine", "nodes": []}, f)
            with open(os.path.join(folder, "broken.json"), "w") as f:
                f.write("{")
            self.assertEqual(form.templates(addon_dir), [("mine", "Mine", "", os.path.join(folder, "mine.json"))])

    def test_the_output_folder_is_what_comes_before_the_first_field(self):
        graph = {"nodes": [{"type": "source"}, {"type": "export", "settings": {"output": "//export/{name}.glb"}}]}
        self.assertEqual(form.output_folder(graph, "/assets"), "/assets/export")
        graph["nodes"][1]["settings"]["output"] = "/out/grid_{variant}.glb"
        self.assertEqual(form.output_folder(graph, "/assets"), "/out")
        self.assertTrue(form.uses_base_dir({"nodes": [{"type": "report", "settings": {"output": "//r.json"}}]}))


class RunsTest(unittest.TestCase):
    def test_node_progress_by_job_and_answers_by_tree(self):
        model = runs.PipelineRuns()
        submit = {"purpose": "submit", "pipeline_tree": "Game asset"}
        nodes = {"validate": {"state": "running", "total": 5, "done": 1}}
        self.assertTrue(model.apply(MsgProgress({"jobId": "j1", "nodes": nodes})))
        self.assertFalse(model.apply(MsgProgress({"jobId": "j2", "done": 1})), "not a pipeline's progress")
        self.assertTrue(model.apply(MsgCallResult("pipeline.submit", {"jobId": "j1"}, context=submit)))
        self.assertEqual(model.take_changed(), {"j1"})
        [event] = model.take_events()
        self.assertEqual((event.tree, event.kind, event.job_id), ("Game asset", "submitted", "j1"))
        report = {"nodes": [{"id": "validate", "state": "failed", "total": 5, "done": 4, "failed": 1}]}
        model.apply(MsgJobState({"jobId": "j1", "state": "failed", "result": report}))
        self.assertEqual(model.nodes["j1"]["validate"]["state"], "failed")
        model.apply(
            MsgJobs([{"id": "j3", "kind": "pipeline", "progress": {"nodes": nodes}}, {"id": "j4", "kind": "render"}])
        )
        self.assertEqual(sorted(model.nodes), ["j1", "j3"])
        errors = [{"field": "nodes[3]", "node": "export", "message": "export node 'export' needs its input"}]
        model.apply(MsgCallResult("pipeline.submit", None, "The sidecar refused ...", {"errors": errors}, submit))
        model.apply(
            MsgCallResult(
                "pipeline.validate",
                {"ok": True, "errors": []},
                context={"purpose": runs.VALIDATE, "pipeline_tree": "T"},
            )
        )
        self.assertFalse(model.apply(MsgCallResult("job.cancel", {}, context={"purpose": "cancel"})))
        refused, validated = model.take_events()
        self.assertEqual((refused.kind, refused.errors, refused.error), ("refused", errors, "The sidecar refused ..."))
        self.assertEqual((validated.tree, validated.kind, validated.errors), ("T", "validated", []))

    def test_a_nodes_progress_in_one_line(self):
        p = {"state": "failed", "total": 5, "done": 4, "running": 0, "failed": 1, "skipped": 0, "warnings": 3}
        self.assertEqual(runs.progress_text(p), "Failed 4/5, 1 failed, 3 warnings")
        self.assertEqual(
            runs.progress_text({"state": "running", "total": 5, "done": 1, "running": 2}), "Running 1/5, 2 running"
        )
        self.assertEqual(runs.progress_text({"state": "waiting", "total": 0}), "Waiting")
        self.assertEqual(runs.progress_text({}, "invalid"), "Invalid")

    def test_no_module_here_imports_bpy(self):
        self.assertNotIn("bpy", sys.modules)
        json.dumps(form.EXPORT_FORMATS)


class TablesTest(unittest.TestCase):
    """The editor's node types, settings and choices are the sidecar's (tables.json, made from its own tables)."""

    def setUp(self):
        with open(os.path.join(ROOT, "addon", "blender_sidecar", "tables.json"), encoding="utf-8") as f:
            self.tables = json.load(f)

    def test_the_node_types_and_their_sockets_are_the_sidecars(self):
        self.assertEqual([t.type for t in form.NODE_TYPES], [t["type"] for t in self.tables["nodeTypes"]])
        for node_type, spec in zip(form.NODE_TYPES, self.tables["nodeTypes"]):
            self.assertEqual(node_type.title, spec["title"])
            self.assertEqual([s[0] for s in node_type.inputs], [s["name"] for s in spec["inputs"]])
            self.assertEqual([s[0] for s in node_type.outputs], [s["name"] for s in spec["outputs"]])

    def test_every_setting_of_the_sidecar_has_a_field_made_for_it_and_no_other(self):
        for spec in self.tables["nodeTypes"]:
            schema = {path for path, _prop, _required in catalog.schema_settings(spec["settings"])}
            named = {f.path for f in fields.FIELDS[spec["type"]]}
            self.assertEqual(named, schema, spec["type"])
            self.assertEqual({s.path for s in form.BY_TYPE[spec["type"]].settings}, schema, spec["type"])

    def test_defaults_required_and_choices_come_from_the_sidecars_schema(self):
        for spec in self.tables["nodeTypes"]:
            for path, prop, required in catalog.schema_settings(spec["settings"]):
                setting = form.BY_TYPE[spec["type"]].setting(".".join(path))
                where = "{} {}".format(spec["type"], setting.key)
                self.assertEqual(setting.required, required, where)
                if "default" in prop:
                    self.assertEqual(setting.default, prop["default"], where)
                if "enum" in prop:
                    self.assertEqual([i[0] for i in setting.items], prop["enum"], where)

    def test_formats_are_the_tables(self):
        formats = [f["format"] for f in self.tables["exportFormats"]]
        self.assertEqual([i[0] for i in form.BY_TYPE["export"].setting("format").items], formats)
        self.assertEqual([i[0] for i in tables.EXPORT_FORMAT_ITEMS], formats)
        self.assertEqual(tables.EXPORT_EXTENSIONS["usd"], self.tables["exportFormats"][4]["extensions"][0])
        image = form.BY_TYPE["render"].setting("format")
        self.assertEqual([i[0] for i in image.items], [f["format"] for f in self.tables["imageFormats"]])
        self.assertEqual(form.from_json("render node 'r'", image, "exr"), "OPEN_EXR")
        with self.assertRaises(SidecarError) as caught:
            form.from_json("render node 'r'", image, "gif")
        self.assertIn('settings.format is "gif", but it takes one of PNG, JPEG, OPEN_EXR', str(caught.exception))

    def test_a_setting_the_editor_does_not_name_still_gets_a_field_from_its_schema(self):
        field = fields.from_schema(("maxRayDistance",), {"type": "number", "minimum": 0, "description": "How far."})
        self.assertEqual(
            (field.kind, field.label, field.prop, field.limits),
            ("number", "Max Ray Distance", "maxRayDistance", {"min": 0}),
        )
        field = fields.from_schema(("checks", "ngons"), {"enum": ["fail", "warn", "off"]})
        self.assertEqual((field.kind, field.label, field.prop), ("enum", "Ngons", "checks_ngons"))
        setting = catalog.Setting(field, {"enum": ["fail", "warn", "off"], "default": "warn"}, False)
        self.assertEqual(setting.items[0], ("fail", "Fail", ""))
        self.assertEqual(setting.default, "warn")


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=1).result
    if result.wasSuccessful():
        print("OK")
    sys.exit(0 if result.wasSuccessful() else 1)
