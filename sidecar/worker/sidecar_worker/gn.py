"""Applying a sync channel's Geometry Nodes values inside a worker, right after the job's file is opened."""
import bpy

from . import gn_inputs
from .errors import TaskInputError


def apply_values(gn):
    """gn: {channel, revision, entries: [{key: {object, modifier, input}, type, value}]}. Returns how many were set."""
    applied = 0
    for entry in gn.get("entries", []):
        key = entry["key"]
        obj = bpy.data.objects.get(key["object"])
        if obj is None:
            raise TaskInputError(
                "sync channel %r names object %r, which this file does not have" % (gn.get("channel"), key["object"])
            )
        mod = obj.modifiers.get(key["modifier"])
        if mod is None or mod.type != "NODES":
            raise TaskInputError(
                "sync channel %r names Geometry Nodes modifier %r on %r, which it does not have"
                % (gn.get("channel"), key["modifier"], obj.name)
            )
        try:
            gn_inputs.set_value(mod, key["input"], entry["value"])
        except KeyError as err:
            raise TaskInputError("sync channel %r: %s" % (gn.get("channel"), err.args[0]))
        applied += 1
    if applied:
        bpy.context.view_layer.update()
    return applied
