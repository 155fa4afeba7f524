"""The pipeline templates shipped with the sidecar, and what the editor reads from a graph's JSON without turning it
into nodes (no bpy): where its outputs go, where nodes without a location are laid out, the graph without `ui`."""

import json
import os

from ..errors import SidecarError
from .codecs import is_number

TEMPLATE_FOLDER = os.path.join("sidecar", "pipelines", "templates")


def template_dirs(addon_dir):
    """Where the templates may be, in order: beside the packaged add-on, then in a development checkout (the
    add-on's folder is often a link into one)."""
    repo = os.path.dirname(os.path.dirname(os.path.realpath(addon_dir)))
    return [os.path.join(addon_dir, TEMPLATE_FOLDER), os.path.join(repo, TEMPLATE_FOLDER)]


def templates(addon_dir):
    """[(id, name, description, path)] of the first template folder that exists, sorted by id."""
    for folder in template_dirs(addon_dir):
        if os.path.isdir(folder):
            found = []
            for file_name in sorted(os.listdir(folder)):
                if file_name.endswith(".json"):
                    path = os.path.join(folder, file_name)
                    try:
                        graph = read_json(path)
                    except SidecarError:
                        continue
                    found.append(
                        (file_name[:-5], graph.get("name") or file_name[:-5], graph.get("description", ""), path)
                    )
            return found
    return []


def read_json(path):
    """The JSON in `path`; raises SidecarError saying why it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as err:
        raise SidecarError("Cannot read {}: {}.".format(path, err.strerror or err))
    except ValueError as err:
        raise SidecarError("{} is not JSON: {}.".format(path, err))


def without_ui(graph):
    """The graph without its `ui` fields (what the sidecar reads): for comparing two graphs."""
    graph = {k: v for k, v in graph.items() if k != "ui"}
    graph["nodes"] = [{k: v for k, v in n.items() if k != "ui"} for n in graph.get("nodes", [])]
    return graph


def auto_locations(graph, dx=260, dy=340):
    """{node id: [x, y]} for the nodes whose `ui` has no location: a column per step of the longest path from a node
    without inputs (so links run left to right), a row per node in its column."""
    nodes = [n for n in graph.get("nodes", []) if isinstance(n, dict) and isinstance(n.get("id"), str)]
    inputs = {n["id"]: [] for n in nodes}
    for link in graph.get("links", []):
        try:
            inputs[link["to"]["node"]].append(link["from"]["node"])
        except (KeyError, TypeError):
            continue
    depth = {}

    def column(node_id, seen=()):
        if node_id not in depth:
            ups = [u for u in inputs.get(node_id, []) if u in inputs and u not in seen]  # a cycle ends here
            depth[node_id] = 1 + max((column(u, seen + (node_id,)) for u in ups), default=-1)
        return depth[node_id]

    rows = {}
    placed = {}
    for n in nodes:
        if not _is_location((n.get("ui") or {}).get("location")):
            x = column(n["id"])
            placed[n["id"]] = [x * dx, -rows.get(x, 0) * dy]
            rows[x] = rows.get(x, 0) + 1
    return placed


def _is_location(value):
    return isinstance(value, list) and len(value) == 2 and all(is_number(v) for v in value)


def output_folder(graph, base_dir):
    """The folder of the first export, render or report output, with // resolved against `base_dir` and the part
    from the first {field} on cut off ("//export/{name}.glb" -> BASE/export): what Open Folder opens."""
    for n in graph.get("nodes", []):
        if n.get("type") in ("export", "render", "report"):
            output = (n.get("settings") or {}).get("output")
            if not output:
                continue
            fixed = output.split("{", 1)[0]
            if output.startswith("//"):
                if not base_dir:
                    continue
                fixed = os.path.join(base_dir, fixed[2:])
            folder = fixed if fixed.endswith(("/", os.sep)) else os.path.dirname(fixed)
            return os.path.normpath(folder)
    return ""


def uses_base_dir(graph):
    """Whether an output of the graph starts with // (and so needs the blend file's folder)."""
    return any(
        isinstance((n.get("settings") or {}).get("output"), str) and n["settings"]["output"].startswith("//")
        for n in graph.get("nodes", [])
    )
