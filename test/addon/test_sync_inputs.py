"""The add-on's Geometry Nodes input access (sync/inputs.py, sync/values.py) inside real Blender: every sync type read
and written by name on this Blender's input API (3.x ID properties, 4.x, 5.x `mod.properties.inputs`), checked
against the modifier itself and against what the depsgraph evaluates. No sidecar.

    blender -b --factory-startup --python-exit-code 1 --python test/addon/test_sync_inputs.py
"""

import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bpy  # noqa: E402

import harness  # noqa: E402

sys.path.insert(0, os.path.join(harness.ROOT, "sidecar", "worker"))
from sidecar_worker import gn_build  # noqa: E402

SOCKETS = (
    ("Flag", "NodeSocketBool", "bool"),
    ("Offset", "NodeSocketVector", "vector"),
    ("Tint", "NodeSocketColor", "color"),
    ("Label", "NodeSocketString", "string"),
    ("Target", "NodeSocketObject", "object"),
    ("Mat", "NodeSocketMaterial", "material"),
    ("Coll", "NodeSocketCollection", "collection"),
)


def raw(mod, name):
    """The value as the modifier holds it, looked up without the add-on."""
    group = mod.node_group
    if hasattr(group, "interface"):
        items = [i for i in group.interface.items_tree if getattr(i, "item_type", "") == "SOCKET"]
        items = [i for i in items if i.in_out == "INPUT"]
    else:
        items = list(group.inputs)
    ident = next(i.identifier for i in items if i.name == name)
    if hasattr(mod, "properties") and hasattr(mod.properties, "inputs"):
        return getattr(mod.properties.inputs, ident).value
    return mod[ident]


class InputsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.addon = harness.Addon()
        cls.addon.enable()
        cls.inputs = cls.addon.sub("sync.inputs")
        bpy.ops.mesh.primitive_plane_add(size=1)
        cls.obj = bpy.context.active_object
        cls.obj.name = "Grid"
        cls.mod = gn_build.add_grid_modifier(cls.obj)
        for name, socket_type, _kind in SOCKETS:
            gn_build._new_socket(cls.mod.node_group, name, "INPUT", socket_type)
        bpy.context.view_layer.update()
        cls.material = bpy.data.materials.new("Steel")
        cls.collection = bpy.data.collections.new("Props")

    @classmethod
    def tearDownClass(cls):
        cls.addon.remove()

    def inp(self, name):
        return next(i for i in self.inputs.inputs(self.mod) if i.name == name)

    def evaluated_verts(self):
        bpy.context.view_layer.update()
        return len(self.obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).data.vertices)

    def test_inputs_by_name_with_their_sync_types(self):
        found = [(i.name, i.kind) for i in self.inputs.inputs(self.mod)]
        expected = [("Count", "int"), ("Spacing", "float"), ("Cube Size", "float")] + [(n, k) for n, _s, k in SOCKETS]
        self.assertEqual(found, expected, "the geometry input is left out, the others keep the group's order")

    def test_numbers(self):
        write, read = self.inputs.write, self.inputs.read
        write(self.mod, self.inp("Count"), "int", 4)
        self.assertEqual((read(self.mod, self.inp("Count")), raw(self.mod, "Count")), (4, 4))
        self.assertEqual(self.evaluated_verts(), 4 * 4 * 8, "the object was tagged and evaluated again")
        write(self.mod, self.inp("Count"), "float", 2.6)  # numbers cross types: rounded for an int socket
        self.assertEqual(read(self.mod, self.inp("Count")), 3)
        write(self.mod, self.inp("Spacing"), "float", 0.1)
        self.assertEqual(read(self.mod, self.inp("Spacing")), 0.1, "read back as 0.1, not 0.10000000149")
        self.assertAlmostEqual(raw(self.mod, "Spacing"), 0.1, places=6)
        write(self.mod, self.inp("Cube Size"), "int", 2)
        self.assertEqual(read(self.mod, self.inp("Cube Size")), 2.0)
        self.assertEqual(self.evaluated_verts(), 3 * 3 * 8)

    def test_bool_vector_color_string(self):
        write, read = self.inputs.write, self.inputs.read
        write(self.mod, self.inp("Flag"), "bool", True)
        self.assertIs(read(self.mod, self.inp("Flag")), True)
        self.assertTrue(raw(self.mod, "Flag"))
        write(self.mod, self.inp("Offset"), "vector", [0, 0.5, 1.5])
        self.assertEqual(read(self.mod, self.inp("Offset")), [0.0, 0.5, 1.5])
        write(self.mod, self.inp("Offset"), "vector", [1, 2])  # fitted to the socket's 3 items
        self.assertEqual(read(self.mod, self.inp("Offset")), [1.0, 2.0, 0.0])
        write(self.mod, self.inp("Tint"), "color", [1, 0.5, 0.25])  # RGB gets an opaque alpha
        self.assertEqual(read(self.mod, self.inp("Tint")), [1.0, 0.5, 0.25, 1.0])
        write(self.mod, self.inp("Label"), "string", "héllo")
        self.assertEqual(read(self.mod, self.inp("Label")), "héllo")
        stored = raw(self.mod, "Offset")
        if hasattr(stored, "typecode"):  # an ID property array (3.x, 4.x): the modifier refuses a double array
            self.assertEqual(stored.typecode, "f")

    def test_references_by_name(self):
        write, read = self.inputs.write, self.inputs.read
        write(self.mod, self.inp("Mat"), "material", "Steel")
        self.assertEqual(read(self.mod, self.inp("Mat")), "Steel")
        self.assertEqual(raw(self.mod, "Mat"), self.material)
        write(self.mod, self.inp("Coll"), "collection", "Props")
        self.assertEqual(read(self.mod, self.inp("Coll")), "Props")
        write(self.mod, self.inp("Target"), "object", "Grid")
        self.assertEqual(read(self.mod, self.inp("Target")), "Grid")
        write(self.mod, self.inp("Mat"), "material", None)
        self.assertIsNone(read(self.mod, self.inp("Mat")))
        with self.assertRaisesRegex(ValueError, "there is no material named 'Gold' in this file"):
            write(self.mod, self.inp("Mat"), "material", "Gold")
        with self.assertRaisesRegex(ValueError, "the channel holds a string value .* this input takes material values"):
            write(self.mod, self.inp("Mat"), "string", "Steel")


def main():
    mode = harness.default_mode()
    print("sync input tests on Blender {} ({} add-on)".format(bpy.app.version_string, mode), flush=True)
    suite = unittest.TestLoader().loadTestsFromTestCase(InputsTest)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    if code:
        sys.exit(code)
