"""The Bake box: maps chosen with toggles, size, output folder, and "Bake in Background", which sends the selected
objects to the sidecar's `bake.submit` from the current state of this file. The maps come back into this file's
images when the job completes (baked_maps.py).

With "From Selected" the active object is the target and the other selected objects are the high-poly sources,
as in Blender's own Selected to Active bake.
"""

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from . import operators, snapshot, state
from .errors import SidecarError
from .gui import _SidecarPanel

# The Cycles bake types of every Blender the add-on supports (3.4 to 5.2 offer the same twelve). The sidecar's
# sidecar.info has the final word: a type its Blender lacks is refused before anything is sent.
MAP_TYPES = (
    ("NORMAL", "Normal", "Tangent-space normal map"),
    ("AO", "AO", "Ambient occlusion"),
    ("DIFFUSE", "Diffuse", "Surface colour (colour only, no lighting)"),
    ("ROUGHNESS", "Roughness", "Roughness"),
    ("EMIT", "Emit", "Emission"),
    ("GLOSSY", "Glossy", "Glossy colour"),
    ("COMBINED", "Combined", "Everything, lit"),
    ("SHADOW", "Shadow", "Shadows"),
    ("POSITION", "Position", "Object-space position"),
    ("UV", "UV", "UV coordinates"),
    ("TRANSMISSION", "Transmission", "Transmission colour"),
    ("ENVIRONMENT", "Environment", "The world, as seen from the surface"),
)
SIZES = tuple((str(s), "{} px".format(s), "{0} x {0} pixels".format(s)) for s in (64, 128, 256, 512, 1024, 2048, 4096))


class SidecarBakeSettings(bpy.types.PropertyGroup):
    maps: EnumProperty(name="Maps", items=MAP_TYPES, options={"ENUM_FLAG"}, default={"NORMAL", "AO"})
    size: EnumProperty(name="Size", items=SIZES, default="1024")
    margin: IntProperty(name="Margin", min=0, max=256, default=16, description="Pixels baked past the UV islands")
    samples: IntProperty(name="Samples", min=0, max=65536, default=0, description="Cycles samples (0: the scene's)")
    output: StringProperty(
        name="Output",
        subtype="DIR_PATH",
        default="//textures/",
        description="The folder the maps go to, as {object}_{map}.png. // is the blend file's folder",
    )
    from_selected: BoolProperty(
        name="From Selected",
        default=False,
        description="Bake the other selected objects (high poly) onto the active one, as Selected to Active does",
    )
    extrusion: FloatProperty(name="Extrusion", min=0.0, default=0.05, description="How far out the rays start")
    max_ray_distance: FloatProperty(name="Max Ray Distance", min=0.0, default=0.0, description="0: no limit")
    cache_output: StringProperty(
        name="Simulation Bakes",
        subtype="DIR_PATH",
        default="//bake/",
        description="The folder simulation bakes go to, one folder per object and modifier. // is the blend file's folder",
    )
    wire: BoolProperty(
        name="Use in Materials",
        default=False,
        description="Put the baked maps into the objects' materials (Image Texture nodes linked to the shader)",
    )


def _targets(context, settings):
    """(targets, sources) from the selection, checked for what can be seen here."""
    selected = [o for o in context.selected_objects if o.type == "MESH"]
    if settings.from_selected:
        active = context.active_object
        if active is None or active.type != "MESH" or not active.select_get():
            raise SidecarError(
                "From Selected bakes onto the active object: select the high-poly objects, then the target last."
            )
        sources = [o for o in selected if o is not active]
        if not sources:
            raise SidecarError("From Selected needs the high-poly objects selected too, besides the active target.")
        targets = [active]
    else:
        targets, sources = selected, []
    if not targets:
        raise SidecarError("Select the mesh objects to bake.")
    no_uv = [o.name for o in targets if not o.data.uv_layers]
    if no_uv:
        raise SidecarError(
            "{} has no UV map: unwrap it before baking (the maps are laid out by its UVs).".format(", ".join(no_uv))
        )
    return targets, sources


class SIDECAR_OT_bake_background(operators._SidecarOperator, bpy.types.Operator):
    """Bake the chosen maps of the selected objects on a background Blender; the maps come back into this file"""

    bl_idname = "sidecar.bake_background"
    bl_label = "Bake in Background"

    def run(self, context):
        conn = operators._connected()
        settings = context.scene.sidecar_bake
        maps = [t.lower() for t, _n, _d in MAP_TYPES if t in settings.maps]
        if not maps:
            raise SidecarError("Choose at least one map to bake.")
        offered = state.get().bake_types
        missing = [m for m in maps if offered and m not in offered]
        if missing:
            raise SidecarError(
                "The sidecar's Blender cannot bake {}: it offers {}.".format(", ".join(missing), ", ".join(offered))
            )
        targets, sources = _targets(context, settings)
        folder = operators._absolute(settings.output, "the bake output folder")
        output = bpy.path.native_pathsep(folder.rstrip("/\\") + "/{object}_{map}.png")
        snap = snapshot.blend_to_send()
        self.saved_copy_seconds = snap.seconds if snap.temporary else 0.0
        params = {
            "objects": [o.name for o in targets],
            "maps": [{"type": m} for m in maps],
            "output": output,
            "size": int(settings.size),
            "margin": settings.margin,
        }
        if settings.samples:
            params["samples"] = settings.samples
        if sources:
            params["selectedToActive"] = {
                "sources": [o.name for o in sources],
                "extrusion": settings.extrusion,
                "maxRayDistance": settings.max_ray_distance,
            }
        what = targets[0].name if len(targets) == 1 else "{} objects".format(len(targets))
        label = "Bake {} ({})".format(what, ", ".join(maps))
        operators._submit(self, conn, "bake.submit", params, "bake", label, folder, snap, {"bake_wire": settings.wire})


class SIDECAR_OT_bake_simulations_background(operators._SidecarOperator, bpy.types.Operator):
    """Bake the Geometry Nodes simulations and Bake nodes of the selected objects on a background Blender; this file
    reads the bakes from disk when they are done"""

    bl_idname = "sidecar.bake_simulations_background"
    bl_label = "Bake Simulations in Background"

    def run(self, context):
        conn = operators._connected()
        sidecar_state = state.get()
        if not sidecar_state.simulation_bake:
            raise SidecarError(
                "The sidecar's Blender {} has no simulation zones or Bake nodes to bake: run the sidecar with Blender 4.1 "
                "or newer.".format(sidecar_state.blender_version or "(unknown version)")
            )
        objects = [o for o in context.selected_objects if _has_bakes(o)]
        if not objects:
            raise SidecarError("Select objects with a Geometry Nodes simulation zone or Bake node.")
        folder = operators._absolute(context.scene.sidecar_bake.cache_output, "the simulation bake folder")
        snap = snapshot.blend_to_send()
        self.saved_copy_seconds = snap.seconds if snap.temporary else 0.0
        params = {"objects": [o.name for o in objects], "output": folder.rstrip("/\\") + "/{object}_{modifier}"}
        what = objects[0].name if len(objects) == 1 else "{} objects".format(len(objects))
        operators._submit(
            self,
            conn,
            "bake.simulation",
            params,
            "simulation",
            "Bake {} (simulation)".format(what),
            folder,
            snap,
            {"bake_wire": False},
        )


def _has_bakes(obj):
    return any(m.type == "NODES" and len(getattr(m, "bakes", ())) > 0 for m in obj.modifiers)


class SIDECAR_PT_bake(_SidecarPanel, bpy.types.Panel):
    bl_label = "Bake"
    bl_parent_id = "SIDECAR_PT_main"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.sidecar_bake
        grid = layout.grid_flow(columns=3, even_columns=True, align=True)
        for identifier, _name, _description in MAP_TYPES:
            grid.prop_enum(settings, "maps", identifier)
        row = layout.row(align=True)
        row.prop(settings, "size", text="")
        row.prop(settings, "margin")
        layout.prop(settings, "samples")
        layout.prop(settings, "output", text="")
        layout.prop(settings, "from_selected")
        if settings.from_selected:
            row = layout.row(align=True)
            row.prop(settings, "extrusion")
            row.prop(settings, "max_ray_distance", text="Max Ray")
        layout.prop(settings, "wire")
        layout.operator("sidecar.bake_background", icon="TEXTURE")
        if state.get().simulation_bake:
            layout.separator()
            layout.prop(settings, "cache_output", text="")
            layout.operator("sidecar.bake_simulations_background", icon="PHYSICS")


classes = (SidecarBakeSettings, SIDECAR_OT_bake_background, SIDECAR_OT_bake_simulations_background, SIDECAR_PT_bake)
_register, _unregister = bpy.utils.register_classes_factory(classes)


def register():
    _register()
    bpy.types.Scene.sidecar_bake = PointerProperty(type=SidecarBakeSettings)


def unregister():
    del bpy.types.Scene.sidecar_bake
    _unregister()
