"""Builds a small Geometry Nodes setup procedurally (a grid of cubes with named inputs), on 3.4, 4.x and 5.x.

Used by the demo scene and by the tests; the node group API moved from `inputs/outputs.new` to `interface.new_socket`
in 4.0."""
import bpy


def _new_socket(group, name, in_out, socket_type):
    if hasattr(group, "interface"):
        return group.interface.new_socket(name=name, in_out=in_out, socket_type=socket_type)
    collection = group.inputs if in_out == "INPUT" else group.outputs
    return collection.new(socket_type, name)


def _set_default(group, name, value, min_value=None, max_value=None):
    if hasattr(group, "interface"):
        item = next(i for i in group.interface.items_tree if getattr(i, "name", None) == name and i.in_out == "INPUT")
    else:
        item = group.inputs[name]
    item.default_value = value
    if min_value is not None:
        item.min_value = min_value
    if max_value is not None:
        item.max_value = max_value


def build_grid_group(name="SidecarGrid", material=None):
    group = bpy.data.node_groups.new(name, "GeometryNodeTree")
    _new_socket(group, "Geometry", "INPUT", "NodeSocketGeometry")
    _new_socket(group, "Count", "INPUT", "NodeSocketInt")
    _new_socket(group, "Spacing", "INPUT", "NodeSocketFloat")
    _new_socket(group, "Cube Size", "INPUT", "NodeSocketFloat")
    _new_socket(group, "Geometry", "OUTPUT", "NodeSocketGeometry")
    _set_default(group, "Count", 3, 1, 50)
    _set_default(group, "Spacing", 3.0, 0.0, 100.0)
    _set_default(group, "Cube Size", 0.5, 0.0, 10.0)

    nodes, links = group.nodes, group.links
    group_in = nodes.new("NodeGroupInput")
    group_out = nodes.new("NodeGroupOutput")
    grid = nodes.new("GeometryNodeMeshGrid")
    cube = nodes.new("GeometryNodeMeshCube")
    instance = nodes.new("GeometryNodeInstanceOnPoints")
    realize = nodes.new("GeometryNodeRealizeInstances")
    links.new(group_in.outputs["Count"], grid.inputs["Vertices X"])
    links.new(group_in.outputs["Count"], grid.inputs["Vertices Y"])
    links.new(group_in.outputs["Spacing"], grid.inputs["Size X"])
    links.new(group_in.outputs["Spacing"], grid.inputs["Size Y"])
    links.new(group_in.outputs["Cube Size"], cube.inputs["Size"])
    links.new(grid.outputs["Mesh"], instance.inputs["Points"])
    links.new(cube.outputs["Mesh"], instance.inputs["Instance"])
    links.new(instance.outputs["Instances"], realize.inputs["Geometry"])
    if material is None:
        links.new(realize.outputs["Geometry"], group_out.inputs["Geometry"])
    else:
        set_material = nodes.new("GeometryNodeSetMaterial")
        set_material.inputs["Material"].default_value = material
        links.new(realize.outputs["Geometry"], set_material.inputs["Geometry"])
        links.new(set_material.outputs["Geometry"], group_out.inputs["Geometry"])
    return group


def add_grid_modifier(obj, name="GeometryNodes", material=None):
    mod = obj.modifiers.new(name, "NODES")
    mod.node_group = build_grid_group(material=material)
    return mod
