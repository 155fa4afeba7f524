"""Transform steps: change the mesh objects in scope, in a fixed order (modifiers applied, decimated, triangulated,
rotation and scale applied, origin moved), then save the result for the steps after.

Mesh data is changed directly (bmesh, `new_from_object`) where Blender allows it, so nothing depends on a window or
an operator's context; only applying rotation and scale goes through `object.transform_apply`, which also fixes
children and constraints, with the objects selected and a context override."""
import bmesh
import bpy
from mathutils import Matrix, Vector

from . import scope, state


def _single_user(objs):
    # Shared mesh data would carry one object's change into another that is out of scope.
    for obj in objs:
        if obj.data.users > 1:
            obj.data = obj.data.copy()


def _replace_mesh(obj, mesh):
    old = obj.data
    obj.data = mesh
    if old.users == 0:
        bpy.data.meshes.remove(old)


def _apply_modifiers(obj):
    if not obj.modifiers:
        return
    depsgraph = bpy.context.evaluated_depsgraph_get()
    mesh = bpy.data.meshes.new_from_object(
        obj.evaluated_get(depsgraph), preserve_all_data_layers=True, depsgraph=depsgraph
    )
    obj.modifiers.clear()
    _replace_mesh(obj, mesh)


def _decimate(obj, ratio):
    # A Decimate modifier evaluated on its own (the others switched off for a moment) and kept as the new mesh.
    others = [(m, m.show_viewport) for m in obj.modifiers]
    for m, _shown in others:
        m.show_viewport = False
    mod = obj.modifiers.new("SidecarDecimate", "DECIMATE")
    mod.decimate_type = "COLLAPSE"
    mod.ratio = ratio
    try:
        depsgraph = bpy.context.evaluated_depsgraph_get()
        mesh = bpy.data.meshes.new_from_object(
            obj.evaluated_get(depsgraph), preserve_all_data_layers=True, depsgraph=depsgraph
        )
    finally:
        obj.modifiers.remove(mod)
        for m, shown in others:
            m.show_viewport = shown
    _replace_mesh(obj, mesh)


def _triangulate(obj):
    bm = bmesh.new()
    try:
        bm.from_mesh(obj.data)
        bmesh.ops.triangulate(bm, faces=bm.faces[:], quad_method="BEAUTY", ngon_method="BEAUTY")
        bm.to_mesh(obj.data)
    finally:
        bm.free()
    obj.data.update()


def _apply_transform(objs, rotation, scale):
    view_layer = bpy.context.view_layer
    for o in view_layer.objects:
        o.select_set(False)
    usable = [o for o in objs if view_layer.objects.get(o.name) is not None]
    for o in usable:
        o.select_set(True)
    if not usable:
        return
    view_layer.objects.active = usable[0]
    with bpy.context.temp_override(
        active_object=usable[0], object=usable[0], selected_objects=usable, selected_editable_objects=usable
    ):
        bpy.ops.object.transform_apply(location=False, rotation=rotation, scale=scale)


def _set_origin(obj, mode):
    mesh = obj.data
    if not mesh.vertices:
        return
    if mode == "world":
        point = obj.matrix_world.inverted() @ Vector((0.0, 0.0, 0.0))
    elif mode == "geometry":
        point = sum((v.co for v in mesh.vertices), Vector()) / len(mesh.vertices)
    else:
        lo = Vector(tuple(min(v.co[i] for v in mesh.vertices) for i in range(3)))
        hi = Vector(tuple(max(v.co[i] for v in mesh.vertices) for i in range(3)))
        point = (lo + hi) / 2
        if mode == "bottom":
            point.z = lo.z
    shift = Matrix.Translation(point)
    mesh.transform(Matrix.Translation(-point))
    mesh.update()
    obj.matrix_world = obj.matrix_world @ shift
    for child in obj.children:
        # Keep children where they are: their parent moved, the world did not.
        child.matrix_parent_inverse = shift.inverted() @ child.matrix_parent_inverse


@state.changes_scene
def transform(task):
    objs = scope.meshes(scope.objects_in_scope(task.get("scope") or {}))
    _single_user(objs)
    if task.get("applyModifiers"):
        for obj in objs:
            _apply_modifiers(obj)
    ratio = task.get("decimateRatio")
    if ratio is not None and ratio < 1:
        for obj in objs:
            _decimate(obj, ratio)
    if task.get("triangulate"):
        for obj in objs:
            _triangulate(obj)
    if task.get("applyRotation") or task.get("applyScale"):
        _apply_transform(objs, bool(task.get("applyRotation")), bool(task.get("applyScale")))
    origin = task.get("origin") or "keep"
    if origin != "keep":
        for obj in objs:
            _set_origin(obj, origin)
    bpy.context.view_layer.update()
    counted = scope.count(objs)
    state.save_copy(task["path"])
    return {"path": task["path"], "counted": counted}
