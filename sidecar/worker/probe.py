"""Print what this Blender is and can do, as one JSON line: `SIDECAR_PROBE {...}`.

Run as `blender -b --factory-startup --python probe.py`. The sidecar caches the answer.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bpy  # noqa: E402

from sidecar_worker import bake, formats, simulation  # noqa: E402
from sidecar_worker.tables import ENGINE_NAMES  # noqa: E402


def available_engines():
    # The engine enum is filled at run time (Cycles registers itself), so ask by trying each known name.
    render = bpy.context.scene.render
    found = []
    for name in [identifier for identifiers in ENGINE_NAMES.values() for identifier in identifiers]:
        try:
            render.engine = name
            found.append(name)
        except TypeError:
            pass
    return found


def main():
    engines = available_engines()
    info = {
        "version": ".".join(str(v) for v in bpy.app.version),
        "versionTuple": list(bpy.app.version),
        "python": sys.version.split()[0],
        "exportFormats": formats.available_formats(),
        "engines": engines,
        "bakeTypes": bake.bake_types(),
        "simulationBake": simulation.supported(),
    }
    sys.stdout.write("SIDECAR_PROBE " + json.dumps(info) + "\n")
    sys.stdout.flush()


main()
