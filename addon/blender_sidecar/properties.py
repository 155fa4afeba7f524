"""Properties the add-on adds to Blender's types, all named `sidecar_*`:

- `Scene.sidecar_settings`: what the Render and Export sections submit (saved with the file);
- `WindowManager.sidecar_jobs` and `sidecar_jobs_index`: the rows of the Jobs list (runtime only). A row holds only
  the job's id; everything it shows is read from state.py when drawn, so progress never writes to Blender data.
"""

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from . import state, tables

# A saved file holds an enum's number, not its name: the Export box keeps the numbers its formats had before they came
# from the sidecar's table (in another order), so a file saved then still opens on its format; a format the table adds
# gets the next free number.
_SAVED_NUMBERS = {"glb": 0, "gltf": 1, "fbx": 2, "obj": 3, "usd": 4, "abc": 5, "stl": 6, "ply": 7}


def _numbered(items):
    free = iter(range(max(_SAVED_NUMBERS.values()) + 1, 1 << 20))
    return tuple(
        item + ("NONE", _SAVED_NUMBERS[item[0]] if item[0] in _SAVED_NUMBERS else next(free)) for item in items
    )


# The Export box's formats and the extension each gets, from the sidecar's table (tables.json).
EXPORT_FORMATS = _numbered(tables.EXPORT_FORMAT_ITEMS)
EXTENSIONS = tables.EXPORT_EXTENSIONS


class SidecarSceneSettings(bpy.types.PropertyGroup):
    render_instances: IntProperty(
        name="Instances",
        min=0,
        max=64,
        default=0,
        description="Background Blenders that render this job at once (0: every worker of the sidecar)",
    )
    render_movie: BoolProperty(
        name="Preview Movie",
        default=False,
        description="When the frames are done, encode them into a preview movie (Blender's own FFmpeg, H.264)",
    )
    movie_output: StringProperty(
        name="Movie",
        subtype="FILE_PATH",
        default="//preview.mp4",
        description="The preview movie: .mp4, .mov or .mkv. // is the blend file's folder",
    )
    export_format: EnumProperty(name="Format", items=EXPORT_FORMATS, default="glb")
    export_scope: EnumProperty(
        name="Export",
        items=(
            ("SELECTION", "Selection", "The selected objects"),
            ("COLLECTION", "Collection", "The objects of a collection and its children"),
            ("SCENE", "Scene", "Every visible object of the scene"),
        ),
        default="SELECTION",
    )
    export_collection: PointerProperty(name="Collection", type=bpy.types.Collection)
    export_output: StringProperty(
        name="Output",
        subtype="FILE_PATH",
        default="//export/",
        description="The file to write; a folder (ending in /) gets the blend file's name. // is the blend file's folder",
    )


def _job_progress(item):
    job = state.get().jobs.get(item.job_id)
    return 100.0 * job.progress if job is not None else 0.0


class SidecarJobItem(bpy.types.PropertyGroup):
    job_id: StringProperty(name="Job")
    # Read-only (a getter and no setter): drawn as a bar on Blender versions without UILayout.progress.
    progress: FloatProperty(name="Progress", subtype="PERCENTAGE", min=0.0, max=100.0, precision=0, get=_job_progress)


classes = (SidecarSceneSettings, SidecarJobItem)
_register, _unregister = bpy.utils.register_classes_factory(classes)


def register():
    _register()
    bpy.types.Scene.sidecar_settings = PointerProperty(type=SidecarSceneSettings)
    bpy.types.WindowManager.sidecar_jobs = CollectionProperty(type=SidecarJobItem)
    bpy.types.WindowManager.sidecar_jobs_index = IntProperty(name="Active Job", default=0)


def unregister():
    del bpy.types.WindowManager.sidecar_jobs_index
    del bpy.types.WindowManager.sidecar_jobs
    del bpy.types.Scene.sidecar_settings
    _unregister()


def sync_jobs(wm, sidecar_state):
    """Makes the Jobs list's rows match the state's jobs (same ids, same order), keeping the selected job."""
    items = wm.sidecar_jobs
    wanted = list(sidecar_state.jobs.keys())
    had = [item.job_id for item in items]
    if had == wanted:
        return False
    index = wm.sidecar_jobs_index
    selected = had[index] if 0 <= index < len(had) else None
    # A job submitted from here just now comes first: select it, so its details show.
    if wanted and wanted[0] not in had and sidecar_state.jobs[wanted[0]].local:
        selected = wanted[0]
    items.clear()
    for job_id in wanted:
        items.add().job_id = job_id
    wm.sidecar_jobs_index = wanted.index(selected) if selected in wanted else 0
    return True
