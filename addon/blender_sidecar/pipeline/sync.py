"""Writes what runs.py learned into the trees: each node's `run` (state and counts) and colour, the tree's job id and
message, and redraws the node editors. Called by the drain timer after each run (main thread); only what changed is
written, so a node editor is not redrawn for nothing.
"""

import bpy

from .. import state
from . import form, nodes, runs, serialize

_synced_revision = -1


def apply(msg):
    runs.get().apply(msg)


def show(sidecar_state):
    """Applies the answers and progress that arrived, then redraws the node editors when anything changed (this
    includes the panel's state: the editor's sidebar shows the job)."""
    global _synced_revision
    model = runs.get()
    changed = False
    for event in model.take_events():
        changed = _event(event, sidecar_state) or changed
    jobs = model.take_changed()
    if jobs:
        for tree in trees():
            if tree.job_id in jobs:
                changed = write_progress(tree, model.nodes.get(tree.job_id, {})) or changed
    if changed or sidecar_state.revision != _synced_revision:
        _synced_revision = sidecar_state.revision
        redraw()


def trees():
    return [t for t in bpy.data.node_groups if t.bl_idname == form.TREE_ID]


def write_progress(tree, progress):
    """Sets each node's `run` from the sidecar's NodeProgress by node id; returns True when anything changed."""
    changed = False
    for node in serialize.pipeline_nodes(tree):
        p = progress.get(node.node_id)
        if isinstance(p, dict):
            changed = set_run(node, p) or changed
    return changed


def set_run(node, p):
    """Sets a node's `run` and colour from a NodeProgress (missing counts are 0); returns True when it changed."""
    run = node.run
    wanted = {name: _int(p.get(name)) for name in runs.COUNTS}
    wanted["state"] = p.get("state") if p.get("state") in _STATES else "none"
    wanted["message"] = str(p.get("message") or "")
    changed = False
    for name, value in wanted.items():
        if getattr(run, name) != value:
            setattr(run, name, value)
            changed = True
    color = nodes.STATE_COLORS.get(run.state)
    if color is None:
        if node.use_custom_color:
            node.use_custom_color = False
    elif not node.use_custom_color or tuple(round(c, 3) for c in node.color) != tuple(round(c, 3) for c in color):
        node.use_custom_color = True
        node.color = color
        changed = True
    return changed


_STATES = {item[0] for item in runs.STATES}


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _event(event, sidecar_state):
    tree = bpy.data.node_groups.get(event.tree)
    if tree is None or tree.bl_idname != form.TREE_ID:
        return False
    if event.kind == "submitted":
        tree.job_id = event.job_id
        tree.message = ""
        for node in serialize.pipeline_nodes(tree):  # until its progress arrives (at once, or first thing)
            set_run(node, {"state": "waiting"})
        return True
    mark_errors(tree, event.errors)
    if event.kind == "validated":
        if event.errors:
            sidecar_state.alert("WARN", "{}: {}".format(_title(tree), _summary(event.errors)))
        else:
            sidecar_state.alert("INFO", "{} is a valid pipeline.".format(_title(tree)))
    else:  # refused: the panel's state has already put the sentence in Alerts
        tree.message = event.error if not event.errors else _summary(event.errors)
    return True


def mark_errors(tree, errors):
    """Marks the nodes the sidecar's errors name as "invalid" with their messages (and clears earlier marks); an
    error that names no node of the tree goes to the tree's message."""
    by_node = {}
    loose = []
    ids = {n.node_id for n in serialize.pipeline_nodes(tree)}
    for error in errors:
        node_id = error.get("node")
        if node_id in ids:
            by_node.setdefault(node_id, []).append(str(error.get("message", "")))
        else:
            loose.append(str(error.get("message", "")))
    for node in serialize.pipeline_nodes(tree):
        messages = by_node.get(node.node_id)
        if messages:
            set_run(node, {"state": "invalid", "message": "; ".join(messages)})
        elif node.run.state == "invalid":
            nodes.clear_run(node)
    tree.message = "; ".join(loose)


def _summary(errors):
    count = len(errors)
    first = str(errors[0].get("message", "")) if errors else ""
    return "{} problem{}: {}{}".format(count, "" if count == 1 else "s", first, " ..." if count > 1 else "")


def _title(tree):
    return "Pipeline {}".format(tree.pipeline_name or tree.name)


def redraw():
    wm = bpy.context.window_manager
    if wm is None:
        return
    for window in wm.windows:
        for area in window.screen.areas:
            if area.type == "NODE_EDITOR":
                area.tag_redraw()


def job_of(tree):
    """The panel state's job for the tree's last run, or None."""
    return state.get().jobs.get(tree.job_id) if tree.job_id else None
