"""Which objects a step works on, and what their meshes hold (counted the way an exporter would see them)."""
import bpy

from ..errors import TaskInputError


def objects_in_scope(scope):
    """scope: {collection} | {objects} | {} (every visible object of the view layer)."""
    names = scope.get("objects")
    collection = scope.get("collection")
    if names:
        missing = [n for n in names if n not in bpy.data.objects]
        if missing:
            raise TaskInputError("the file has no object named %s" % ", ".join(repr(m) for m in missing))
        return [bpy.data.objects[n] for n in names]
    if collection:
        coll = bpy.data.collections.get(collection)
        if coll is None:
            known = ", ".join(sorted(c.name for c in bpy.data.collections)) or "none"
            raise TaskInputError("the file has no collection named %r; its collections: %s" % (collection, known))
        return list(coll.all_objects)
    return [o for o in bpy.context.view_layer.objects if o.visible_get()]


def meshes(objs):
    return [o for o in objs if o.type == "MESH"]


def count(objs):
    """Objects, and the evaluated meshes' vertices, faces and triangles (in total and per object)."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    total = {"objects": len(objs), "meshObjects": 0, "vertices": 0, "faces": 0, "triangles": 0}
    per_object = {}
    for obj in meshes(objs):
        evaluated = obj.evaluated_get(depsgraph)
        mesh = evaluated.to_mesh()
        try:
            mesh.calc_loop_triangles()
            c = {"vertices": len(mesh.vertices), "faces": len(mesh.polygons), "triangles": len(mesh.loop_triangles)}
        finally:
            evaluated.to_mesh_clear()
        per_object[obj.name] = c
        total["meshObjects"] += 1
        for k, v in c.items():
            total[k] += v
    total["perObject"] = per_object
    return total
