"""One Blender of the sync tests (test_sync.py) and of bench/gnsync.ts, driven over stdin/stdout.

    blender -b --factory-startup --python test/addon/sync_peer.py -- --state-dir DIR [--name A]

It enables the add-on (harness.Addon: legacy on 3.x, extension on 4.2+), builds the worker's Geometry Nodes grid
(object "Grid", modifier "GeometryNodes", inputs Count, Spacing and Cube Size), connects to the sidecar running in
DIR (it starts none), and then does what Blender's event loop would do, which `blender -b` does not: it drains the
add-on's queue at the pace the drain asks for, evaluates the depsgraph (running depsgraph_update_post handlers), and
between drains waits for commands.

Protocol: one JSON object per line on stdin, {"id": N, "cmd": NAME, ...}; on stdout, lines "@@peer " + JSON:
{"reply": N, ...} for each command ({"reply": N, "error": "..."} when it failed), and events: {"event": "ready"},
{"event": "values", "values": {input: value}, "verts": N} whenever Grid's inputs or its evaluated mesh change.

Commands: "sync" {object, modifier, channel, on}: the Sync toggle (operator sidecar.gn_sync);
"set" {input, value, via}: an edit as a script makes it (via "python": an assignment, which tags nothing) or as the
interface does (via "ui": the object is tagged and the depsgraph evaluated, so the depsgraph handler sees it);
"hold" / "release": stop and resume draining (a main thread busy elsewhere); "state": values, channels, conflicts,
alerts, the engine's counters and the main-thread stalls; "reset_stalls"; "take_theirs" / "push_mine" {input}: the
panel's buttons; "quit".
"""

import argparse
import json
import os
import queue
import sys
import threading
import time
import traceback

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bpy  # noqa: E402

import harness  # noqa: E402

sys.path.insert(0, os.path.join(harness.ROOT, "sidecar", "worker"))
from sidecar_worker import gn_build  # noqa: E402

OBJECT, MODIFIER = "Grid", "GeometryNodes"
PREFIX = "@@peer "


def out(**fields):
    sys.stdout.write(PREFIX + json.dumps(fields) + "\n")
    sys.stdout.flush()


# -- the grid's inputs, read and written the way a user's script would (independent of the add-on's own code) -------


def identifier(mod, name):
    group = mod.node_group
    if hasattr(group, "interface"):
        items = [i for i in group.interface.items_tree if getattr(i, "item_type", "") == "SOCKET"]
        items = [i for i in items if i.in_out == "INPUT"]
    else:
        items = list(group.inputs)
    return next(i.identifier for i in items if i.name == name)


def read(mod, name):
    ident = identifier(mod, name)
    if hasattr(mod, "properties") and hasattr(mod.properties, "inputs"):  # 5.x
        value = getattr(mod.properties.inputs, ident).value
    else:
        value = mod[ident]
    return round(value, 6) if isinstance(value, float) else value


def write(mod, name, value):
    ident = identifier(mod, name)
    if hasattr(mod, "properties") and hasattr(mod.properties, "inputs"):
        getattr(mod.properties.inputs, ident).value = value
    else:
        mod[ident] = value


NAMES = ("Count", "Spacing", "Cube Size")


class Peer(object):
    def __init__(self, args):
        self.args = args
        self.addon = harness.Addon()
        self.commands = queue.Queue()
        self.held = False
        self.last = None
        self.quit = False

    def start(self):
        addon = self.addon
        addon.enable()
        addon.set_prefs(
            node_path=harness.node_for_tests(), state_dir=self.args.state_dir, auto_start=False, port=0, instances=1
        )
        bpy.ops.mesh.primitive_plane_add(size=1)
        grid = bpy.context.active_object
        grid.name = OBJECT
        gn_build.add_grid_modifier(grid)
        bpy.context.view_layer.update()
        bpy.ops.sidecar.connect(start=False)
        addon.pump(lambda: addon.state.connected, 40, "the connection")
        threading.Thread(target=self._read_stdin, name="peer-stdin", daemon=True).start()
        out(event="ready", name=self.args.name, blender=bpy.app.version_string, pid=os.getpid())

    def _read_stdin(self):
        for line in sys.stdin:
            line = line.strip()
            if line:
                self.commands.put(json.loads(line))
        self.commands.put({"cmd": "quit"})

    @property
    def mod(self):
        return bpy.data.objects[OBJECT].modifiers[MODIFIER]

    def run(self):
        next_drain = 0.0
        while not self.quit:
            now = time.monotonic()
            if not self.held and now >= next_drain:
                delay = self.addon.drain()
                next_drain = time.monotonic() + (delay if delay is not None else 0.1)
                bpy.context.view_layer.update()  # what the event loop does after a timer tagged something
                self.report()
            try:
                cmd = self.commands.get(timeout=max(0.0, min(next_drain - time.monotonic(), 0.05)))
            except queue.Empty:
                continue
            self.command(cmd)

    def report(self):
        mod = self.mod
        values = {name: read(mod, name) for name in NAMES}
        evaluated = bpy.data.objects[OBJECT].evaluated_get(bpy.context.evaluated_depsgraph_get())
        verts = len(evaluated.data.vertices)
        if (values, verts) != self.last:
            self.last = (values, verts)
            out(event="values", values=values, verts=verts)

    def command(self, cmd):
        try:
            reply = getattr(self, "cmd_" + cmd["cmd"])(cmd) or {}
        except Exception as err:
            traceback.print_exc()
            reply = {"error": "{}: {}".format(type(err).__name__, err)}
        if "id" in cmd:
            out(reply=cmd["id"], **reply)

    # -- commands -------------------------------------------------------------------------------------------------

    def cmd_sync(self, cmd):
        bpy.ops.sidecar.gn_sync(
            object_name=cmd.get("object", OBJECT),
            modifier_name=cmd.get("modifier", MODIFIER),
            enable=cmd.get("on", True),
            channel=cmd.get("channel", ""),
        )

    def cmd_set(self, cmd):
        mod = self.mod
        write(mod, cmd["input"], cmd["value"])
        if cmd.get("via") == "ui":
            mod.id_data.update_tag()
            bpy.context.view_layer.update()
        return {"value": read(mod, cmd["input"])}

    def cmd_reset_stalls(self, cmd):
        self.addon.state.stalls.clear()

    def cmd_hold(self, cmd):
        self.held = True

    def cmd_release(self, cmd):
        self.held = False

    def cmd_state(self, cmd):
        engine = self.addon.sub("sync.engine").get()
        channels = {
            name: {"revision": r.revision, "epoch": r.epoch, "live": r.live, "unsent": r.unsent}
            for name, r in engine.replicas.items()
        }
        conflicts = [
            {"channel": ch, "input": c.key["input"], "mine": c.mine, "theirs": c.theirs, "changedBy": c.changed_by}
            for ch, c in engine.conflicts()
        ]
        st = self.addon.state
        return {
            "values": {name: read(self.mod, name) for name in NAMES},
            "connection": st.connection,
            "clientName": engine.client_name,
            "channels": channels,
            "conflicts": conflicts,
            "alerts": ["{}: {}".format(a.level, a.text) for a in list(st.alerts)[:10]],
            "stats": dict(engine.stats),
            "status": engine.status(OBJECT, MODIFIER)[0],
            "stalls": {n: {"longest": s.longest, "count": s.count, "total": s.total} for n, s in st.stalls.items()},
        }

    def _conflict_op(self, op, cmd):
        return op(object_name=OBJECT, modifier_name=MODIFIER, input_name=cmd["input"])

    def cmd_take_theirs(self, cmd):
        self._conflict_op(bpy.ops.sidecar.gn_take_theirs, cmd)

    def cmd_push_mine(self, cmd):
        self._conflict_op(bpy.ops.sidecar.gn_push_mine, cmd)

    def cmd_quit(self, cmd):
        self.quit = True


def main():
    argv = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else []
    parser = argparse.ArgumentParser()
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--name", default="peer")
    peer = Peer(parser.parse_args(argv))
    try:
        peer.start()
        peer.run()
    finally:
        if peer.addon.enabled:
            peer.addon.disable()  # closes the connection; the sidecar is the test's
        peer.addon.remove()


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        sys.stdout.flush()
        os._exit(1)
