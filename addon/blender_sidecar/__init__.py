"""Blender Sidecar add-on (placeholder until the Blender side lands).

Kept importable without bpy: `blender_sidecar.wire` is also a plain-Python scripting client, imported with
`sys.path.insert(0, "addon")` outside Blender. Import bpy inside functions, never at module level.
"""

bl_info = {
    "name": "Blender Sidecar",
    "author": "Blender Sidecar contributors",
    "version": (0, 1, 0),
    "blender": (3, 4, 0),
    "location": "Preferences > Add-ons > Blender Sidecar",
    "description": "Background renders and exports on a pool of warm Blender processes, driven by a local sidecar.",
    "category": "System",
}


def register():
    pass


def unregister():
    pass
