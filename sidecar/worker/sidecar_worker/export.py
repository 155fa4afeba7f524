"""Export tasks: one item (objects, a collection, or the whole scene) written in one format.

The exporter writes into a private temporary folder (given by the sidecar); the sidecar checks what arrived and moves
it into place, so a multi-file format (glTF + .bin, OBJ + .mtl) is never half there.
"""
import os

import bpy

from . import formats
from .errors import TaskInputError


def _objects_in_scope(item):
    view_layer = bpy.context.view_layer
    names = item.get("objects")
    collection_name = item.get("collection")
    if names:
        missing = [n for n in names if n not in bpy.data.objects]
        if missing:
            known = ", ".join(sorted(o.name for o in bpy.data.objects)[:20])
            raise TaskInputError(
                "the file has no object named %s; its objects include: %s"
                % (", ".join(repr(m) for m in missing), known)
            )
        objs = [bpy.data.objects[n] for n in names]
    elif collection_name:
        coll = bpy.data.collections.get(collection_name)
        if coll is None:
            known = ", ".join(sorted(c.name for c in bpy.data.collections)) or "none"
            raise TaskInputError("the file has no collection named %r; its collections: %s" % (collection_name, known))
        objs = list(coll.all_objects)
        if not objs:
            raise TaskInputError("nothing to export: collection %r has no objects" % collection_name)
    else:
        return None
    not_in_layer = [o.name for o in objs if view_layer.objects.get(o.name) is None]
    if not_in_layer:
        raise TaskInputError(
            "cannot export %s: not in the view layer %r (excluded or hidden collection)"
            % (", ".join(not_in_layer), view_layer.name)
        )
    return objs


def _select(objs):
    view_layer = bpy.context.view_layer
    for o in view_layer.objects:
        o.select_set(False)
    for o in objs:
        o.hide_set(False)
        o.select_set(True)
    view_layer.objects.active = objs[0]


def _count(objs, apply_modifiers):
    depsgraph = bpy.context.evaluated_depsgraph_get()
    counts = {"objects": len(objs), "meshObjects": 0, "vertices": 0, "triangles": 0, "materials": 0}
    materials = set()
    for obj in objs:
        if obj.type != "MESH":
            continue
        counts["meshObjects"] += 1
        source = obj.evaluated_get(depsgraph) if apply_modifiers else obj
        mesh = source.to_mesh()
        try:
            mesh.calc_loop_triangles()
            counts["vertices"] += len(mesh.vertices)
            counts["triangles"] += len(mesh.loop_triangles)
        finally:
            source.to_mesh_clear()
        for slot in obj.material_slots:
            if slot.material:
                materials.add(slot.material.name)
    counts["materials"] = len(materials)
    return counts


def export_item(task):
    scene_name = task.get("scene")
    if not scene_name or scene_name == bpy.context.scene.name:
        return _export(task)
    scene = bpy.data.scenes.get(scene_name)
    if scene is None:
        raise TaskInputError(
            "the file has no scene named %r; its scenes: %s" % (scene_name, ", ".join(s.name for s in bpy.data.scenes))
        )
    # Exporters read the scene and view layer from the context: point it at the asked-for scene.
    with bpy.context.temp_override(scene=scene, view_layer=scene.view_layers[0]):
        return _export(task)


def _export(task):
    fmt = task["format"]
    found = formats.resolve(fmt)
    if found is None:
        raise TaskInputError("this Blender cannot export %s" % fmt)
    idname, op, fixed, selection_option, apply_option = found
    scope = _objects_in_scope(task)
    scene_objects = [o for o in bpy.context.view_layer.objects]
    exported = scope if scope is not None else [o for o in scene_objects if o.visible_get()]
    if not exported:
        raise TaskInputError("nothing to export: the scene has no visible objects")
    apply_modifiers = bool(task.get("applyModifiers", True))
    kwargs = dict(fixed)
    kwargs.update(task.get("options") or {})
    if scope is not None:
        _select(scope)
        kwargs[selection_option] = True
    elif selection_option in op.get_rna_type().properties:
        kwargs[selection_option] = False
    if apply_option and "applyModifiers" in task:
        kwargs[apply_option] = apply_modifiers
    path = task["path"]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    counts = _count(exported, apply_modifiers)
    try:
        result = op(filepath=path, **kwargs)
    except TypeError as err:
        raise TaskInputError("exporter %s refused an option: %s" % (idname, err))
    if "FINISHED" not in result:
        raise RuntimeError("the %s exporter did not finish (%s)" % (idname, ", ".join(result)))
    return {"operator": idname, "path": path, "counted": counts}
