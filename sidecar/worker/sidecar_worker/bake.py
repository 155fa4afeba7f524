"""Texture bakes: one object's maps, baked with Cycles into images that the sidecar checks and puts in place.

The worker changes only its own copy of the file: for each material of the target it adds an Image Texture node
holding the target image and makes it the active node (that is where Cycles bakes to), bakes one map after the
other, saves each image into the staging folder the sidecar gave, then removes what it added, so the next task of the
same job finds the file as it was opened.

Each image starts transparent (and is not cleared by the bake); a baked pixel has alpha 1. The share of pixels the
bake wrote (its coverage) is reported with the map, so the sidecar can refuse a blank map (the UVs missed the image,
the cage missed the source).
"""
import os

import bpy

from .errors import TaskInputError
from .tables import BAKE_IMAGE_FORMATS

# Maps whose pixels are data, not colour: they are stored without a colour transform unless asked otherwise.
DATA_MAPS = {"normal", "position", "uv", "roughness", "ao", "shadow"}
# Light-path maps that a game asset wants as plain surface colour, not as lit colour.
COLOUR_ONLY = {"diffuse", "glossy", "transmission"}


def safe_name(name):
    """An object name as a file name (as the sidecar's {object} does)."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def bake_types():
    """The bake types this Blender's Cycles offers, lower case (what `sidecar.info` lists)."""
    prop = bpy.ops.object.bake.get_rna_type().properties["type"]
    return [e.identifier.lower() for e in prop.enum_items]


def _object(name, role):
    obj = bpy.data.objects.get(name)
    if obj is None:
        known = ", ".join(sorted(o.name for o in bpy.data.objects if o.type == "MESH")[:20]) or "none"
        raise TaskInputError("the file has no object named %r (%s); its mesh objects include: %s" % (name, role, known))
    if obj.type != "MESH":
        raise TaskInputError("%r is a %s, not a mesh: only meshes can be baked (%s)" % (name, obj.type.lower(), role))
    return obj


def check_target(obj):
    """Why this object cannot be a bake target, or None."""
    if obj.type != "MESH":
        return "%r is a %s, not a mesh: only meshes can be baked" % (obj.name, obj.type.lower())
    if not obj.data.uv_layers:
        return (
            "%r has no UV map: unwrap it (UV > Unwrap) or add one before baking, the maps are laid out by its UVs"
            % obj.name
        )
    if not obj.data.polygons:
        return "%r has no faces to bake" % obj.name
    return None


def plan(task):
    """The targets of a bake (named objects, or the meshes of a collection), each checked; one sentence per problem."""
    names = task.get("objects")
    if task.get("collection"):
        coll = bpy.data.collections.get(task["collection"])
        if coll is None:
            known = ", ".join(sorted(c.name for c in bpy.data.collections)) or "none"
            raise TaskInputError(
                "the file has no collection named %r; its collections: %s" % (task["collection"], known)
            )
        sources = set((task.get("selectedToActive") or {}).get("sources") or [])
        names = [o.name for o in coll.all_objects if o.type == "MESH" and o.name not in sources]
        if not names:
            raise TaskInputError("collection %r holds no mesh objects to bake" % task["collection"])
    problems = []
    for name in names:
        obj = bpy.data.objects.get(name)
        problem = "the file has no object named %r" % name if obj is None else check_target(obj)
        if problem:
            problems.append(problem)
    s2a = task.get("selectedToActive") or {}
    for name in list(s2a.get("sources") or []) + ([s2a["cage"]] if s2a.get("cage") else []):
        if bpy.data.objects.get(name) is None:
            problems.append("the file has no object named %r (a selectedToActive source or cage)" % name)
    if problems:
        raise TaskInputError("; ".join(problems))
    return {"objects": names}


def _prepare_scene(scene, task):
    scene.render.engine = "CYCLES"
    if task.get("samples"):
        scene.cycles.samples = int(task["samples"])
    if task.get("device"):
        scene.cycles.device = task["device"]
    # A denoiser is not part of a bake, but Debian's Blender is built without OpenImageDenoise: keep it off.
    if hasattr(scene.cycles, "use_denoising"):
        scene.cycles.use_denoising = False


class _StandInMaterial:
    """A plain material in every empty slot of the target (Cycles bakes only faces whose material holds the target
    image), taken out again afterwards, so the next task of the job finds the file as it was."""

    def __init__(self, obj):
        self.obj = obj
        self.appended = not obj.material_slots
        if self.appended:
            obj.data.materials.append(None)
        self.filled = [i for i, slot in enumerate(obj.material_slots) if slot.material is None]
        self.material = None
        if self.filled:
            self.material = bpy.data.materials.new("SidecarBake")
            self.material.use_nodes = True
            for i in self.filled:
                obj.material_slots[i].material = self.material

    def materials(self):
        """The target's materials, each once, node-based."""
        mats = []
        for slot in self.obj.material_slots:
            if slot.material is not None and slot.material not in mats:
                slot.material.use_nodes = True
                mats.append(slot.material)
        return mats

    def remove(self):
        for i in self.filled:
            self.obj.material_slots[i].material = None
        if self.appended:
            self.obj.data.materials.clear()  # it had none (pop() leaves the object's slot count behind)
        if self.material is not None:
            bpy.data.materials.remove(self.material)


class _BakeTargets:
    """The image nodes added to each material (and removed again), all pointing at the image being baked."""

    def __init__(self, materials):
        self.nodes = []
        for mat in materials:
            tree = mat.node_tree
            node = tree.nodes.new("ShaderNodeTexImage")
            node.name = node.label = "Sidecar bake target"
            for other in tree.nodes:
                other.select = False
            node.select = True
            tree.nodes.active = node
            self.nodes.append((tree, node))

    def point_at(self, image):
        for _tree, node in self.nodes:
            node.image = image

    def remove(self):
        for tree, node in self.nodes:
            tree.nodes.remove(node)
        self.nodes = []


def _new_image(obj, spec):
    size = spec["size"]
    ext = os.path.splitext(spec["path"])[1].lower()
    float_buffer = ext in (".exr", ".tif", ".tiff")
    image = bpy.data.images.new(
        "sidecar_%s_%s" % (obj.name, spec["type"]), width=size, height=size, alpha=True, float_buffer=float_buffer
    )
    colour = spec.get("colorSpace") or ("Non-Color" if spec["type"] in DATA_MAPS else "sRGB")
    try:
        image.colorspace_settings.name = colour
    except TypeError:
        known = [i.identifier for i in image.colorspace_settings.bl_rna.properties["name"].enum_items]
        bpy.data.images.remove(image)
        raise TaskInputError("colorSpace %r is not one this Blender knows; it knows: %s" % (colour, ", ".join(known)))
    # The colour Blender's own "Clear Image" would fill with, but transparent: the bake runs without clearing, so
    # a pixel still transparent afterwards is one it never wrote (Blender clears data images to opaque, which would
    # hide a blank bake), and the map's pixels match a bake done by hand wherever it wrote.
    image.generated_color = (0.5, 0.5, 1.0, 0.0) if spec["type"] == "normal" else (0.0, 0.0, 0.0, 0.0)
    return image


def _coverage(image):
    """Share of pixels the bake wrote (alpha above zero), and the range of their colour values."""
    count = image.size[0] * image.size[1]
    try:
        import numpy

        px = numpy.empty(count * 4, dtype=numpy.float32)
        image.pixels.foreach_get(px)
        px = px.reshape(count, 4)
        written = px[px[:, 3] > 0.0]
        if len(written) == 0:
            return {"coverage": 0.0, "min": 0.0, "max": 0.0}
        rgb = written[:, :3]
        return {"coverage": len(written) / count, "min": float(rgb.min()), "max": float(rgb.max())}
    except ImportError:
        px = list(image.pixels)
        alphas = px[3::4]
        written = sum(1 for a in alphas if a > 0.0)
        values = [v for i, v in enumerate(px) if i % 4 != 3 and px[i - i % 4 + 3] > 0.0]
        return {"coverage": written / count, "min": min(values, default=0.0), "max": max(values, default=0.0)}


def _bake_kwargs(spec, task):
    kind = spec["type"].upper()
    kwargs = {"type": kind, "margin": int(spec.get("margin", 16)), "use_clear": False, "target": "IMAGE_TEXTURES"}
    if spec["type"] in COLOUR_ONLY:
        kwargs["pass_filter"] = {"COLOR"}
    s2a = task.get("selectedToActive")
    if s2a:
        kwargs["use_selected_to_active"] = True
        kwargs["cage_extrusion"] = float(s2a.get("extrusion", 0.0))
        kwargs["max_ray_distance"] = float(s2a.get("maxRayDistance", 0.0))
        if s2a.get("cage"):
            kwargs["use_cage"] = True
            kwargs["cage_object"] = s2a["cage"]
    return kwargs


def _select_for_bake(target, sources):
    view_layer = bpy.context.view_layer
    for o in view_layer.objects:
        o.select_set(False)
    for o in [target] + sources:
        if view_layer.objects.get(o.name) is None:
            raise TaskInputError(
                "cannot bake %r: it is not in the view layer %r (excluded or hidden collection)"
                % (o.name, view_layer.name)
            )
        o.hide_set(False)
        o.hide_render = False
        o.select_set(True)
    view_layer.objects.active = target


def bake_object(task):
    """Bakes every map of one target object; returns what was written, with each map's coverage and value range."""
    scene_name = task.get("scene")
    if not scene_name or scene_name == bpy.context.scene.name:
        return _bake_object(bpy.context.scene, task)
    scene = bpy.data.scenes.get(scene_name)
    if scene is None:
        raise TaskInputError(
            "the file has no scene named %r; its scenes: %s" % (scene_name, ", ".join(s.name for s in bpy.data.scenes))
        )
    # The bake operator reads the scene and view layer from the context: point it at the asked-for scene.
    with bpy.context.temp_override(scene=scene, view_layer=scene.view_layers[0]):
        return _bake_object(scene, task)


def _bake_object(scene, task):
    target = _object(task["object"], "the bake target")
    problem = check_target(target)
    if problem:
        raise TaskInputError(problem)
    s2a = task.get("selectedToActive") or {}
    sources = [_object(n, "a selectedToActive source") for n in s2a.get("sources") or [] if n != target.name]
    if s2a.get("cage"):
        _object(s2a["cage"], "the cage")
    _prepare_scene(scene, task)
    _select_for_bake(target, sources)
    stand_in = _StandInMaterial(target)
    targets = _BakeTargets(stand_in.materials())
    maps = []
    try:
        for spec in task["maps"]:
            maps.append(_bake_one(target, spec, targets, task))
    finally:
        targets.remove()
        stand_in.remove()
    return {"object": target.name, "maps": maps}


def _bake_one(target, spec, targets, task):
    image = _new_image(target, spec)
    try:
        targets.point_at(image)
        try:
            result = bpy.ops.object.bake(**_bake_kwargs(spec, task))
        except RuntimeError as err:
            # Cycles refuses with a sentence of its own (no UVs, a circular image reference, nothing selected).
            reason = str(err).strip().splitlines()[-1] if str(err).strip() else "no reason given"
            raise TaskInputError("Blender refused the %s bake of %r: %s" % (spec["type"], target.name, reason)) from err
        if "FINISHED" not in result:
            raise RuntimeError(
                "Cycles did not finish the %s bake of %r (%s)" % (spec["type"], target.name, ", ".join(result))
            )
        stats = _coverage(image)
        path = spec["path"]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        ext = os.path.splitext(path)[1].lower()
        image.filepath_raw = path
        image.file_format = BAKE_IMAGE_FORMATS.get(ext, "PNG")
        image.save()
        return dict(stats, type=spec["type"], path=path, width=image.size[0], height=image.size[1])
    finally:
        targets.point_at(None)
        bpy.data.images.remove(image)
