"""Blender Sidecar: background renders and exports on a local sidecar's pool of warm Blender processes.

One source tree for both ways Blender loads add-ons: a legacy add-on (`bl_info`, Blender 3.4 to 4.1, and 4.2+ as a
legacy add-on) and an extension (`blender_manifest.toml`, Blender 4.2+, imported as `bl_ext.<repo>.blender_sidecar`).
Hence relative imports only, and `__package__` wherever the module's name matters.

Kept importable without bpy: `blender_sidecar.wire` is also a plain-Python scripting client, imported with
`sys.path.insert(0, "addon")` outside Blender. The Blender side is imported inside register() only.

Modules, one job each: `wire/` (the JSON-RPC client, no bpy), `launcher` (Node and the sidecar program, no bpy),
`connection` (finding/starting the sidecar, the client, reconnecting, the message queue; no bpy), `messages`,
`state` (what the panel shows; no bpy), `timer` (the one drain timer), `preferences`, `properties`, `snapshot`
(the .blend a job opens), `operators`, `gui`, `thumbnail` (reading a preview PNG, no bpy), `previews` (render
jobs' thumbnails), `flipbook` (a job's frames in an Image Editor), the package `pipeline/` (the Sidecar Pipeline node editor), and the
package `sync/` (Geometry Nodes parameter sync).
"""

bl_info = {
    "name": "Blender Sidecar",
    "author": "Blender Sidecar contributors",
    "version": (0, 1, 0),
    "blender": (3, 4, 0),
    "location": "3D Viewport > Sidebar > Sidecar",
    "description": "Background renders and exports on a pool of warm Blender processes, driven by a local sidecar.",
    "category": "Render",
}

# Blender's Reload Scripts runs importlib.reload() on this package (after unregister): this file then runs again in
# the same namespace, and the flat modules below must be reloaded too, or their old code stays.
_RELOADING = "_MODULES" in globals()

# Registered in this order, unregistered in reverse: preferences first (the timer reads them), the timer last
# (it starts the connection, which may start the sidecar).
_MODULES = (
    "preferences",
    "properties",
    "operators",
    "gui",
    "previews",
    "flipbook",
    "bake",
    "baked_maps",
    "pipeline",
    "sync",
    "timer",
)
# Every flat module, dependencies first (the order a reload needs); wire/ is left as it is.
_RELOAD_ORDER = (
    "errors",
    "launcher",
    "messages",
    "connection",
    "state",
    "snapshot",
    "preferences",
    "properties",
    "operators",
    "gui",
    "thumbnail",
    "previews",
    "flipbook",
    "bake",
    "timer",
    "baked_maps",
    # the pipeline editor (a package: its modules, then the package itself)
    "pipeline.form",
    "pipeline.runs",
    "pipeline.nodes",
    "pipeline.serialize",
    "pipeline.sync",
    "pipeline.operators",
    "pipeline.gui",
    "pipeline",
    # Geometry Nodes sync (a package: it reloads its own modules when reloaded)
    "sync",
)


def _modules():
    import importlib

    global _RELOADING
    if _RELOADING:
        _RELOADING = False
        for name in _RELOAD_ORDER:
            importlib.reload(importlib.import_module("." + name, __package__))
    return [importlib.import_module("." + name, __package__) for name in _MODULES]


def register():
    done = []
    try:
        for module in _modules():
            module.register()
            done.append(module)
    except Exception:
        for module in reversed(done):
            module.unregister()
        raise


def unregister():
    for module in reversed(_modules()):
        module.unregister()
