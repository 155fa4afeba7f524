"""Pipeline bake steps: bake maps of the meshes in scope (or the targets named), optionally from high-poly sources,
into a staging folder; put the maps into the targets' materials when asked (with the paths they will have once the
sidecar has moved them into place); then save the scene for the steps after, so an export downstream carries them.

A game asset's pipeline is Source (the low poly) -> Bake (normal, AO from the high poly) -> Export GLB.
"""
import os

import bpy

from .. import bake
from ..errors import TaskInputError
from . import scope, state

# Which Principled BSDF input a map feeds (the add-on's baked_maps.py wires the same way in the artist's file).
BSDF_INPUTS = {
    "diffuse": ("Base Color",),
    "combined": ("Base Color",),
    "roughness": ("Roughness",),
    "emit": ("Emission", "Emission Color"),
    "normal": ("Normal",),
}


def _targets(task):
    sources = set(task.get("sources") or [])
    if task.get("targets"):
        objs = [bpy.data.objects.get(n) for n in task["targets"]]
        missing = [n for n, o in zip(task["targets"], objs) if o is None]
        if missing:
            raise TaskInputError("the file has no object named %s" % ", ".join(repr(m) for m in missing))
    else:
        objs = [o for o in scope.meshes(scope.objects_in_scope(task.get("scope") or {})) if o.name not in sources]
    if not objs:
        raise TaskInputError("nothing to bake: no mesh object in scope (besides the sources)")
    problems = [p for p in (bake.check_target(o) for o in objs) if p]
    if problems:
        raise TaskInputError("; ".join(problems))
    return objs


def _wire(obj, maps):
    for slot in obj.material_slots:
        mat = slot.material
        if mat is None or not mat.use_nodes:
            continue
        tree = mat.node_tree
        bsdf = next((n for n in tree.nodes if n.type == "BSDF_PRINCIPLED"), None)
        for i, (kind, image) in enumerate(maps):
            tex = tree.nodes.new("ShaderNodeTexImage")
            tex.name = tex.label = "Sidecar " + kind
            tex.image = image
            tex.location = (-700, 300 - 300 * i)
            target = next((bsdf.inputs[n] for n in BSDF_INPUTS.get(kind, ()) if bsdf and n in bsdf.inputs), None)
            if target is None:
                continue
            if kind == "normal":
                normal_map = tree.nodes.new("ShaderNodeNormalMap")
                normal_map.location = (-400, 300 - 300 * i)
                tree.links.new(tex.outputs["Color"], normal_map.inputs["Color"])
                tree.links.new(normal_map.outputs["Normal"], target)
            else:
                tree.links.new(tex.outputs["Color"], target)


@state.changes_scene
def bake_step(task):
    """task: scope, targets?, sources?, extrusion, maxRayDistance, maps [{type, size, margin}], samples?, staging,
    folder (where the maps end up), useInMaterials, path (the .blend to save)."""
    objs = _targets(task)
    s2a = (
        {
            "sources": task["sources"],
            "extrusion": task.get("extrusion", 0.0),
            "maxRayDistance": task.get("maxRayDistance", 0.0),
        }
        if task.get("sources")
        else None
    )
    written = []
    for obj in objs:
        maps = [
            dict(m, path=os.path.join(task["staging"], "%s_%s.png" % (bake.safe_name(obj.name), m["type"])))
            for m in task["maps"]
        ]
        result = bake.bake_object(
            {"object": obj.name, "maps": maps, "selectedToActive": s2a, "samples": task.get("samples")}
        )
        loaded = []
        for m in result["maps"]:
            final = os.path.join(task["folder"], os.path.basename(m["path"]))
            written.append(dict(m, object=obj.name, output=final))
            if task.get("useInMaterials"):
                image = bpy.data.images.load(m["path"])
                image.name = "%s_%s" % (obj.name, m["type"])
                if m["type"] in bake.DATA_MAPS:
                    image.colorspace_settings.name = "Non-Color"
                image.pack()  # the export downstream must not depend on where the maps end up
                loaded.append((m["type"], image))
        if loaded:
            _wire(obj, loaded)
    state.save_copy(task["path"])
    return {"maps": written}
