"""A preview movie of a job's frames, encoded by Blender's own FFmpeg, then read back to check it.

The frames go in as one image strip of a scratch scene's sequencer (no camera, no re-render), at the frames' own size.
A scene-linear sequence (OpenEXR, HDR) gets the render scene's view transform, as the artist saw it; a display-referred
one (PNG, JPEG, ...) already carries it and goes through the plain Standard view. The movie is then loaded as a
MovieClip, and its frame count and size are returned for the sidecar to check before the job completes.
Checked on Blender 3.4, 4.3 and 5.2: 5.x names the sequencer's collection `strips` (was `sequences`) and asks for
`image_settings.media_type = "VIDEO"` before `file_format = "FFMPEG"`.
"""
import os

import bpy

from . import scenes
from .errors import TaskInputError
from .preview import LINEAR_FORMATS
from .tables import MOVIE_CODECS, MOVIE_CONTAINERS

SCRATCH_SCENE = "sidecar-movie"

# The sidecar's codec names -> Blender's ffmpeg.codec; container by the output's extension -> ffmpeg.format (the
# sidecar's tables, sidecar/domain/render/movie.ts).
CODECS = MOVIE_CODECS
CONTAINERS = MOVIE_CONTAINERS


def _frame_size(path):
    image = bpy.data.images.load(path, check_existing=False)
    try:
        return image.size[0], image.size[1]
    finally:
        bpy.data.images.remove(image)


def _strip_of(scratch, frames):
    folder = os.path.dirname(frames[0])
    if any(os.path.dirname(f) != folder for f in frames):
        raise TaskInputError("a preview movie needs its frames in one folder")
    editor = scratch.sequence_editor_create()
    collection = editor.strips if hasattr(editor, "strips") else editor.sequences
    strip = collection.new_image("frames", frames[0], 1, 1)
    for path in frames[1:]:
        strip.elements.append(os.path.basename(path))
    return strip


def _colour(scratch, scene, file_format):
    view = scratch.view_settings
    scratch.display_settings.display_device = scene.display_settings.display_device
    if file_format in LINEAR_FORMATS:
        view.view_transform = scene.view_settings.view_transform
        view.look = scene.view_settings.look
        view.exposure = scene.view_settings.exposure
        view.gamma = scene.view_settings.gamma
    else:
        view.view_transform = "Standard"


def _output(scratch, task, width, height):
    render = scratch.render
    render.resolution_x, render.resolution_y, render.resolution_percentage = width, height, 100
    fps = float(task.get("fps") or 24)
    render.fps = int(-(-fps // 1))  # fractional rates (23.976) are fps / fps_base, as Blender stores them
    render.fps_base = render.fps / fps
    settings = render.image_settings
    if hasattr(settings, "media_type"):
        settings.media_type = "VIDEO"
    settings.file_format = "FFMPEG"
    ext = os.path.splitext(task["output"])[1].lower()
    render.ffmpeg.format = CONTAINERS[ext]
    render.ffmpeg.codec = CODECS[task.get("codec") or "h264"]
    render.use_file_extension = False
    render.filepath = task["path"]


def read_back(path):
    """What the movie at `path` holds, as Blender reads it: frame count and size."""
    clip = bpy.data.movieclips.load(path, check_existing=False)
    try:
        return {"frames": clip.frame_duration, "width": clip.size[0], "height": clip.size[1]}
    finally:
        bpy.data.movieclips.remove(clip)


def make_movie(task):
    frames = task["frames"]
    if not frames:
        raise TaskInputError("a preview movie needs at least one frame")
    scene = scenes.scene_named(task.get("scene"))
    width, height = _frame_size(frames[0])
    if not width or not height:
        raise RuntimeError("Blender could not read %s, the movie's first frame" % frames[0])
    if width % 2 or height % 2:
        # H.264 and MPEG-4 encode 4:2:0 pictures (the render job checks this before it renders; a pipeline cannot).
        raise TaskInputError(
            "the frames are %dx%d; %s needs an even width and height: change the resolution"
            % (width, height, task.get("codec") or "h264")
        )
    scratch = bpy.data.scenes.new(SCRATCH_SCENE)
    try:
        _strip_of(scratch, frames)
        scratch.frame_start, scratch.frame_end = 1, len(frames)
        _colour(scratch, scene, task.get("fileFormat", ""))
        _output(scratch, task, width, height)
        os.makedirs(os.path.dirname(task["path"]), exist_ok=True)
        result = bpy.ops.render.render(animation=True, scene=scratch.name)
        if "FINISHED" not in result:
            raise RuntimeError("Blender did not finish encoding the movie (%s)" % ", ".join(result))
    finally:
        bpy.data.scenes.remove(scratch)
    if not os.path.exists(task["path"]):
        raise RuntimeError("Blender's FFmpeg wrote no movie at %s" % task["path"])
    return dict(read_back(task["path"]), frameWidth=width, frameHeight=height)
