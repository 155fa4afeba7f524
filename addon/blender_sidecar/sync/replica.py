"""This Blender's replica of one Geometry Nodes sync channel: what the channel holds, the edits made here that the
sidecar has not accepted yet, and the conflicts to show. No bpy and no sockets: engine.py feeds it the values it reads
from modifiers and the answers and notifications the sidecar sends, and does what it returns (apply a value to a
modifier, send a write).

The rules (see docs/gn-sync.md):
- One write in flight per channel, sent with the last revision this replica applied. Edits made meanwhile wait in
  `pending` (the latest value per input) and go out together once it is answered: a second write sent before the
  first is answered would carry the same base revision and conflict with our own first write.
- Changes are applied in revision order; those at or below `revision` were applied already (a resubscription may
  repeat some) and are skipped. Our own writes come back as changes too (`changedBy` is our client name): they are not
  applied again, so an edit made since then is not overwritten, and nothing is echoed back.
- A conflict is an input changed elsewhere while this Blender had an edit of it under way: either the sidecar
  refuses our write (-32010), or a change from elsewhere arrives for an input whose edit has not been sent yet. Theirs
  is taken (the default); the conflict is kept, with our value, until Take Theirs or Push Mine.
- When the connection drops, an unanswered write's fate is unknown: its changes go back to `pending`, and are
  dropped there if the resync shows they arrived (our own change with the same value).
"""

import collections
import itertools
import time

from .values import same_value

CONFLICT = -32010
MAX_CHANGES = 1000  # most changes one gn.setMany takes; more wait for the next write


def key_id(key):
    return (key["object"], key["modifier"], key["input"])


class Entry(object):
    """An entry of the channel as this replica last heard of it."""

    __slots__ = ("key", "type", "value", "revision", "changed_by")

    def __init__(self, key, value_type, value, revision, changed_by):
        self.key = key
        self.type = value_type
        self.value = value
        self.revision = revision
        self.changed_by = changed_by


class Conflict(object):
    """Our edit of `key` (mine) lost against theirs, which this Blender now shows."""

    __slots__ = ("key", "mine_type", "mine", "theirs_type", "theirs", "revision", "changed_by", "time")

    def __init__(self, key, mine, theirs):
        self.key = key
        self.mine_type, self.mine = mine
        self.theirs_type, self.theirs, self.revision, self.changed_by = theirs
        self.time = time.time()


class Write(object):
    """A write sent and not answered yet: gn.set (one change) or gn.setMany."""

    __slots__ = ("token", "base", "changes")

    def __init__(self, token, base, changes):
        self.token = token
        self.base = base
        self.changes = changes  # key id -> (key, type, value)

    def request(self, channel, client_name):
        """(method, params) for this write."""
        changes = [{"key": k, "type": t, "value": v} for k, t, v in self.changes.values()]
        common = {"channel": channel, "baseRevision": self.base, "clientName": client_name}
        if len(changes) == 1:
            params = dict(changes[0])
            params.update(common)
            return "gn.set", params
        params = dict(common)
        params["changes"] = changes
        return "gn.setMany", params


class ChannelReplica(object):
    """See the module's docstring. `client_name` is what our writes record as `changedBy`."""

    def __init__(self, name, client_name):
        self.name = name
        self.client_name = client_name
        self.epoch = None
        self.revision = 0
        self.live = False  # subscribed on the current connection, caught up
        self.subscribing = None  # the token of the gn.subscribe in flight
        self.entries = {}
        self.pending = collections.OrderedDict()
        self.writing = None
        self.conflicts = collections.OrderedDict()
        self._fresh = []  # conflicts not yet reported (take_fresh_conflicts)
        self._tokens = itertools.count(1)

    # -- subscribing ---------------------------------------------------------------------------------------------

    def subscribe_request(self):
        """(token, params) of the gn.subscribe that catches this replica up (from its revision when it has one)."""
        token = next(self._tokens)
        self.subscribing = token
        params = {"channel": self.name}
        if self.epoch is not None:
            params["sinceRevision"] = self.revision
            params["epoch"] = self.epoch
        return token, params

    def subscribed(self, token, result):
        """The gn.subscribe answer. Returns (changes to apply here, whether it was a snapshot), or None if stale."""
        if token != self.subscribing:
            return None
        self.subscribing = None
        self.live = True
        self.epoch = result.get("epoch")
        if "changes" in result:
            applies = self.changed(result["changes"])
            self.revision = max(self.revision, int(result.get("revision", 0)))
            return applies, False
        return self._snapshot(result["snapshot"]), True

    def subscribe_failed(self, token):
        if token == self.subscribing:
            self.subscribing = None

    def dropped(self):
        """The connection is gone: not live until subscribed again; an unanswered write is kept to send again."""
        self.live = False
        self.subscribing = None
        write, self.writing = self.writing, None
        if write is not None:
            for kid, change in write.changes.items():
                if kid not in self.pending:
                    self.pending[kid] = change
                    self.pending.move_to_end(kid, last=False)

    def _snapshot(self, snap):
        """Replaces what this replica holds. An input edited here and not yet sent keeps its edit only where the
        snapshot holds our own value for it, or none (then the edit is pushed); a different value from elsewhere is a
        conflict, and theirs is taken."""
        self.entries = {}
        applies = []
        for e in snap.get("entries", ()):
            kid = key_id(e["key"])
            self.entries[kid] = Entry(e["key"], e["type"], e["value"], e["revision"], e["changedBy"])
            mine = self.pending.get(kid)
            if mine is not None and e["changedBy"] == self.client_name:
                continue
            if mine is not None:
                del self.pending[kid]
                if not same_value(mine[2], e["value"]):
                    self._conflict(mine, e["key"], (e["type"], e["value"], e["revision"], e["changedBy"]))
            applies.append((e["key"], e["type"], e["value"]))
        self.revision = int(snap.get("revision", 0))
        return applies

    # -- changes from the sidecar --------------------------------------------------------------------------------

    def changed(self, changes):
        """Applies changes (a gn.changed's, or a subscribe answer's) in order; returns [(key, type, value)] to apply
        to this Blender's modifiers: those from elsewhere that are new to this replica."""
        base = self.revision
        applies = []
        for c in changes:
            revision = c["revision"]
            if revision <= base:
                continue  # applied already: a resubscription repeats what the old subscription delivered
            self.revision = max(self.revision, revision)
            key, kid = c["key"], key_id(c["key"])
            self.entries[kid] = Entry(key, c["type"], c["value"], revision, c["changedBy"])
            mine = self.pending.get(kid)
            if c["changedBy"] == self.client_name:
                if mine is not None and same_value(mine[2], c["value"]):
                    del self.pending[kid]  # a write whose answer was lost in a drop did arrive
                continue
            if mine is not None:
                del self.pending[kid]
                if not same_value(mine[2], c["value"]):
                    self._conflict(mine, key, (c["type"], c["value"], revision, c["changedBy"]))
            conflict = self.conflicts.get(kid)
            if conflict is not None:  # Take Theirs takes the latest of theirs
                conflict.theirs_type, conflict.theirs = c["type"], c["value"]
                conflict.revision, conflict.changed_by = revision, c["changedBy"]
            applies.append((key, c["type"], c["value"]))
        return applies

    # -- edits made here ------------------------------------------------------------------------------------------

    def edit(self, key, value_type, value):
        """An input of a synced modifier changed here; it is sent with the next write."""
        kid = key_id(key)
        self.pending[kid] = (key, value_type, value)
        self.pending.move_to_end(kid)

    def next_write(self):
        """The write to send now, or None (not live, one in flight, or nothing to send)."""
        if not self.live or self.writing is not None or not self.pending:
            return None
        changes = collections.OrderedDict()
        while self.pending and len(changes) < MAX_CHANGES:
            kid, change = self.pending.popitem(last=False)
            changes[kid] = change
        self.writing = Write(next(self._tokens), self.revision, changes)
        return self.writing

    def written(self, token, revision):
        """The sidecar accepted our write at `revision` (its gn.changed came first and updated the entries)."""
        if self.writing is None or self.writing.token != token:
            return
        write, self.writing = self.writing, None
        for kid, (key, value_type, value) in write.changes.items():
            held = self.entries.get(kid)
            if held is None or held.revision <= revision:
                self.entries[kid] = Entry(key, value_type, value, revision, self.client_name)

    def refused(self, token, code, data):
        """The sidecar refused our write. Returns [(key, type, value)] to apply here: on a conflict (-32010) theirs,
        for every input in conflict; the write's other changes were not applied either (all or none) and go out again
        with the next write. Any other refusal drops the write (sending the same values again would fail the same way).
        """
        if self.writing is None or self.writing.token != token:
            return []
        write, self.writing = self.writing, None
        if code != CONFLICT or not isinstance(data, dict):
            return []
        details = data.get("conflicts") or [{"key": data.get("key"), "current": data.get("current")}]
        applies = []
        lost = set()
        for d in details:
            key, current = d.get("key"), d.get("current")
            if not isinstance(key, dict) or not isinstance(current, dict):
                continue
            kid = key_id(key)
            lost.add(kid)
            mine = self.pending.pop(kid, None) or write.changes.get(kid)
            theirs = (current["type"], current["value"], current["revision"], current.get("changedBy", "?"))
            held = self.entries.get(kid)
            if held is None or held.revision < theirs[2]:
                self.entries[kid] = Entry(key, theirs[0], theirs[1], theirs[2], theirs[3])
            if mine is not None:
                self._conflict(mine, key, theirs)
            applies.append((key, theirs[0], theirs[1]))
        for kid, change in write.changes.items():
            if kid not in lost and kid not in self.pending:
                self.pending[kid] = change
        return applies

    def failed(self, token):
        """The write could not be sent or answered (the connection dropped): send it again once resubscribed."""
        if self.writing is not None and self.writing.token == token:
            self.dropped()

    # -- conflicts ------------------------------------------------------------------------------------------------

    def _conflict(self, mine, key, theirs):
        conflict = Conflict(key, (mine[1], mine[2]), theirs)
        self.conflicts[key_id(key)] = conflict
        self._fresh.append(conflict)

    def take_fresh_conflicts(self):
        """The conflicts that arose since the last call (to alert once about each)."""
        fresh, self._fresh = self._fresh, []
        return fresh

    def take_theirs(self, kid):
        """Forgets the conflict; returns (key, type, value) of theirs to show here, or None when unknown."""
        self.conflicts.pop(kid, None)
        held = self.entries.get(kid)
        return (held.key, held.type, held.value) if held is not None else None

    def push_mine(self, kid):
        """Sends our value of a conflict again, on top of the latest revision; returns (key, type, value) to show."""
        conflict = self.conflicts.pop(kid, None)
        if conflict is None:
            return None
        self.edit(conflict.key, conflict.mine_type, conflict.mine)
        return conflict.key, conflict.mine_type, conflict.mine

    @property
    def unsent(self):
        """Edits not yet accepted: pending plus the write in flight."""
        return len(self.pending) + (len(self.writing.changes) if self.writing is not None else 0)
