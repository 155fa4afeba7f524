"""The Sync settings saved with the file: `Object.sidecar_gn_sync`, one item per Geometry Nodes modifier that was
ever toggled, keyed by the modifier's name (renaming the modifier leaves its item behind: toggle Sync again)."""

import bpy
from bpy.props import BoolProperty, CollectionProperty, StringProperty

from . import engine


def _changed(self, context):
    sync = engine.get()
    if sync is not None:
        sync.dirty = True  # the next drain (or depsgraph update) rebuilds the bindings


class SidecarGnSyncSettings(bpy.types.PropertyGroup):
    modifier: StringProperty(name="Modifier", description="The Geometry Nodes modifier these settings are for")
    sync: BoolProperty(
        name="Sync",
        description="Share this modifier's inputs through the sidecar: edits here go to every Blender and script "
        "following the channel, and theirs show here",
        update=_changed,
    )
    channel: StringProperty(
        name="Channel",
        default=engine.DEFAULT_CHANNEL,
        maxlen=64,
        description='The sync channel (1 to 64 letters, digits, "-", "_" or "."): modifiers and scripts on the same '
        "channel share values",
        update=_changed,
    )


def settings(obj, modifier, create=False):
    """The object's Sync settings for `modifier` (a name); made when `create`, else None when there are none."""
    for item in obj.sidecar_gn_sync:
        if item.modifier == modifier:
            return item
    if not create:
        return None
    item = obj.sidecar_gn_sync.add()
    item.modifier = modifier
    return item


classes = (SidecarGnSyncSettings,)
_register, _unregister = bpy.utils.register_classes_factory(classes)


def register():
    _register()
    bpy.types.Object.sidecar_gn_sync = CollectionProperty(type=SidecarGnSyncSettings)


def unregister():
    del bpy.types.Object.sidecar_gn_sync
    _unregister()
