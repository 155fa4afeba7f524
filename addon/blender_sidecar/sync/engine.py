"""The sync engine: Blender's side of Geometry Nodes sync. Main thread only.

- A *binding* is a Geometry Nodes modifier whose Sync toggle is on (`Object.sidecar_gn_sync`, props.py), with the
  channel it follows. Each channel in use has a `ChannelReplica` (replica.py), which decides what to send and apply.
- Joining: once its channel is caught up, a modifier takes the channel's value of each input the channel holds, and
  pushes its own value of each input the channel does not hold yet (the first Blender to sync publishes its values).
- Local edits (sliders, typed values, Python) are noticed two ways: a depsgraph_update_post handler, for edits that
  tag the object (the interface does), so they go out at once; and a poll of the bound modifiers on every drain, for
  those that tag nothing (`mod["Socket_2"] = 3` in a script). `seen` holds each input's value as last read from or
  written to Blender, so a value applied from the channel is never taken for an edit (and never echoed back), even
  where Blender stores it rounded (floats are 32-bit).
- The engine follows the add-on's drain (timer.follow): `apply(msg)` for each message of the queue, `show()` after
  them. In each drain, edits made here are noticed and sent before any change from elsewhere is applied, so an edit
  racing a change from elsewhere ends as a conflict, not silently overwritten. While something is synced the drain
  runs every SYNC_INTERVAL seconds (timer.set_pace).
- Changes from elsewhere are written into the modifier, the object is tagged (the depsgraph evaluates it again),
  and the Properties editor and viewports are redrawn.

The engine never waits for the sidecar: it sends with `Connection.call(..., reply=...)` and answers come back as
messages (messages.py).
"""

import collections
import logging
import os
import re
import socket

import bpy

from .. import connection, state, timer
from ..errors import SidecarError
from ..messages import MsgConnection
from . import inputs, messages, values
from .replica import CONFLICT, ChannelReplica, key_id

log = logging.getLogger(__name__)

SYNC_INTERVAL = 0.02  # seconds between drains while a modifier is synced: a change from elsewhere shows within this
DEFAULT_CHANNEL = "default"
CHANNEL_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
NOT_A_CHANNEL = 'The channel "{}" is not a name: use 1 to 64 letters, digits, "-", "_" or ".".'
_MISSING = object()


class Binding(object):
    __slots__ = ("object", "modifier", "channel", "joined")

    def __init__(self, object_name, modifier, channel):
        self.object = object_name
        self.modifier = modifier
        self.channel = channel
        self.joined = False


def client_name():
    """Who this Blender is in the channel (`changedBy` of its writes): one name per Blender process."""
    return "blender:{}:{}".format(socket.gethostname()[:40], os.getpid())


class Engine(object):
    def __init__(self, name=None):
        self.client_name = name or client_name()
        self.replicas = {}  # channel -> ChannelReplica
        self.bindings = {}  # (object name, modifier name) -> Binding
        self.seen = {}  # key id -> value last read from, or written to, Blender
        self.problems = {}  # (object name, modifier name) -> why its Sync toggle does nothing
        self.refusals = {}  # channel -> why the sidecar would not let us follow it (until the next rescan)
        self.stats = collections.Counter()
        self.dirty = True
        self._noticed = False  # edits noticed in this drain already
        self._last_shown = None
        self._failed_applies = set()

    # -- following the drain (timer.follow) ---------------------------------------------------------------------------

    def apply(self, msg):
        """Each message of the add-on's queue. Edits made here are noticed first, before any change from elsewhere."""
        if not self._noticed:
            self._guard(self._notice)
        if isinstance(msg, (messages.MsgGnChanged, messages.MsgGnAnswer, MsgConnection)):
            self._guard(self._message, msg)

    def show(self, _sidecar_state=None):
        """After each drain: notice edits (when no message came), send, and ask for the pace sync needs."""
        if not self._noticed:
            self._guard(self._notice)
        self._guard(self.flush)
        self._noticed = False
        timer.set_pace(self, SYNC_INTERVAL if self.bindings else None)
        shown = self._shown()
        if shown != self._last_shown:  # the Sync panel reads all this: redraw it when it changed
            self._last_shown = shown
            _redraw()

    def _shown(self):
        replicas = tuple((r.name, r.live, r.revision, r.unsent, len(r.conflicts)) for r in self.replicas.values())
        return replicas, len(self.bindings), len(self.problems), len(self.refusals)

    def _notice(self):
        self._noticed = True
        if self.dirty:
            self.rescan()
        self.poll("poll")
        self.flush()

    def _guard(self, fn, *args):
        # An exception escaping a timer function unregisters the timer: the add-on's whole queue would stop.
        try:
            fn(*args)
        except Exception as err:
            log.exception("Geometry Nodes sync failed")
            self.stats["errors"] += 1
            if self.stats["errors"] <= 3:
                state.get().alert("ERROR", "Geometry Nodes sync failed ({}): see the console.".format(err))

    # -- which modifiers are synced ----------------------------------------------------------------------------------

    def rescan(self):
        """Rebuilds the bindings from every object's Sync settings; follows new channels and leaves unused ones."""
        self.dirty = False
        self.problems = {}
        self.refusals = {}
        found = {}
        for obj in bpy.data.objects:
            for item in getattr(obj, "sidecar_gn_sync", ()):
                if not item.sync:
                    continue
                where = (obj.name, item.modifier)
                mod = obj.modifiers.get(item.modifier)
                channel = item.channel.strip() or DEFAULT_CHANNEL
                if mod is None or mod.type != "NODES":
                    self.problems[where] = "{} has no Geometry Nodes modifier named {}.".format(obj.name, item.modifier)
                elif not CHANNEL_NAME.match(channel):
                    self.problems[where] = NOT_A_CHANNEL.format(channel)
                else:
                    old = self.bindings.get(where)
                    same = old is not None and old.channel == channel
                    found[where] = old if same else Binding(obj.name, mod.name, channel)
        for where, old in self.bindings.items():
            if found.get(where) is not old:
                self._forget(old)
        self.bindings = found
        used = {b.channel for b in found.values()}
        for name in list(self.replicas):
            if name not in used:
                self._leave(self.replicas.pop(name))
        for name in used:
            if name not in self.replicas:
                self.replicas[name] = ChannelReplica(name, self.client_name)

    def _forget(self, binding):
        prefix = (binding.object, binding.modifier)
        for kid in [k for k in self.seen if k[:2] == prefix]:
            del self.seen[kid]

    def _leave(self, replica):
        conn = connection.get()
        if replica.live and conn is not None and conn.connected:
            try:
                reply = messages.answer("unsubscribe", replica.name, 0)
                conn.call("gn.unsubscribe", {"channel": replica.name}, reply=reply)
            except SidecarError:
                pass

    def bound_objects(self):
        return {b.object for b in self.bindings.values()}

    # -- edits made here -------------------------------------------------------------------------------------------

    def poll(self, via, objects=None):
        """Reads the bound modifiers (those of `objects` only, when given) and records what changed as edits."""
        for b in list(self.bindings.values()):
            if not b.joined or (objects is not None and b.object not in objects):
                continue
            replica = self.replicas.get(b.channel)
            mod = self._modifier(b)
            if replica is None or mod is None:
                continue
            for inp, value in inputs.read_all(mod):
                kid = (b.object, b.modifier, inp.name)
                old = self.seen.get(kid, _MISSING)
                if old is _MISSING:  # an input added to the group since the modifier joined
                    self._join_input(b, replica, mod, inp, value)
                elif not values.same_value(old, value):
                    self.seen[kid] = value
                    replica.edit(_key(b, inp), inp.kind, value)
                    self.stats["noticed_" + via] += 1

    def flush(self):
        """Catches channels up where needed, joins waiting modifiers, and sends each channel's next write."""
        conn = connection.get()
        connected = conn is not None and conn.connected
        for b in list(self.bindings.values()):
            replica = self.replicas.get(b.channel)
            if not b.joined and replica is not None and replica.live:
                self._join(b, replica)
        for replica in self.replicas.values():
            if not replica.live:
                if connected and replica.subscribing is None and replica.name not in self.refusals:
                    token, params = replica.subscribe_request()
                    try:
                        conn.call("gn.subscribe", params, reply=messages.answer("subscribe", replica.name, token))
                    except SidecarError:
                        replica.subscribe_failed(token)
                continue
            write = replica.next_write()
            if write is None:
                continue
            if not connected:
                replica.failed(write.token)
                continue
            method, params = write.request(replica.name, self.client_name)
            try:
                conn.call(method, params, reply=messages.answer("write", replica.name, write.token))
                self.stats["sent"] += 1
            except SidecarError:
                replica.failed(write.token)

    def _join(self, b, replica):
        mod = self._modifier(b)
        if mod is None:
            return
        for inp, value in inputs.read_all(mod):
            self._join_input(b, replica, mod, inp, value)
        b.joined = True

    def _join_input(self, b, replica, mod, inp, value):
        key = _key(b, inp)
        kid = key_id(key)
        self.seen[kid] = value
        held = replica.entries.get(kid)
        if held is None:
            replica.edit(key, inp.kind, value)  # the channel does not hold it yet: publish ours
        elif kid not in replica.pending:  # an edit made here while away is sent, not overwritten
            self._write(mod, inp, kid, held.type, held.value)

    # -- changes from elsewhere ------------------------------------------------------------------------------------

    def _message(self, msg):
        if isinstance(msg, MsgConnection):
            if msg.state != "connected":
                for replica in self.replicas.values():
                    replica.dropped()
            return
        if isinstance(msg, messages.MsgGnChanged):
            replica = self.replicas.get(msg.params.get("channel"))
            if replica is not None:
                self._apply_all(replica.changed(msg.params.get("changes") or []))
                self._report_conflicts(replica)
            return
        replica = self.replicas.get(msg.channel)
        if replica is None:
            return
        if msg.what == "subscribe":
            self._subscribed(replica, msg)
        elif msg.what == "write":
            self._written(replica, msg)

    def _subscribed(self, replica, msg):
        if not msg.ok:
            replica.subscribe_failed(msg.token)
            if not msg.closed:
                self.refusals[replica.name] = msg.message
                text = 'Cannot follow the Geometry Nodes channel "{}": {}'.format(replica.name, msg.message)
                state.get().alert("ERROR", text)
            return
        answered = replica.subscribed(msg.token, msg.result or {})
        if answered is None:
            return
        applies, snapshot = answered
        if snapshot:  # it replaces what we held: every modifier of the channel joins again
            for b in self.bindings.values():
                if b.channel == replica.name:
                    b.joined = False
        else:
            self._apply_all(applies)
        self._report_conflicts(replica)
        self.stats["subscribed"] += 1

    def _written(self, replica, msg):
        if msg.ok:
            replica.written(msg.token, int((msg.result or {}).get("revision", 0)))
        elif msg.closed:
            replica.failed(msg.token)
        else:
            applies = replica.refused(msg.token, msg.code, msg.data)
            if msg.code == CONFLICT:
                self.stats["conflicts"] += 1
                self._apply_all(applies)
                self._report_conflicts(replica)
            else:
                text = 'The sidecar refused a Geometry Nodes change on channel "{}": {}'
                text = text.format(replica.name, msg.message)
                state.get().alert("ERROR", text)

    def _apply_all(self, applies):
        redraw = False
        for key, value_type, value in applies:
            b = self.bindings.get((key["object"], key["modifier"]))
            if b is None or not b.joined:
                continue  # not synced here, or it takes the channel's values when it joins
            mod = self._modifier(b)
            inp = next((i for i in inputs.inputs(mod) if i.name == key["input"]), None) if mod is not None else None
            if inp is None:
                continue  # the channel holds an input this modifier's group does not have
            redraw = self._write(mod, inp, key_id(key), value_type, value) or redraw
        if redraw:
            _redraw(values=True)

    def _write(self, mod, inp, kid, value_type, value):
        """Shows a value from the channel in the modifier unless it is there already; records it as seen."""
        try:
            current = inputs.read(mod, inp)
            length = len(current) if isinstance(current, list) else None
            wanted = values.for_socket(inp.kind, value_type, value, length)
            stored = wanted if inp.kind in values.REFERENCE_TYPES else values.normalized(inp.kind, wanted)
            if values.same_value(current, stored):
                self.seen[kid] = current
                return False
            inputs.write(mod, inp, value_type, value)
            self.seen[kid] = inputs.read(mod, inp)
        except (ValueError, KeyError, AttributeError, TypeError) as err:
            if (kid, repr(value)) not in self._failed_applies:
                self._failed_applies.add((kid, repr(value)))
                why = str(err).rstrip(".")
                text = "Cannot show the channel's {} in {} > {}: {}.".format(kid[2], kid[0], kid[1], why)
                state.get().alert("WARN", text)
            return False
        self.stats["applied"] += 1
        return True

    def _report_conflicts(self, replica):
        fresh = replica.take_fresh_conflicts()
        for conflict in fresh:
            key = conflict.key
            state.get().alert(
                "WARN",
                "{} of {} > {} was changed by {} while you edited it: took theirs ({}); yours was {}. Push Mine in the "
                "Sync panel sends yours.".format(
                    key["input"],
                    key["object"],
                    key["modifier"],
                    conflict.changed_by,
                    values.describe(conflict.theirs_type, conflict.theirs),
                    values.describe(conflict.mine_type, conflict.mine),
                ),
            )
        if fresh:
            _redraw()

    # -- conflicts (the panel's buttons) -----------------------------------------------------------------------------

    def conflicts(self):
        """[(channel, Conflict)], oldest first."""
        return [(r.name, c) for r in self.replicas.values() for c in r.conflicts.values()]

    def take_theirs(self, channel=None, key=None):
        """Keeps the channel's value of the conflicts named (all when none is): returns how many there were."""
        done = 0
        for replica, kid in self._named(channel, key):
            theirs = replica.take_theirs(kid)
            if theirs is not None:
                self._apply_all([theirs])
            done += 1
        _redraw()
        return done

    def push_mine(self, channel=None, key=None):
        """Sends this Blender's value of the conflicts named again, based on the latest revision; shows it here."""
        done = 0
        for replica, kid in self._named(channel, key):
            mine = replica.push_mine(kid)
            if mine is not None:
                self._apply_all([mine])
                done += 1
        self.flush()
        _redraw()
        return done

    def _named(self, channel, key):
        wanted = key_id(key) if key is not None else None
        return [
            (r, kid)
            for r in self.replicas.values()
            if channel is None or r.name == channel
            for kid in list(r.conflicts)
            if wanted is None or kid == wanted
        ]

    # -- helpers ---------------------------------------------------------------------------------------------------

    def _modifier(self, b):
        obj = bpy.data.objects.get(b.object)
        mod = obj.modifiers.get(b.modifier) if obj is not None else None
        if mod is None or mod.type != "NODES":
            self.dirty = True  # renamed or deleted: the next drain looks again
            return None
        return mod

    def status(self, object_name, modifier):
        """One line for the panel: how this modifier's sync stands."""
        problem = self.problems.get((object_name, modifier))
        if problem:
            return problem, "ERROR"
        b = self.bindings.get((object_name, modifier))
        if b is None:
            return "", "NONE"
        replica = self.replicas.get(b.channel)
        if replica is None:
            return "Starting.", "SORTTIME"
        if b.channel in self.refusals:
            return self.refusals[b.channel], "ERROR"
        unsent = replica.unsent
        if not replica.live:
            text = "Waiting for the sidecar"
            return text + (" ({} edits to send).".format(unsent) if unsent else "."), "SORTTIME"
        text = "Revision {}".format(replica.revision)
        if unsent:
            text += ", sending {}".format(unsent)
        return text, "CHECKMARK"


def _key(b, inp):
    return {"object": b.object, "modifier": b.modifier, "input": inp.name}


def _redraw(values=False):
    """Redraws the Sync panel (the sidebars of 3D viewports) and, when values were applied, the Properties editors
    (the modifier's panel). Viewports redraw by themselves after the depsgraph evaluates the changed object."""
    wm = bpy.context.window_manager
    if wm is None:
        return
    for window in wm.windows:
        for area in window.screen.areas:
            if area.type == "PROPERTIES" and values:
                area.tag_redraw()
            elif area.type == "VIEW_3D":
                for region in area.regions:
                    if region.type == "UI":
                        region.tag_redraw()


# -- the one engine while the add-on is enabled ----------------------------------------------------------------------

_engine = None


def get():
    """The sync engine (None while the add-on is disabled)."""
    return _engine


@bpy.app.handlers.persistent
def _on_depsgraph_update(scene, depsgraph):
    # Edits made in the interface tag the object: send them now rather than at the next drain.
    engine = _engine
    if engine is None or not engine.bindings:
        return
    bound = engine.bound_objects()
    touched = set()
    for update in depsgraph.updates:
        data = update.id
        if isinstance(data, bpy.types.Object):
            name = data.original.name
            if name in bound:
                touched.add(name)
    if touched:
        engine._guard(_notice, engine, touched)


def _notice(engine, objects):
    engine.poll("depsgraph", objects)
    engine.flush()


@bpy.app.handlers.persistent
def _on_load_post(*_args):
    # Another file: its own Sync settings, and its modifiers join the channels they name.
    engine = _engine
    if engine is not None:
        engine.bindings = {}
        engine.seen = {}
        engine.dirty = True


@bpy.app.handlers.persistent
def _on_undo(*_args):
    # Undo may bring back other Sync settings; values it brings back are edits, noticed by the poll.
    engine = _engine
    if engine is not None:
        engine.dirty = True


_HANDLERS = (
    ("depsgraph_update_post", _on_depsgraph_update),
    ("load_post", _on_load_post),
    ("undo_post", _on_undo),
    ("redo_post", _on_undo),
)


def start():
    """Makes the engine and hooks it to the drain, the connection's gn.changed notifications and Blender's handlers."""
    global _engine
    _engine = Engine()
    connection.route_notification("gn.changed", messages.MsgGnChanged)
    timer.follow(_engine.apply, _engine.show)
    for name, handler in _HANDLERS:
        getattr(bpy.app.handlers, name).append(handler)
    return _engine


def stop():
    global _engine
    for name, handler in _HANDLERS:
        handlers = getattr(bpy.app.handlers, name)
        while handler in handlers:
            handlers.remove(handler)
    if _engine is not None:
        timer.unfollow(_engine.apply, _engine.show)
        timer.set_pace(_engine, None)
    connection.unroute_notification("gn.changed")
    _engine = None
