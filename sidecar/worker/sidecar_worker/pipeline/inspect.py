"""What a pipeline needs to know about a file before it plans: the active scene's frames and camera, its collections
(which ones sit directly under the scene's own collection), its objects, and its Geometry Nodes modifiers' inputs."""
import bpy

from .. import gn_inputs


def _collections(scene):
    out, seen = [], set()

    def walk(parent, top):
        for child in parent.children:
            if child.name in seen:
                continue
            seen.add(child.name)
            out.append({"name": child.name, "objects": len(child.all_objects), "top": top})
            walk(child, False)

    walk(scene.collection, True)
    return out


def _modifiers(scene):
    out = []
    for obj in scene.objects:
        for mod in obj.modifiers:
            if mod.type != "NODES" or mod.node_group is None:
                continue
            inputs = [
                {"name": n, "type": gn_inputs.socket_kind(t)} for n, _i, t in gn_inputs.group_inputs(mod.node_group)
            ]
            out.append({"object": obj.name, "modifier": mod.name, "inputs": inputs})
    return out


def inspect_file(task):
    scene = bpy.context.scene
    view_layer = bpy.context.view_layer
    return {
        "scene": scene.name,
        "frameStart": scene.frame_start,
        "frameEnd": scene.frame_end,
        "frameStep": scene.frame_step,
        "fps": scene.render.fps / scene.render.fps_base,
        "camera": scene.camera.name if scene.camera else None,
        "cameras": [o.name for o in bpy.data.objects if o.type == "CAMERA"],
        "collections": _collections(scene),
        "objects": [
            {"name": o.name, "type": o.type, "inViewLayer": view_layer.objects.get(o.name) is not None}
            for o in scene.objects
        ],
        "modifiers": _modifiers(scene),
    }
