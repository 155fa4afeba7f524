"""Geometry Nodes simulation and Bake node caches, baked to disk in a worker (Blender 4.1 and later).

Each Geometry Nodes modifier holding bakes (simulation zones, Bake nodes) is pointed at a folder the sidecar gives
(its bake target set to disk) and baked with Blender's own "Bake All" for the object. Blender writes one folder per
bake (named by its bake id) holding `meta/` (one JSON per frame) and `blobs/`. A running Blender reads such a folder
as soon as its modifier's bake folder points there, which is how the add-on brings the result back.
"""
import os

import bpy

from .errors import TaskInputError


def supported():
    """Whether this Blender has simulation zones (4.0+) and per-modifier bakes to disk."""
    return hasattr(bpy.types, "GeometryNodeSimulationInput") and hasattr(bpy.types, "NodesModifierBake")


def _bake_modifiers(obj):
    return [
        m for m in obj.modifiers if m.type == "NODES" and m.node_group is not None and len(getattr(m, "bakes", ())) > 0
    ]


def plan(task):
    """The objects to bake: those named (each must hold a simulation or Bake node), or every object that holds one."""
    if not supported():
        raise TaskInputError("Blender %s has no simulation zones or Bake nodes to bake" % bpy.app.version_string)
    names = task.get("objects")
    if not names:
        found = sorted(o.name for o in bpy.data.objects if _bake_modifiers(o))
        if not found:
            raise TaskInputError("no object of the file has a Geometry Nodes simulation zone or Bake node to bake")
        return {"objects": found}
    problems = []
    for name in names:
        obj = bpy.data.objects.get(name)
        if obj is None:
            problems.append("the file has no object named %r" % name)
        elif not _bake_modifiers(obj):
            problems.append("%r has no Geometry Nodes modifier with a simulation zone or Bake node" % name)
    if problems:
        raise TaskInputError("; ".join(problems))
    return {"objects": list(names)}


def _folder_name(modifier_name):
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in modifier_name)


def bake_object(task):
    """Bakes every simulation and Bake node of one object into `task["directory"]/<modifier>/<bake id>/`."""
    if not supported():
        raise TaskInputError("Blender %s has no simulation zones or Bake nodes to bake" % bpy.app.version_string)
    obj = bpy.data.objects.get(task["object"])
    if obj is None:
        raise TaskInputError("the file has no object named %r" % task["object"])
    modifiers = _bake_modifiers(obj)
    if not modifiers:
        raise TaskInputError("%r has no Geometry Nodes modifier with a simulation zone or Bake node" % obj.name)
    scene = bpy.context.scene
    start, end = task.get("frameStart"), task.get("frameEnd")
    for mod in modifiers:
        mod.bake_directory = os.path.join(task["directory"], _folder_name(mod.name)) + os.sep
        mod.bake_target = "DISK"
        for bake in mod.bakes:
            bake.bake_target = "INHERIT"
            bake.use_custom_path = False
            if start is not None and end is not None:
                bake.use_custom_simulation_frame_range = True
                bake.frame_start, bake.frame_end = int(start), int(end)
    view_layer = bpy.context.view_layer
    if view_layer.objects.get(obj.name) is None:
        raise TaskInputError("cannot bake %r: it is not in the view layer %r" % (obj.name, view_layer.name))
    for o in view_layer.objects:
        o.select_set(False)
    obj.select_set(True)
    view_layer.objects.active = obj
    with bpy.context.temp_override(object=obj, active_object=obj, selected_objects=[obj]):
        result = bpy.ops.object.simulation_nodes_cache_bake(selected=True)
    if "FINISHED" not in result:
        raise RuntimeError("Blender did not finish baking %r (%s)" % (obj.name, ", ".join(result)))
    baked = []
    for mod in modifiers:
        folder = bpy.path.abspath(mod.bake_directory)
        bakes = []
        for bake in mod.bakes:
            meta = os.path.join(folder, str(bake.bake_id), "meta")
            frames = len([n for n in os.listdir(meta) if n.endswith(".json")]) if os.path.isdir(meta) else 0
            bakes.append(
                {
                    "bakeId": bake.bake_id,
                    "frames": frames,
                    "node": getattr(bake.node, "name", None) if getattr(bake, "node", None) else None,
                }
            )
        baked.append({"modifier": mod.name, "folder": _folder_name(mod.name), "bakes": bakes})
    return {"object": obj.name, "sceneFrames": [scene.frame_start, scene.frame_end], "modifiers": baked}
