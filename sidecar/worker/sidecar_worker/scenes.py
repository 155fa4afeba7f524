"""Finding the scene and camera a task names, with errors that list what the file has."""
import bpy

from .errors import TaskInputError


def scene_named(name):
    if not name:
        return bpy.context.scene
    scene = bpy.data.scenes.get(name)
    if scene is None:
        raise TaskInputError(
            "the file has no scene named %r; its scenes: %s" % (name, ", ".join(s.name for s in bpy.data.scenes))
        )
    return scene


def use_camera(scene, name):
    if not name:
        if scene.camera is None:
            raise TaskInputError("scene %r has no active camera; name one with camera" % scene.name)
        return
    obj = bpy.data.objects.get(name)
    if obj is None or obj.type != "CAMERA":
        cameras = [o.name for o in bpy.data.objects if o.type == "CAMERA"]
        raise TaskInputError("the file has no camera named %r; its cameras: %s" % (name, ", ".join(cameras) or "none"))
    scene.camera = obj
