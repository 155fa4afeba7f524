"""The studio install test, inside a Blender whose user folders are fresh and empty:
blender -b --factory-startup --python install_test.py -- ZIP MODE OUT_DIR

MODE "legacy" (Blender 3.x): installs the zip with bpy.ops.preferences.addon_install, as Preferences > Add-ons does.
MODE "extension" (4.2+): the zip was installed beforehand with `blender --command extension install-file`.
Then: enable it, let it start its sidecar (the bundled executable: no Node configured), export the scene as GLB in
the background, disable and remove it, and check that no sidecar or worker process is left. Prints INSTALL-OK.
"""
import json
import os
import sys
import time

import addon_utils
import bpy

zip_path, mode, out_dir = sys.argv[sys.argv.index("--") + 1 :][:3]
report = {"blender": bpy.app.version_string, "mode": mode}


def fail(message):
    print("INSTALL-FAIL " + message, flush=True)
    sys.exit(1)


def processes(marker):
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                args = f.read().decode("utf-8", "replace").split("\0")
            with open("/proc/%s/stat" % name) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
        except OSError:
            continue
        if any(marker in a for a in args):
            found.append((int(name), " ".join(args)[:160]))
    return found


def pump(module, until, timeout, what):
    timer = sys.modules[module + ".timer"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        timer.drain()
        if until():
            return
        time.sleep(0.05)
    st = sys.modules[module + ".state"].get()
    fail(
        "waited %d s for %s; connection %s (%s); alerts %s"
        % (timeout, what, st.connection, st.message, [a.text for a in st.alerts][:4])
    )


if mode == "legacy":
    bpy.ops.preferences.addon_install(filepath=zip_path)
    module = "blender_sidecar"
else:
    module = next((m.__name__ for m in addon_utils.modules() if m.__name__.endswith(".blender_sidecar")), None)
    if module is None:
        fail("the extension is not installed")
installed_dir = os.path.dirname(next(m.__file__ for m in addon_utils.modules() if m.__name__ == module))
report["installed"] = installed_dir
if installed_dir.startswith(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))):
    fail("the add-on was loaded from the source tree, not from the installed zip: " + installed_dir)
addon_utils.enable(module, default_set=True, handle_error=lambda e: fail("enable: %s" % e))

state_dir = os.path.join(out_dir, "state")
prefs = bpy.context.preferences.addons[module].preferences
prefs.state_dir = state_dir
prefs.auto_start = False
bpy.ops.sidecar.connect(start=True)
st = sys.modules[module + ".state"].get()
pump(module, lambda: st.connected, 60, "the add-on to start and reach its sidecar")
conn = sys.modules[module + ".connection"].get()
sidecar_cmd = processes(state_dir)
report["sidecar"] = sidecar_cmd[0][1] if sidecar_cmd else None
if not sidecar_cmd or "/sidecar/bin/" not in sidecar_cmd[0][1]:
    fail("expected the bundled executable to run the sidecar, found: %s" % sidecar_cmd)

for obj in bpy.context.view_layer.objects:
    obj.select_set(obj.name == "Cube")
settings = bpy.context.scene.sidecar_settings
settings.export_format = "glb"
settings.export_scope = "SELECTION"
settings.export_output = os.path.join(out_dir, "exports") + "/"
before = set(st.jobs)
bpy.ops.sidecar.export_background()
pump(
    module,
    lambda: any(j.local and j.id not in before and not j.id.startswith("submitting-") for j in st.jobs.values()),
    30,
    "the job to be accepted",
)
job = next(j for j in st.jobs.values() if j.id not in before and not j.id.startswith("submitting-"))
pump(module, lambda: job.state in ("completed", "failed", "canceled"), 120, "the export")
if job.state != "completed":
    fail("the export %s: %s" % (job.state, job.error))
report["output"] = job.output
if not os.path.isfile(job.output) or os.path.getsize(job.output) == 0:
    fail("no GLB at %s" % job.output)

bpy.ops.sidecar.stop_sidecar()
pump(module, lambda: not processes(state_dir), 20, "the sidecar to stop")
addon_utils.disable(module, default_set=True)
if mode == "legacy":
    try:
        bpy.ops.preferences.addon_remove(module=module)
    except RuntimeError as err:
        # 3.4's operator redraws the Preferences area after removing, and there is none in background mode.
        if "tag_redraw" not in str(err):
            raise
    if os.path.exists(installed_dir):
        fail("addon_remove left %s" % installed_dir)
time.sleep(0.5)
left = processes(state_dir) + processes(installed_dir)
if left:
    fail("processes left running: %s" % left)
print("INSTALL-OK " + json.dumps(report), flush=True)
sys.stdout.flush()
os._exit(0)
