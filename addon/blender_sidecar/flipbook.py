"""The flipbook: a render job's frames opened in an Image Editor as one image sequence, to scrub and play.

The sequence is found on disk from a frame the job wrote (the frames named like it: same name around the last run of
digits, same extension), loaded as a SEQUENCE image, and shown in the Image Editor that Blender's own View Render
(F11) opens, so it appears where the artist's preferences put rendered images (a new window by default). The image
follows the timeline: the scene's start frame shows the first frame, and playing the scene plays the frames.
"""

import os
import re

import bpy
from bpy.props import StringProperty

from . import operators
from .errors import SidecarError

_NUMBERED = re.compile(r"^(.*?)(-?\d+)(\D*)$")


def find_sequence(frame_path):
    """The frames beside `frame_path` named like it: (first frame's path, sorted frame numbers)."""
    folder, name = os.path.split(frame_path)
    match = _NUMBERED.match(name)
    if not match:
        raise SidecarError("{} has no frame number in its name, so it is not part of a sequence.".format(name))
    prefix, digits, suffix = match.groups()
    pattern = re.compile(r"^{}(-?\d{{{}}}){}$".format(re.escape(prefix), len(digits.lstrip("-")), re.escape(suffix)))
    try:
        names = os.listdir(folder)
    except OSError as err:
        raise SidecarError("The frames' folder {} cannot be read: {}.".format(folder, err.strerror))
    numbers = {}
    for other in names:
        m = pattern.match(other)
        if m:
            numbers[int(m.group(1))] = other
    if not numbers:
        raise SidecarError("No frames like {} are left in {}.".format(name, folder))
    frames = sorted(numbers)
    return os.path.join(folder, numbers[frames[0]]), frames


def load_sequence(first_path, frames, name):
    """A SEQUENCE image of the frames (the one already loaded, reloaded, when the flipbook is opened again)."""
    image = next(
        (i for i in bpy.data.images if i.source == "SEQUENCE" and bpy.path.abspath(i.filepath) == first_path), None
    )
    if image is None:
        image = bpy.data.images.load(first_path, check_existing=False)
        image.source = "SEQUENCE"
        image.name = name
    else:
        image.reload()
    return image


def show_in_image_editor(context, image, frames):
    """Opens Blender's render view (F11) and puts the sequence in its Image Editor; returns that area."""
    known = {a.as_pointer() for w in context.window_manager.windows for a in w.screen.areas if a.type == "IMAGE_EDITOR"}
    bpy.ops.render.view_show("INVOKE_DEFAULT")
    areas = [a for w in context.window_manager.windows for a in w.screen.areas if a.type == "IMAGE_EDITOR"]
    if not areas:
        raise SidecarError("Blender opened no Image Editor to show the frames in.")
    area = next((a for a in areas if a.as_pointer() not in known), areas[-1])
    space = area.spaces.active
    space.image = image
    user = space.image_user
    first, last = frames[0], frames[-1]
    user.frame_duration = last - first + 1
    user.frame_start = context.scene.frame_start
    user.frame_offset = first - 1
    user.use_auto_refresh = True
    user.use_cyclic = True
    area.tag_redraw()
    return area


class SIDECAR_OT_open_flipbook(operators._SidecarOperator, bpy.types.Operator):
    """Open the job's frames in an Image Editor as an image sequence: scrub or play the timeline to see them"""

    bl_idname = "sidecar.open_flipbook"
    bl_label = "Flipbook"

    job_id: StringProperty(name="Job", description="The render job whose frames to show (empty: the selected one)")

    def run(self, context):
        if bpy.app.background:
            raise SidecarError("The flipbook needs Blender's interface (this Blender runs in the background).")
        job = operators._job(self.job_id)
        result = job.result if isinstance(job.result, dict) else {}
        frame = job.last_frame_path or result.get("firstOutput") or ""
        if job.kind != "render" or not frame:
            raise SidecarError("{} has no rendered frames yet.".format(job.label or job.id))
        first_path, frames = find_sequence(frame)
        image = load_sequence(first_path, frames, "Flipbook {}".format(job.label or job.id))
        show_in_image_editor(context, image, frames)
        self.report(
            {"INFO"}, "{}: {} frames in the Image Editor; play the timeline to see them.".format(job.label, len(frames))
        )


classes = (SIDECAR_OT_open_flipbook,)
register, unregister = bpy.utils.register_classes_factory(classes)
