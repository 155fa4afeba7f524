"""Baked maps back in the open file: when a bake sent from here completes, its maps are loaded as images (or the
images this file already has for those paths are reloaded), and, when asked, wired into the objects' materials.

It follows the drain timer's messages (timer.follow), so it runs on Blender's main thread. It remembers only the bake
jobs sent from this Blender that have not ended yet; a job ends once, and is forgotten then.
"""

import os

import bpy

from . import state, timer
from .messages import MsgCallResult, MsgJobs, MsgJobState

# Maps whose pixels are data: loaded without a colour transform.
DATA_MAPS = {"normal", "position", "uv", "roughness", "ao", "shadow"}
# Which Principled BSDF input each map feeds when wiring (normal goes through a Normal Map node). An AO map has no
# input of its own there: it is loaded and given a node, left unlinked.
BSDF_INPUTS = {
    "diffuse": ("Base Color",),
    "combined": ("Base Color",),
    "roughness": ("Roughness",),
    "glossy": ("Specular", "Specular IOR Level"),
    "emit": ("Emission", "Emission Color"),
    "normal": ("Normal",),
}
NODE_PREFIX = "Sidecar "
MAX_PENDING = 100

_pending = {}  # job id -> {"wire": bool}


def _apply(msg):
    if isinstance(msg, MsgCallResult) and msg.context.get("purpose") == "submit" and "bake_wire" in msg.context:
        job_id = (msg.result or {}).get("jobId") if not msg.error else None
        if job_id:
            _pending[job_id] = {"wire": bool(msg.context["bake_wire"])}
            while len(_pending) > MAX_PENDING:
                _pending.pop(next(iter(_pending)))
        return
    if isinstance(msg, MsgJobState):
        p = msg.params
        _ended(p.get("jobId"), p.get("kind"), p.get("state"), p.get("result"))
    elif isinstance(msg, MsgJobs):
        # After a reconnect the job list is how a job that ended meanwhile is learned of.
        for data in msg.jobs:
            if isinstance(data, dict):
                _ended(data.get("id"), data.get("kind"), data.get("state"), data.get("result"))


def _ended(job_id, kind, job_state, result):
    if kind not in ("bake", "simulation") or job_state not in ("completed", "failed", "canceled"):
        return
    wanted = _pending.pop(job_id, None)
    if wanted is None:
        return
    result = result if isinstance(result, dict) else {}
    if kind == "simulation":
        caches = [c for c in result.get("caches") or [] if isinstance(c, dict) and c.get("directory")]
        if caches:
            point_at_caches(caches)
        return
    maps = [m for m in result.get("maps") or [] if isinstance(m, dict) and m.get("output")]
    if maps:
        # A failed job may still have baked some objects: those maps are whole and checked, so they come in too.
        load(maps, wire=wanted["wire"])


def _show(_sidecar_state):
    pass


def _same_path(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normpath(a) == os.path.normpath(b)


def _image_for(path):
    for image in bpy.data.images:
        if image.source == "FILE" and image.filepath and _same_path(bpy.path.abspath(image.filepath), path):
            return image
    return None


def load(maps, wire=False):
    """Loads (or reloads) each baked map [{object, type, output}]; wires them into materials when `wire`.
    Returns (new, reloaded) image counts and says so in the panel's alerts."""
    new = reloaded = 0
    problems = []
    for m in maps:
        path = m["output"]
        image = _image_for(path)
        try:
            if image is None:
                image = bpy.data.images.load(path)
                image.name = "{}_{}".format(m.get("object") or "baked", m.get("type") or "map")
                new += 1
            else:
                image.reload()
                reloaded += 1
        except RuntimeError as err:
            problems.append("{} could not be loaded: {}".format(path, err))
            continue
        if m.get("type") in DATA_MAPS:
            image.colorspace_settings.name = "Non-Color"
        obj = bpy.data.objects.get(m.get("object") or "")
        if wire and obj is not None:
            wire_map(obj, m["type"], image)
    sidecar_state = state.get()
    sidecar_state.alert(
        "INFO",
        "Baked maps are in this file's images: {} new, {} reloaded{}.".format(
            new, reloaded, ", wired into the materials" if wire else ""
        ),
    )
    for problem in problems:
        sidecar_state.alert("ERROR", problem)
    return new, reloaded


def point_at_caches(caches):
    """Points each baked modifier [{object, modifier, directory}] at its bake folder on disk, and shows the frame
    again: Blender reads a disk bake as soon as the modifier's folder points there (4.1+), no reopening."""
    pointed = []
    for c in caches:
        obj = bpy.data.objects.get(c.get("object") or "")
        mod = obj.modifiers.get(c.get("modifier") or "") if obj is not None else None
        if mod is None or not hasattr(mod, "bake_directory"):
            state.get().alert(
                "WARN",
                "{} / {} is not in this file any more: its bake is in {}.".format(
                    c.get("object"), c.get("modifier"), c["directory"]
                ),
            )
            continue
        mod.bake_target = "DISK"
        for bake in mod.bakes:
            if bake.bake_target == "PACKED":
                bake.bake_target = "INHERIT"
        # Assigning the folder (even the same one) resets the modifier's cache, so the new bake is read.
        mod.bake_directory = c["directory"]
        obj.update_tag()
        pointed.append("{} ({})".format(obj.name, mod.name))
    scene = bpy.context.scene
    if scene is not None:
        scene.frame_set(scene.frame_current)
    if pointed:
        state.get().alert("INFO", "Simulation bakes read from disk: {}.".format(", ".join(pointed)))


def _principled(tree):
    return next((n for n in tree.nodes if n.type == "BSDF_PRINCIPLED"), None)


def _input(node, names):
    return next((node.inputs[n] for n in names if n in node.inputs), None)


def _node(tree, kind, name, location):
    node = tree.nodes.get(name)
    if node is None:
        node = tree.nodes.new(kind)
        node.name = node.label = name
        node.location = location
    return node


def wire_map(obj, map_type, image):
    """Puts `image` into an Image Texture node of each of the object's materials, linked to where the map belongs."""
    for slot in obj.material_slots:
        mat = slot.material
        if mat is None or not mat.use_nodes:
            continue
        tree = mat.node_tree
        bsdf = _principled(tree)
        x, y = (bsdf.location.x - 600, bsdf.location.y) if bsdf else (-600, 0)
        offset = (
            -300 * sorted(BSDF_INPUTS.keys() | {"ao"}).index(map_type)
            if map_type in BSDF_INPUTS or map_type == "ao"
            else 0
        )
        tex = _node(tree, "ShaderNodeTexImage", NODE_PREFIX + map_type, (x, y + offset))
        tex.image = image
        target = _input(bsdf, BSDF_INPUTS.get(map_type, ())) if bsdf else None
        if target is None:
            continue
        if map_type == "normal":
            normal_map = _node(tree, "ShaderNodeNormalMap", NODE_PREFIX + "normal map", (x + 300, y + offset))
            tree.links.new(tex.outputs["Color"], normal_map.inputs["Color"])
            tree.links.new(normal_map.outputs["Normal"], target)
        else:
            tree.links.new(tex.outputs["Color"], target)


def register():
    _pending.clear()
    timer.follow(_apply, _show)


def unregister():
    timer.unfollow(_apply, _show)
    _pending.clear()
