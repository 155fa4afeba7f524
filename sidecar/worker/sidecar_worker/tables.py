"""The tables the sidecar writes for the worker (tables.json beside this file, made by `npm run tables` from
sidecar/domain/tables.ts): export formats and their operators, image formats, render engines, movie codecs and containers, bake
map formats. No bpy here."""
import json
import os

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tables.json")

with open(PATH, encoding="utf-8") as _f:
    TABLES = json.load(_f)

EXPORT_FORMATS = TABLES["exportFormats"]
IMAGE_FORMATS = TABLES["imageFormats"]
# Formats that hold scene-linear values: a preview of them is tone-mapped.
LINEAR_FORMATS = frozenset(f["format"] for f in IMAGE_FORMATS if f["linear"])
# What users may call an engine -> the identifiers Blender versions use for it, newest first.
ENGINE_NAMES = {e["engine"]: e["identifiers"] for e in TABLES["renderEngines"]}
# The sidecar's codec names -> Blender's ffmpeg.codec; a movie's extension -> ffmpeg.format.
MOVIE_CODECS = {c["codec"]: c["ffmpeg"] for c in TABLES["movieCodecs"]}
MOVIE_CONTAINERS = {c["extension"]: c["ffmpeg"] for c in TABLES["movieContainers"]}
# A baked map's file extension -> Blender's image format.
BAKE_IMAGE_FORMATS = dict(TABLES["bakeImageFormats"])
