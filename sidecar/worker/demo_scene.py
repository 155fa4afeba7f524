"""The demo scene `npm start` renders and exports: blender -b --factory-startup --python demo_scene.py -- OUT.blend

A Geometry Nodes grid of cubes that turns over the frames, a ground plane, a camera and a sun: small enough to render
in seconds on two cores with Cycles at a few samples."""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bpy  # noqa: E402

from sidecar_worker import gn_build  # noqa: E402

out = sys.argv[sys.argv.index("--") + 1]
frames = int(sys.argv[sys.argv.index("--") + 2]) if len(sys.argv) > sys.argv.index("--") + 2 else 12

bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.name = "Demo"
scene.frame_start, scene.frame_end = 1, frames
scene.render.engine = "CYCLES"
scene.cycles.samples = 8
scene.cycles.use_denoising = False
scene.cycles.seed = 1
scene.render.resolution_x, scene.render.resolution_y = 320, 180
scene.render.image_settings.file_format = "PNG"

bpy.ops.mesh.primitive_plane_add(size=30, location=(0, 0, -0.5))
ground = bpy.context.active_object
ground.name = "Ground"
ground_mat = bpy.data.materials.new("GroundMaterial")
ground_mat.diffuse_color = (0.2, 0.22, 0.25, 1.0)
ground.data.materials.append(ground_mat)

bpy.ops.mesh.primitive_plane_add(size=1, location=(0, 0, 0))
grid = bpy.context.active_object
grid.name = "CubeGrid"
grid_mat = bpy.data.materials.new("CubeMaterial")
grid_mat.use_nodes = True
bsdf = grid_mat.node_tree.nodes.get("Principled BSDF")
if bsdf is not None:
    bsdf.inputs["Base Color"].default_value = (0.9, 0.45, 0.1, 1.0)
grid.data.materials.append(grid_mat)
mod = gn_build.add_grid_modifier(grid, material=grid_mat)
grid.rotation_euler = (0, 0, 0)
grid.keyframe_insert("rotation_euler", frame=1)
grid.rotation_euler = (0, 0, math.pi / 2)
grid.keyframe_insert("rotation_euler", frame=frames)

bpy.ops.object.camera_add(location=(9, -9, 7), rotation=(math.radians(60), 0, math.radians(45)))
scene.camera = bpy.context.active_object
bpy.ops.object.light_add(type="SUN", location=(4, -2, 8))
bpy.context.active_object.data.energy = 5.0

world = bpy.data.worlds.new("DemoWorld")
world.color = (0.35, 0.4, 0.5)
scene.world = world

bpy.ops.wm.save_as_mainfile(filepath=out)
