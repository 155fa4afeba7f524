"""The add-on's preferences, and `get(context)` / `launch_settings(context)` to read them (never dig into
`context.preferences.addons[...]` elsewhere)."""

import os

import bpy
from bpy.props import BoolProperty, IntProperty, StringProperty

from . import connection, launcher
from .wire import default_state_dir

ADDON_DIR = os.path.dirname(os.path.abspath(__file__))


class SidecarPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    node_path: StringProperty(
        name="Node Executable",
        subtype="FILE_PATH",
        description="Node.js 20 or newer, to run the sidecar. Empty: node on PATH, then the usual install places",
    )
    sidecar_path: StringProperty(
        name="Sidecar File",
        subtype="FILE_PATH",
        description="The sidecar to start (blender-sidecar.mjs, or a blender-sidecar executable). Empty: the bundled one",
    )
    state_dir: StringProperty(
        name="State Folder",
        subtype="DIR_PATH",
        description="Where the sidecar keeps sidecar.json, its jobs and logs. Empty: the sidecar's default, which the "
        "blender-sidecar command line and scripts use too",
    )
    port: IntProperty(
        name="Port", min=0, max=65535, default=0, description="The port a started sidecar listens on (0: any free one)"
    )
    instances: IntProperty(
        name="Instances",
        min=0,
        max=64,
        default=0,
        description="Background Blenders a started sidecar runs at most (0: decided from cores and memory)",
    )
    auto_start: BoolProperty(
        name="Start Automatically",
        default=True,
        description="When Blender opens (with its interface), connect to the running sidecar or start one; also "
        "start it again when it dies",
    )

    stop_with_blender: BoolProperty(
        name="Stop Background Jobs When Blender Closes",
        default=False,
        description="Off: renders and exports started in the background finish after Blender closes, and the sidecar "
        "stops once they are done (a desktop notification says when). On: closing Blender stops them",
    )

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        col = layout.column()
        col.prop(self, "node_path")
        col.prop(self, "sidecar_path")
        col.prop(self, "state_dir")
        if not self.state_dir:
            col.label(text="Default: {}".format(default_state_dir()), icon="BLANK1")
        col.prop(self, "port")
        col.prop(self, "instances")
        col.prop(self, "auto_start")
        col.prop(self, "stop_with_blender")


def get(context=None):
    """This add-on's preferences."""
    context = context or bpy.context
    return context.preferences.addons[__package__].preferences


def launch_settings(context=None, start=True):
    """What the connection needs to find or start a sidecar for this Blender."""
    prefs = get(context)
    return connection.LaunchSettings(
        blender=bpy.app.binary_path,
        parent_pid=os.getpid(),
        addon_dir=ADDON_DIR,
        state_dir=bpy.path.abspath(prefs.state_dir) if prefs.state_dir else "",
        node=bpy.path.abspath(prefs.node_path) if prefs.node_path else "",
        sidecar=bpy.path.abspath(prefs.sidecar_path) if prefs.sidecar_path else "",
        port=prefs.port,
        instances=prefs.instances,
        start=start,
        stop_with_blender=prefs.stop_with_blender,
    )


def check_launch(settings):
    """The checks that take no time (files on disk, PATH), so an operator can report them at once; the slower ones
    (Node's version, the start itself) run on the connection's thread."""
    program = launcher.find_sidecar(settings.sidecar, settings.addon_dir)
    if program.needs_node:
        launcher.find_node(settings.node)


classes = (SidecarPreferences,)
register, unregister = bpy.utils.register_classes_factory(classes)
