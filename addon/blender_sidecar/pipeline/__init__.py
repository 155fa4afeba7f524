"""The "Sidecar Pipeline" node editor (docs/pipeline.md, "In Blender"): pipelines built from configured steps, run
as one job on the sidecar, with each node showing its progress.

Modules: `form` (the JSON form's node types and settings, no bpy: it gathers `catalog`, made from the sidecar's
tables.json and dressed by `fields`, `codecs`, `import_checks` and `templates`), `runs` (what the sidecar said about runs, no bpy),
`nodes` (the tree, sockets and node classes), `serialize` (tree <-> JSON), `sync` (runs -> nodes, on the drain
timer), `operators`, `gui`. Like the add-on's package, the Blender side is imported inside register() only, so
`form` and `runs` import on plain Python.
"""

import importlib

_MODULES = ("nodes", "operators", "gui")


def _modules():
    return [importlib.import_module("." + name, __package__) for name in _MODULES]


def register():
    from .. import timer
    from . import runs, sync

    runs.reset()
    done = []
    try:
        for module in _modules():
            module.register()
            done.append(module)
    except Exception:
        for module in reversed(done):
            module.unregister()
        raise
    timer.follow(sync.apply, sync.show)


def unregister():
    from .. import timer
    from . import sync

    timer.unfollow(sync.apply, sync.show)
    for module in reversed(_modules()):
        module.unregister()
