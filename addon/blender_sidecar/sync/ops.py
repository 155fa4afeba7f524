"""The Sync operators: the toggle per modifier, and the two answers to a conflict. None of them waits for the
sidecar (the engine sends and returns)."""

import bpy
from bpy.props import BoolProperty, StringProperty

from ..errors import SidecarError
from ..operators import _SidecarOperator
from . import engine, props


def _engine():
    sync = engine.get()
    if sync is None:
        raise SidecarError("The Blender Sidecar add-on is not enabled.")
    return sync


class SIDECAR_OT_gn_sync(_SidecarOperator, bpy.types.Operator):
    """Share this Geometry Nodes modifier's inputs with other Blenders and scripts through the sidecar"""

    bl_idname = "sidecar.gn_sync"
    bl_label = "Sync Geometry Nodes Inputs"
    bl_options = {"REGISTER", "UNDO"}

    object_name: StringProperty(name="Object")
    modifier_name: StringProperty(name="Modifier")
    enable: BoolProperty(name="Sync", default=True)
    channel: StringProperty(name="Channel", description="The channel to follow (empty: keep the one set)")

    def run(self, context):
        obj = bpy.data.objects.get(self.object_name)
        if obj is None:
            raise SidecarError("There is no object named {}.".format(self.object_name))
        mod = obj.modifiers.get(self.modifier_name)
        if mod is None or mod.type != "NODES":
            raise SidecarError("{} has no Geometry Nodes modifier named {}.".format(obj.name, self.modifier_name))
        if self.channel and not engine.CHANNEL_NAME.match(self.channel):
            raise SidecarError(engine.NOT_A_CHANNEL.format(self.channel))
        item = props.settings(obj, mod.name, create=True)
        if self.channel:
            item.channel = self.channel
        item.sync = self.enable
        _engine().dirty = True


class _ConflictOperator(_SidecarOperator):
    channel: StringProperty(name="Channel", description="Empty: every channel")
    object_name: StringProperty(name="Object", description="With Modifier and Input: one conflict; empty: all")
    modifier_name: StringProperty(name="Modifier")
    input_name: StringProperty(name="Input")

    def key(self):
        if not self.object_name:
            return None
        return {"object": self.object_name, "modifier": self.modifier_name, "input": self.input_name}


class SIDECAR_OT_gn_take_theirs(_ConflictOperator, bpy.types.Operator):
    """Keep the value from the channel (already shown here) and dismiss the conflict"""

    bl_idname = "sidecar.gn_take_theirs"
    bl_label = "Take Theirs"

    def run(self, context):
        if not _engine().take_theirs(self.channel or None, self.key()):
            raise SidecarError("There is no such conflict (any more).")


class SIDECAR_OT_gn_push_mine(_ConflictOperator, bpy.types.Operator):
    """Send this Blender's value again, over the one from the channel"""

    bl_idname = "sidecar.gn_push_mine"
    bl_label = "Push Mine"
    bl_options = {"REGISTER", "UNDO"}

    def run(self, context):
        if not _engine().push_mine(self.channel or None, self.key()):
            raise SidecarError("There is no such conflict (any more).")


classes = (SIDECAR_OT_gn_sync, SIDECAR_OT_gn_take_theirs, SIDECAR_OT_gn_push_mine)
register, unregister = bpy.utils.register_classes_factory(classes)
