"""A turntable: a camera made for the task that orbits the branch's objects, framing them whole.

It exists only while one frame renders (`Turntable.remove` runs after it, whatever happened), so nothing of it can leak
into a later task that saves, exports or renders the same open file: the artist's file never holds it.
"""
import math

import bpy
from mathutils import Matrix, Vector

from .errors import TaskInputError
from .pipeline import scope as pipeline_scope

NAME = "SidecarTurntable"
# Object types that show up in a render by themselves (lights and cameras do not; empties only through instancing).
RENDERABLE = {"MESH", "CURVE", "SURFACE", "META", "FONT", "VOLUME", "GPENCIL", "GREASEPENCIL", "CURVES", "POINTCLOUD"}
# How much room is left around the objects' bounding sphere.
MARGIN = 1.08


class Turntable(object):
    def __init__(self, scene, scope):
        objs = pipeline_scope.objects_in_scope(scope or {})
        shown = [o for o in objs if _renders(o)]
        if not shown:
            raise TaskInputError(
                "a turntable needs something to look at, but the branch has no renderable objects (%s)"
                % (", ".join(sorted(o.name for o in objs)) or "no objects at all")
            )
        self.scene = scene
        self.center, self.radius = _bounding_sphere(shown)
        keep = set(o.name for o in shown)
        self.hidden = [o for o in scene.objects if _renders(o) and o.name not in keep and not o.hide_render]
        for o in self.hidden:
            o.hide_render = True
        self.previous_camera = scene.camera
        data = bpy.data.cameras.new(NAME)
        self.camera = bpy.data.objects.new(NAME, data)
        scene.collection.objects.link(self.camera)
        scene.camera = self.camera
        self.distance = self.radius * MARGIN / math.sin(_narrowest_fov(scene, data) / 2)
        data.clip_start = max(1e-3, (self.distance - self.radius) * 0.5)
        data.clip_end = self.distance + self.radius * 2 + 1.0

    def place(self, orbit, frame):
        """Puts the camera where `orbit` ({first, span, turns, elevation} in degrees) has it on `frame`: the first
        frame looks at the objects from the front (-Y), later ones go round counter-clockwise seen from above."""
        angle = 2 * math.pi * orbit["turns"] * (frame - orbit["first"]) / orbit["span"]
        up = math.radians(orbit["elevation"])
        offset = Vector((math.sin(angle) * math.cos(up), -math.cos(angle) * math.cos(up), math.sin(up)))
        self.camera.location = self.center + offset * self.distance
        self.camera.rotation_mode = "QUATERNION"
        self.camera.rotation_quaternion = (-offset).to_track_quat("-Z", "Y")
        bpy.context.view_layer.update()

    def remove(self):
        for o in self.hidden:
            o.hide_render = False
        self.scene.camera = self.previous_camera
        data = self.camera.data
        bpy.data.objects.remove(self.camera)
        bpy.data.cameras.remove(data)


def _renders(obj):
    if obj.type in RENDERABLE:
        return True
    return obj.type == "EMPTY" and obj.instance_type == "COLLECTION" and obj.instance_collection is not None


def _corners(obj, depsgraph):
    """The world-space corners of what `obj` shows (an instancing empty: of the collection it instances)."""
    if obj.type == "EMPTY":
        coll = obj.instance_collection
        offset = obj.matrix_world @ Matrix.Translation(-coll.instance_offset)
        return [offset @ c for o in coll.all_objects if o.type in RENDERABLE for c in _corners(o, depsgraph)]
    evaluated = obj.evaluated_get(depsgraph)
    return [evaluated.matrix_world @ Vector(c) for c in evaluated.bound_box]


def _bounding_sphere(objs):
    depsgraph = bpy.context.evaluated_depsgraph_get()
    corners = [c for o in objs for c in _corners(o, depsgraph)]
    if not corners:
        raise TaskInputError(
            "a turntable needs something to look at, but the branch's objects (%s) hold no geometry to frame "
            "(an instanced collection that is empty, or whose library is missing?)"
            % ", ".join(sorted(o.name for o in objs))
        )
    low = Vector((min(c.x for c in corners), min(c.y for c in corners), min(c.z for c in corners)))
    high = Vector((max(c.x for c in corners), max(c.y for c in corners), max(c.z for c in corners)))
    center = (low + high) / 2
    radius = max((c - center).length for c in corners)
    return center, max(radius, 1e-3)


def _narrowest_fov(scene, camera_data):
    """The camera's smaller field of view (width or height of the picture), in radians."""
    render = scene.render
    width = render.resolution_x * render.pixel_aspect_x
    height = render.resolution_y * render.pixel_aspect_y
    wide = camera_data.angle  # with sensor fit AUTO: across the longer side
    return 2 * math.atan(math.tan(wide / 2) * min(width, height) / max(width, height))
