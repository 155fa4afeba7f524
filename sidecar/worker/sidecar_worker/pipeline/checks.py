"""Validate steps: each check looks at the mesh objects in scope as they would be exported (modifiers evaluated) and
lists the objects it finds fault with. Whether a finding fails the step or only warns is the sidecar's call."""
import os

import bmesh
import bpy

from . import scope

SCALE_TOLERANCE = 1e-5


def _unapplied_scale(obj):
    if all(abs(s - 1.0) <= SCALE_TOLERANCE for s in obj.scale):
        return None
    return "scale %s" % ", ".join("%g" % round(s, 4) for s in obj.scale)


def _image_nodes(tree, seen=None):
    seen = seen if seen is not None else set()
    for node in tree.nodes:
        if node.type == "TEX_IMAGE":
            yield node
        elif node.type == "GROUP" and node.node_tree and node.node_tree.name not in seen:
            seen.add(node.node_tree.name)
            yield from _image_nodes(node.node_tree, seen)


def _image_missing(image):
    if image.packed_file or image.source not in {"FILE", "SEQUENCE", "TILED"}:
        return False
    path = bpy.path.abspath(image.filepath, library=image.library)
    if image.source == "TILED":
        path = path.replace("<UDIM>", "1001").replace("<UVTILE>", "u1_v1")
    return not os.path.exists(path)


def _missing_textures(obj):
    problems = []
    for slot in obj.material_slots:
        mat = slot.material
        if mat is None or not mat.use_nodes or mat.node_tree is None:
            continue
        for node in _image_nodes(mat.node_tree):
            if node.image is None:
                problems.append("material %s has an image texture node without an image" % mat.name)
            elif _image_missing(node.image):
                problems.append(
                    "material %s: image %s not found at %s" % (mat.name, node.image.name, node.image.filepath)
                )
    return "; ".join(sorted(set(problems))) or None


def _mesh_findings(obj, depsgraph, wanted):
    found = {}
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        faces = len(mesh.polygons)
        if "empty_meshes" in wanted and faces == 0:
            found["empty_meshes"] = "no faces"
        if "ngons" in wanted:
            ngons = sum(1 for p in mesh.polygons if p.loop_total > 4)
            if ngons:
                found["ngons"] = "%d face%s with more than 4 sides" % (ngons, "" if ngons == 1 else "s")
        if "non_manifold" in wanted and faces:
            bm = bmesh.new()
            try:
                bm.from_mesh(mesh)
                edges = sum(1 for e in bm.edges if not e.is_manifold)
            finally:
                bm.free()
            if edges:
                found["non_manifold"] = "%d non-manifold edge%s" % (edges, "" if edges == 1 else "s")
    finally:
        evaluated.to_mesh_clear()
    return found


def validate(task):
    wanted = set(task.get("checks") or [])
    objs = scope.objects_in_scope(task.get("scope") or {})
    depsgraph = bpy.context.evaluated_depsgraph_get()
    checks = {name: [] for name in wanted}
    mesh_objects = scope.meshes(objs)
    for obj in mesh_objects:
        found = {}
        if "unapplied_scale" in wanted:
            found["unapplied_scale"] = _unapplied_scale(obj)
        if "missing_textures" in wanted:
            found["missing_textures"] = _missing_textures(obj)
        if wanted & {"empty_meshes", "ngons", "non_manifold"}:
            found.update(_mesh_findings(obj, depsgraph, wanted))
        for name, detail in found.items():
            if detail:
                checks[name].append({"object": obj.name, "detail": detail})
    return {"objects": len(objs), "meshObjects": len(mesh_objects), "checks": checks}
