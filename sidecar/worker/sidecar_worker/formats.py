"""Export formats: which operator writes each, under which name, in this Blender version.

Operators moved between versions (OBJ to `wm.obj_export` in 3.2, PLY to `wm.ply_export` in 3.6, STL to `wm.stl_export`
in 4.1), so each format lists its candidates, newest first, and the first one registered wins. The table is the
sidecar's (sidecar/domain/export/formats.ts), read from tables.json.
"""
import bpy

from .tables import EXPORT_FORMATS

# format -> (label, extensions, [(operator idname, fixed options, selection option, apply-modifiers option)]), from the
# sidecar's table (sidecar/domain/export/formats.ts, through tables.json).
FORMATS = {
    f["format"]: (
        f["label"],
        f["extensions"],
        [(e["operator"], e["fixed"], e["selection"], e["applyModifiers"]) for e in f["exporters"]],
    )
    for f in EXPORT_FORMATS
}

# Options the sidecar sets itself: a user passing them would fight the job's own settings.
RESERVED = {"filepath", "check_existing", "filter_glob", "export_format"}


def _operator(idname):
    module, name = idname.split(".")
    op = getattr(getattr(bpy.ops, module), name)
    try:
        op.get_rna_type()
    except KeyError:
        return None
    return op


def resolve(fmt):
    """Returns (operator, fixed options, selection option, apply option) for a format, or None if unavailable."""
    entry = FORMATS.get(fmt)
    if entry is None:
        return None
    for idname, fixed, sel, apply in entry[2]:
        op = _operator(idname)
        if op is not None:
            return idname, op, fixed, sel, apply
    return None


def option_names(op):
    # Hidden properties are the file browser's own (filter_*, display_type): not exporter options.
    return [
        p.identifier
        for p in op.get_rna_type().properties
        if p.identifier != "rna_type" and p.identifier not in RESERVED and not p.is_hidden
    ]


def available_formats():
    out = []
    for fmt, (label, exts, _candidates) in FORMATS.items():
        found = resolve(fmt)
        if found is None:
            continue
        idname, op, _fixed, _sel, _apply = found
        out.append({"format": fmt, "label": label, "extensions": exts, "operator": idname, "options": option_names(op)})
    return out
