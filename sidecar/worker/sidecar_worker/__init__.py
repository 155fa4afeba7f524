"""The sidecar's worker package: the Python that background Blender processes run.

`main.py` is the loop (tasks in over stdin, replies out over fd 3, both framed); `probe.py` reports what a Blender can
do. Modules here import bpy, but keep the pure parts (framing, frame paths) free of it so they can be tested alone.
"""
