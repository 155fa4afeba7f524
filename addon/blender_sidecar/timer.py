"""The one persistent timer: it drains the connection's messages into the panel's state on Blender's main thread,
and redraws the sidebar when something changed. Also what lives while the add-on is enabled: the state, the
connection, the timer and a load_post handler, made in `register()` and all gone after `unregister()`.

Timers only run where Blender has an event loop (with its interface). Scripts run with `blender -b` call `drain()`
themselves.
"""

import logging
import os
import queue
import time

import bpy

from . import connection, preferences, properties, state
from .messages import MsgCallResult

INTERVAL = 0.1  # seconds between runs while connected or busy
IDLE_INTERVAL = 0.5
BUDGET = 0.008  # at most this long applying messages per run; the rest waits for the next run
STALL_NAME = "drain (timer)"

_synced_revision = -1
_autostart_pending = False
# Other parts of the add-on that follow the same messages (pipeline/): (apply, show) pairs; each `apply(msg)` sees
# every message after the panel's state did, and `show(sidecar_state)` runs once per drain.
_followers = []
# Followers that need the drain more often than INTERVAL (sync/: a change from elsewhere shows within its interval):
# owner -> seconds. The timer runs at the shortest of them.
_paces = {}
log = logging.getLogger(__name__)


def drain():
    """Applies queued messages (for at most BUDGET seconds) and redraws; returns the delay until the next run."""
    started = time.perf_counter()
    conn = connection.get()
    if conn is None:
        return None  # the add-on was disabled: end this timer
    sidecar_state = state.get()
    _autostart(conn)
    more = False
    while True:
        try:
            msg = conn.messages.get_nowait()
        except queue.Empty:
            break
        sidecar_state.apply(msg)
        _cleanup(msg)
        _tell_followers(0, msg)
        if time.perf_counter() - started > BUDGET:
            more = True
            break
    _show(sidecar_state)
    _tell_followers(1, sidecar_state)
    sidecar_state.record_stall(STALL_NAME, time.perf_counter() - started)
    if more:
        return 0.0
    busy = sidecar_state.connection != "disconnected" or any(j.active for j in sidecar_state.jobs.values())
    return min([INTERVAL if busy else IDLE_INTERVAL] + list(_paces.values()))


def _show(sidecar_state):
    global _synced_revision
    if sidecar_state.revision == _synced_revision:
        return
    wm = bpy.context.window_manager
    if wm is None:
        return
    _synced_revision = sidecar_state.revision
    properties.sync_jobs(wm, sidecar_state)
    for window in wm.windows:
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                for region in area.regions:
                    if region.type == "UI":
                        region.tag_redraw()


def follow(apply, show):
    """Also gives every message to `apply(msg)`, and calls `show(sidecar_state)` after each drain (main thread)."""
    _followers.append((apply, show))


def unfollow(apply, show):
    while (apply, show) in _followers:
        _followers.remove((apply, show))


def set_pace(owner, seconds):
    """Asks for a drain at least every `seconds` for `owner` (None: no longer)."""
    if seconds is None:
        _paces.pop(owner, None)
    else:
        _paces[owner] = seconds


def _tell_followers(which, arg):
    for follower in list(_followers):
        try:
            follower[which](arg)
        except Exception:  # a timer whose function raises is unregistered by Blender: keep draining
            log.exception("a follower of the drain failed")


def _cleanup(msg):
    """A temporary copy the sidecar never accepted is ours to delete (it deletes those of the jobs it takes)."""
    if isinstance(msg, MsgCallResult) and msg.error and msg.context.get("temporary_blend"):
        for path in (msg.context["temporary_blend"], msg.context["temporary_blend"] + "1"):
            try:
                os.remove(path)
            except OSError:
                pass


def _autostart(conn):
    """Start Automatically, on the first run after register: the preferences exist by then (not yet while an
    add-on registers the first time), and a script that enables the add-on has had its chance to set them."""
    global _autostart_pending
    if not _autostart_pending:
        return
    _autostart_pending = False
    try:
        prefs = preferences.get()
    except KeyError:
        return
    if prefs.auto_start:
        conn.connect(preferences.launch_settings(start=True))


@bpy.app.handlers.persistent
def _on_load_post(*_args):
    # Another file may bring its own window manager: rebuild the Jobs list's rows on the next run.
    global _synced_revision
    _synced_revision = -1


def register():
    global _synced_revision, _autostart_pending
    state.reset(bpy.app.binary_path)
    connection.start_service()
    _synced_revision = -1
    # Never in background Blenders: the sidecar's own workers are Blenders that may load this add-on.
    _autostart_pending = not bpy.app.background
    bpy.app.timers.register(drain, first_interval=INTERVAL, persistent=True)
    bpy.app.handlers.load_post.append(_on_load_post)


def unregister():
    global _autostart_pending
    _autostart_pending = False
    if bpy.app.timers.is_registered(drain):
        bpy.app.timers.unregister(drain)
    while _on_load_post in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(_on_load_post)
    connection.stop_service()
