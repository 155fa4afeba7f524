"""A small PNG of a rendered frame, as the artist would see it in Blender.

The frame is loaded from disk (what the preview shows is what was written), scaled so its long side is at most
`size` pixels, and saved through a scratch scene's colour management: a scene-linear frame (OpenEXR, Radiance HDR)
gets the render scene's view transform, look, exposure and gamma, so an EXR does not preview black or washed out; a
display-referred frame (PNG, JPEG, ...) already carries that transform and is saved with the plain Standard view.
The same calls work on Blender 3.4, 4.3 and 5.2 (checked there).
"""
import os

import bpy

# Formats whose pixels are scene-linear light (the sidecar's image-format table): the view transform still has to be
# applied to see them. movie.py imports it from here.
from .tables import LINEAR_FORMATS  # noqa: F401

SCRATCH_SCENE = "sidecar-preview"


def preview_size(width, height, size):
    """The preview's size: the long side `size` at most (never enlarged), the short side at least one pixel."""
    scale = min(1.0, float(size) / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _scratch_scene(scene, file_format):
    scratch = bpy.data.scenes.new(SCRATCH_SCENE)
    view = scratch.view_settings
    scratch.display_settings.display_device = scene.display_settings.display_device
    if file_format in LINEAR_FORMATS:
        view.view_transform = scene.view_settings.view_transform
        view.look = scene.view_settings.look
        view.exposure = scene.view_settings.exposure
        view.gamma = scene.view_settings.gamma
    else:
        view.view_transform = "Standard"
    settings = scratch.render.image_settings
    settings.file_format = "PNG"
    settings.color_mode = "RGBA"
    settings.color_depth = "8"
    settings.compression = 15
    return scratch


def write_preview(scene, frame_path, file_format, preview_path, size):
    """Writes the preview of the frame at `frame_path` to `preview_path`; returns its width and height."""
    image = bpy.data.images.load(frame_path, check_existing=False)
    scratch = None
    try:
        width, height = image.size[0], image.size[1]
        if (not width or not height) and file_format == "OPEN_EXR_MULTILAYER":
            # Checked on 3.4: a multilayer EXR loads without pixels for Python, and the Render Result holds none
            # once the frame is written in the background.
            raise RuntimeError("multilayer OpenEXR frames get no preview (Blender's Python cannot read their pixels)")
        if not width or not height:
            raise RuntimeError("Blender could not read the frame back for its preview")
        target = preview_size(width, height, size)
        if target != (width, height):
            image.scale(target[0], target[1])
        scratch = _scratch_scene(scene, file_format)
        os.makedirs(os.path.dirname(preview_path), exist_ok=True)
        image.save_render(preview_path, scene=scratch)
        return {"width": target[0], "height": target[1]}
    finally:
        bpy.data.images.remove(image)
        if scratch is not None:
            bpy.data.scenes.remove(scratch)
