"""Checking a pipeline's JSON before it becomes nodes in the editor (no bpy): the form, the node types and settings the
catalog knows, and links between sockets that exist. What the sidecar checks beyond that stays for Validate."""

import json

from ..errors import SidecarError
from .catalog import BY_TYPE, NODE_TYPES, VERSION
from .codecs import from_json, get


def describe(node_json):
    """How messages name a node: "validate node 'Check meshes' (id validate)", as the sidecar does."""
    nid, ntype, name = node_json.get("id"), node_json.get("type"), node_json.get("name")
    if name and name != nid:
        return "{} node '{}' (id {})".format(ntype, name, nid)
    return "{} node '{}'".format(ntype, nid)


def check_importable(graph):
    """Raises SidecarError naming every problem that keeps `graph` from becoming nodes: not the JSON form, unknown
    node types or settings, links to nodes or sockets that do not exist. What the sidecar checks beyond that (cycles,
    unlinked inputs, output templates) stays for Validate, so a graph that is still being built can be imported."""
    if not isinstance(graph, dict):
        raise SidecarError('This is not a pipeline: a pipeline is a JSON object {"version": 1, "nodes": [...], ...}.')
    problems = []
    if graph.get("version") != VERSION:
        problems.append(
            "version is {}, and this add-on reads version {}".format(json.dumps(graph.get("version")), VERSION)
        )
    for key in sorted(set(graph) - {"version", "name", "description", "nodes", "links", "ui"}):
        problems.append("'{}' is not a field of a pipeline".format(key))
    nodes = graph.get("nodes")
    if not isinstance(nodes, list):
        problems.append("nodes must be a list")
        nodes = []
    ids = {}
    for i, n in enumerate(nodes):
        where = "nodes[{}]".format(i)
        if not isinstance(n, dict) or not isinstance(n.get("id"), str) or not n["id"]:
            problems.append("{} needs an id".format(where))
            continue
        if n["id"] in ids:
            problems.append("{}: id '{}' is also the id of nodes[{}]".format(where, n["id"], ids[n["id"]]))
            continue
        node_type = BY_TYPE.get(n.get("type"))
        ids[n["id"]] = i
        if node_type is None:
            named = "node '{}' (id {})".format(n["name"], n["id"]) if n.get("name") else "node '{}'".format(n["id"])
            problems.append(
                "{} has an unknown type {}; the node types are {}".format(
                    named, json.dumps(n.get("type")), ", ".join(t.type for t in NODE_TYPES)
                )
            )
            continue
        for key in sorted(set(n) - {"id", "type", "name", "settings", "ui"}):
            problems.append("{}: '{}' is not a field of a node".format(describe(n), key))
        settings = n.get("settings", {})
        if not isinstance(settings, dict):
            problems.append("{}: settings must be an object".format(describe(n)))
            continue
        problems += _unknown_settings(n, node_type, settings)
        for setting in node_type.settings:
            value = get(settings, setting.path)
            if value is not None:
                try:
                    from_json(describe(n), setting, value)
                except SidecarError as err:
                    problems.append(str(err).rstrip("."))
    links = graph.get("links", [])
    if not isinstance(links, list):
        problems.append("links must be a list")
        links = []
    for i, link in enumerate(links):
        problems += _link_problems(i, link, nodes, ids)
    if problems:
        raise SidecarError("This pipeline cannot be opened in the editor: {}.".format("; ".join(problems)))


def _unknown_settings(n, node_type, settings):
    known = {}
    for s in node_type.settings:
        known.setdefault(s.path[0], set()).add(s.path[1] if len(s.path) > 1 else None)
    problems = []
    for key, value in settings.items():
        if key not in known:
            problems.append(
                "{}: settings.{} is not known here; it takes {}".format(describe(n), key, ", ".join(sorted(known)))
            )
        elif None not in known[key]:
            if not isinstance(value, dict):
                problems.append("{}: settings.{} must be an object".format(describe(n), key))
                continue
            for sub in sorted(set(value) - known[key]):
                problems.append(
                    "{}: settings.{}.{} is not known here; it takes {}".format(
                        describe(n), key, sub, ", ".join(sorted(known[key]))
                    )
                )
    return problems


def _link_problems(i, link, nodes, ids):
    where = "links[{}]".format(i)
    try:
        ends = [(link[end]["node"], link[end]["socket"]) for end in ("from", "to")]
    except (KeyError, TypeError):
        return ['{} must be {{"from": {{"node", "socket"}}, "to": {{"node", "socket"}}}}'.format(where)]
    problems = []
    for (node_id, socket), side in zip(ends, ("outputs", "inputs")):
        if node_id not in ids:
            problems.append("{}: there is no node '{}'".format(where, node_id))
            continue
        node_type = BY_TYPE.get(nodes[ids[node_id]].get("type"))
        if node_type is not None and socket not in [s[0] for s in getattr(node_type, side)]:
            names = [s[0] for s in getattr(node_type, side)]
            problems.append(
                "{}: {} has no {} '{}'{}".format(
                    where,
                    describe(nodes[ids[node_id]]),
                    side[:-1],
                    socket,
                    " (it has {})".format(", ".join(names)) if names else "",
                )
            )
    return problems
