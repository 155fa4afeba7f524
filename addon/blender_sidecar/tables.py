"""The tables the sidecar writes for the add-on (tables.json beside this file, made by `npm run tables` from
sidecar/domain/tables.ts): export formats, image formats and their short names, the pipeline's node types and their
settings as JSON Schema. Read here once; no bpy, so the plain-Python tests read them too."""

import json
import os

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tables.json")

with open(PATH, encoding="utf-8") as _f:
    TABLES = json.load(_f)

# (identifier, label, description): the items of an EnumProperty.
EXPORT_FORMAT_ITEMS = tuple((f["format"], f["label"], f["description"]) for f in TABLES["exportFormats"])
# format -> the extension a file of it gets when the output names a folder or has none.
EXPORT_EXTENSIONS = {f["format"]: f["extensions"][0] for f in TABLES["exportFormats"]}
IMAGE_FORMAT_ITEMS = tuple((f["format"], f["label"], "") for f in TABLES["imageFormats"])
# The short names the sidecar also takes for an image format ("exr"), lower case -> Blender's name.
IMAGE_FORMAT_ALIASES = dict(TABLES["imageFormatAliases"])
# (identifier, label, description) of the engines a render may name.
ENGINE_ITEMS = tuple((e["engine"], e["label"], "") for e in TABLES["renderEngines"])
MOVIE_CODEC_ITEMS = tuple((c["codec"], c["label"], c["description"]) for c in TABLES["movieCodecs"])
PIPELINE_VERSION = TABLES["pipelineVersion"]
# [{type, title, summary, inputs, outputs, settings (JSON Schema)}], as the sidecar's `pipeline.schema` answers.
NODE_TYPES = TABLES["nodeTypes"]
