"""What a .blend holds, as far as a render job needs to know before it plans frames."""
import bpy


def inspect_file(task):
    out = []
    for scene in bpy.data.scenes:
        settings = scene.render.image_settings
        out.append(
            {
                "name": scene.name,
                "frameStart": scene.frame_start,
                "frameEnd": scene.frame_end,
                "frameStep": scene.frame_step,
                "fps": scene.render.fps / scene.render.fps_base,
                "fileFormat": settings.file_format,
                "engine": scene.render.engine,
                "resolution": [
                    scene.render.resolution_x,
                    scene.render.resolution_y,
                    scene.render.resolution_percentage,
                ],
                "camera": scene.camera.name if scene.camera else None,
                "outputPath": scene.render.filepath,
                "useFileExtension": scene.render.use_file_extension,
            }
        )
    cameras = [o.name for o in bpy.data.objects if o.type == "CAMERA"]
    collections = [c.name for c in bpy.data.collections]
    return {
        "activeScene": bpy.context.scene.name,
        "scenes": out,
        "cameras": cameras,
        "collections": collections,
        "objects": len(bpy.data.objects),
        "blenderVersion": ".".join(str(v) for v in bpy.app.version),
    }
