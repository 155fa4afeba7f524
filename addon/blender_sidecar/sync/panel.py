"""The "Sync" section of the Sidecar tab: the Geometry Nodes modifiers of the selected objects, each with its Sync
toggle, channel and state, and the conflicts with Take Theirs / Push Mine. Drawing only reads (no network)."""

import bpy

from .. import gui
from . import engine, props, values

MAX_OBJECTS = 8


def _conflict_buttons(row, channel, key):
    for op_name, text in (("sidecar.gn_take_theirs", "Take Theirs"), ("sidecar.gn_push_mine", "Push Mine")):
        op = row.operator(op_name, text=text)
        op.channel = channel
        op.object_name, op.modifier_name, op.input_name = key["object"], key["modifier"], key["input"]


class SIDECAR_PT_sync(gui._SidecarPanel, bpy.types.Panel):
    bl_label = "Sync"
    bl_parent_id = "SIDECAR_PT_main"

    def draw(self, context):
        layout = self.layout
        sync = engine.get()
        if sync is None:
            return
        objects = [o for o in context.selected_objects if any(m.type == "NODES" for m in o.modifiers)]
        if not objects:
            layout.label(text="Select an object with a Geometry Nodes modifier.", icon="INFO")
        for obj in objects[:MAX_OBJECTS]:
            for mod in obj.modifiers:
                if mod.type == "NODES":
                    self._modifier(layout, context, sync, obj, mod)
        if len(objects) > MAX_OBJECTS:
            layout.label(text="and {} more selected objects".format(len(objects) - MAX_OBJECTS))
        for channel, conflict in sync.conflicts():
            self._conflict(layout, context, channel, conflict)

    def _modifier(self, layout, context, sync, obj, mod):
        item = props.settings(obj, mod.name)
        on = bool(item and item.sync)
        box = layout.box()
        box.label(text="{} > {}".format(obj.name, mod.name), icon="GEOMETRY_NODES")
        row = box.row(align=True)
        op = row.operator("sidecar.gn_sync", text="Sync", icon="LINKED" if on else "UNLINKED", depress=on)
        op.object_name, op.modifier_name, op.enable = obj.name, mod.name, not on
        if item is not None:
            row.prop(item, "channel", text="")
        text, icon = sync.status(obj.name, mod.name)
        if text:
            gui._wrapped(box, context, text, icon)

    def _conflict(self, layout, context, channel, conflict):
        key = conflict.key
        box = layout.box()
        gui._wrapped(
            box, context, "Conflict: {} of {} > {}".format(key["input"], key["object"], key["modifier"]), "ERROR"
        )
        col = box.column(align=True)
        col.label(text="Theirs: {}".format(values.describe(conflict.theirs_type, conflict.theirs)))
        col.label(text="by {}".format(conflict.changed_by))
        col.label(text="Yours: {}".format(values.describe(conflict.mine_type, conflict.mine)))
        _conflict_buttons(box.row(align=True), channel, key)


classes = (SIDECAR_PT_sync,)
register, unregister = bpy.utils.register_classes_factory(classes)
