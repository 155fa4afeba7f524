"""Geometry Nodes Variant steps: set one modifier input to this branch's value, and save the result."""
import bpy

from .. import gn_inputs
from ..errors import TaskInputError
from . import scope, state


def _typed(mod, name, value):
    # 3.x keeps inputs as ID properties: an int stored into a float input would be refused when evaluated.
    for input_name, _identifier, socket_type in gn_inputs.group_inputs(mod.node_group):
        if input_name != name:
            continue
        kind = gn_inputs.socket_kind(socket_type)
        if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if kind == "int" and isinstance(value, float) and value.is_integer():
            return int(value)
        if kind in ("vector", "color") and isinstance(value, list):
            return [float(v) for v in value]
    return value


@state.changes_scene
def set_variant(task):
    obj = bpy.data.objects.get(task["object"])
    if obj is None:
        raise TaskInputError("the file has no object named %r" % task["object"])
    mod = obj.modifiers.get(task.get("modifier") or "")
    if mod is None or mod.type != "NODES" or mod.node_group is None:
        raise TaskInputError("object %r has no Geometry Nodes modifier named %r" % (obj.name, task.get("modifier")))
    try:
        gn_inputs.set_value(mod, task["input"], _typed(mod, task["input"], task["value"]))
    except KeyError as err:
        raise TaskInputError(err.args[0])
    bpy.context.view_layer.update()
    counted = scope.count([obj])
    state.save_copy(task["path"])
    return {
        "path": task["path"],
        "object": obj.name,
        "modifier": mod.name,
        "input": task["input"],
        "value": gn_inputs.get_value(mod, task["input"]),
        "counted": counted,
    }
