"""Geometry Nodes parameter sync (docs/addon.md, "Sync"; docs/gn-sync.md): a Geometry Nodes modifier whose Sync toggle
is on shares its inputs on a channel of the sidecar with other Blenders and scripts.

Modules: `values` (sync values and socket types; no bpy), `replica` (one channel's state, what to send and apply,
conflicts; no bpy), `messages` (what the reader thread queues; no bpy), `inputs` (a modifier's inputs by name on 3.x,
4.x and 5.x), `engine` (the main-thread side: bindings, noticing edits, applying changes, handlers), `props`
(`Object.sidecar_gn_sync`), `ops` (`SIDECAR_OT_gn_*`), `panel` (the Sync section).

The bpy modules are imported in register() only: `blender_sidecar.sync.replica` must import on plain Python.
"""

# Reload Scripts re-runs this file in the same namespace (see the package's __init__): reload the modules too.
_RELOADING = "_SUBMODULES" in globals()
_SUBMODULES = ("values", "replica", "messages", "inputs", "engine", "props", "ops", "panel")


def _load():
    import importlib

    global _RELOADING
    modules = [importlib.import_module("." + name, __package__) for name in _SUBMODULES]
    if _RELOADING:
        _RELOADING = False
        modules = [importlib.reload(m) for m in modules]
    return {m.__name__.rsplit(".", 1)[1]: m for m in modules}


def register():
    m = _load()
    m["props"].register()
    m["ops"].register()
    m["panel"].register()
    m["engine"].start()


def unregister():
    m = _load()
    m["engine"].stop()
    m["panel"].unregister()
    m["ops"].unregister()
    m["props"].unregister()
