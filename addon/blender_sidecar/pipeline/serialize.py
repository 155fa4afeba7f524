"""A "Sidecar Pipeline" tree to the JSON form (`graph_of`) and back (`build_tree`), by form.py's table.

- Nodes are written in the tree's order (an imported graph keeps its order), each with `id` (its `node_id`), `type`,
  `name` (its label, when it has one), `settings` (see form.py for which are written) and `ui`: `location`, `width`,
  and whatever else the imported graph's `ui` held.
- Links are written in the order of the nodes they go into, then of the nodes they come from; reroutes are followed
  through, muted links and frames are left out.
A graph built from JSON and written again is the same JSON (test_pipeline_editor.py checks it on the templates).
"""

import json

from ..errors import SidecarError
from . import form, nodes


class NodeSettingError(SidecarError):
    """A node's setting cannot be written as JSON; `node_id` says which node (the editor marks it)."""

    def __init__(self, node_id, message):
        SidecarError.__init__(self, message)
        self.node_id = node_id


def pipeline_nodes(tree):
    """The tree's pipeline nodes (not frames or reroutes), in order."""
    return [n for n in tree.nodes if n.bl_idname in form.BY_IDNAME]


def graph_of(tree):
    """The JSON form of `tree`. Raises SidecarError naming the node when a setting's text does not parse (export
    options that are not JSON, a values list with an open quote) or two nodes share an id."""
    real = pipeline_nodes(tree)
    seen = {}
    for node in real:
        if not node.node_id:
            raise SidecarError("The node {} has no id: give it one in the sidebar's Node tab.".format(node.name))
        if node.node_id in seen:
            raise SidecarError(
                "The nodes {} and {} have the same id '{}': change one in the sidebar's Node tab.".format(
                    seen[node.node_id], node.name, node.node_id
                )
            )
        seen[node.node_id] = node.name
    graph = {"version": form.VERSION}
    if tree.pipeline_name:
        graph["name"] = tree.pipeline_name
    if tree.pipeline_description:
        graph["description"] = tree.pipeline_description
    graph["nodes"] = [_node_json(node) for node in real]
    graph["links"] = _links_json(real)
    ui = _loads(tree.ui_extra)
    if ui:
        graph["ui"] = ui
    return graph


def _node_json(node):
    node_type = node.node_type
    data = {"id": node.node_id, "type": node_type.type}
    if node.label:
        data["name"] = node.label
    settings = {}
    for setting in node_type.settings:
        value = getattr(node, setting.prop)
        if form.written(node_type, setting, value, node.is_property_set(setting.prop), lambda p: getattr(node, p)):
            try:
                form.put(settings, setting.path, form.to_json(_describe(node), setting, value))
            except SidecarError as err:
                raise NodeSettingError(node.node_id, str(err))
    data["settings"] = settings
    ui = _loads(node.ui_extra)
    ui["location"] = [form.number(round(v, 2)) for v in node.location]
    ui["width"] = form.number(round(node.width, 2))
    data["ui"] = ui
    return data


def _links_json(real):
    order = {node.as_pointer(): i for i, node in enumerate(real)}
    found = []
    for to_node in real:
        for socket in to_node.inputs:
            for link in socket.links:
                source = _source(link)
                if source is None or source.node.as_pointer() not in order:
                    continue
                found.append(
                    (
                        order[to_node.as_pointer()],
                        order[source.node.as_pointer()],
                        {
                            "from": {"node": source.node.node_id, "socket": source.identifier},
                            "to": {"node": to_node.node_id, "socket": socket.identifier},
                        },
                    )
                )
    found.sort(key=lambda f: (f[0], f[1]))
    return [f[2] for f in found]


def _source(link, depth=0):
    """The output socket a link really comes from, through reroutes; None for a muted or dangling one."""
    if getattr(link, "is_muted", False) or depth > 100:
        return None
    node = link.from_node
    if node.bl_idname == "NodeReroute":
        upstream = list(node.inputs[0].links)
        return _source(upstream[0], depth + 1) if upstream else None
    return link.from_socket


def build_tree(graph, name=None, tree=None):
    """A tree holding `graph` (a new one named `name` or the graph's name, or `tree` emptied first). Raises
    SidecarError, naming every problem, when the graph cannot become nodes (form.check_importable)."""
    import bpy

    form.check_importable(graph)
    if tree is None:
        tree = bpy.data.node_groups.new(name or graph.get("name") or "Pipeline", form.TREE_ID)
    else:
        tree.nodes.clear()
    tree.pipeline_name = graph.get("name", "")
    tree.pipeline_description = graph.get("description", "")
    tree.ui_extra = json.dumps(graph["ui"]) if graph.get("ui") else ""
    tree.job_id = tree.message = ""
    by_id = {}
    placed = form.auto_locations(graph)
    for data in graph["nodes"]:
        node_type = form.BY_TYPE[data["type"]]
        node = tree.nodes.new(node_type.idname)
        node.node_id = data["id"]
        node.name = data["id"][:63]
        node.label = data.get("name", "")
        node.select = False
        settings = data.get("settings") or {}
        if node_type.type == "gn_variant":
            node.spread = "range" if "range" in settings else "values"
        for setting in node_type.settings:
            value = form.get(settings, setting.path)
            if value is not None:
                setattr(node, setting.prop, form.from_json(form.describe(data), setting, value))
        ui = dict(data.get("ui") or {})
        location = ui.pop("location", None)
        node.location = location if _is_pair(location) else placed[data["id"]]
        width = ui.pop("width", None)
        if isinstance(width, (int, float)) and not isinstance(width, bool):
            node.width = width
        node.ui_extra = json.dumps(ui) if ui else ""
        by_id[data["id"]] = node
    for link in graph.get("links", []):
        from_node, to_node = by_id[link["from"]["node"]], by_id[link["to"]["node"]]
        tree.links.new(socket(from_node.outputs, link["from"]["socket"]), socket(to_node.inputs, link["to"]["socket"]))
    return tree


def socket(sockets, identifier):
    """A socket by its identifier (`sockets[identifier]` finds it on 4.x, but only by the label on 3.4)."""
    return next(s for s in sockets if s.identifier == identifier)


def _is_pair(value):
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    )


def _loads(text):
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _describe(node):
    return form.describe({"id": node.node_id, "type": node.node_type.type, "name": node.label})


def clear_runs(tree):
    """Forgets the last run: every node back to "not run", the tree's job and message."""
    for node in pipeline_nodes(tree):
        nodes.clear_run(node)
    tree.job_id = tree.message = ""
