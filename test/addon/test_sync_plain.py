"""The Geometry Nodes sync rules that need no Blender (sync/replica.py, sync/values.py), on plain Python:

    python3 test/addon/test_sync_plain.py

What two real Blenders do with them is in test_sync.py; here each rule is checked alone, quickly.
"""

import os
import sys
import unittest

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "addon"))

from blender_sidecar.sync import values  # noqa: E402
from blender_sidecar.sync.replica import CONFLICT, ChannelReplica, key_id  # noqa: E402

ME, THEM = "blender:me", "blender:them"


def key(name):
    return {"object": "Grid", "modifier": "GeometryNodes", "input": name}


def change(name, value, revision, by=THEM, value_type="int"):
    return {"key": key(name), "type": value_type, "value": value, "revision": revision, "changedBy": by}


def live(revision=0, entries=()):
    """A replica caught up on a channel (subscribed with a snapshot) at `revision`."""
    r = ChannelReplica("shot", ME)
    token, params = r.subscribe_request()
    assert params == {"channel": "shot"}
    snapshot = {"revision": revision, "entries": list(entries)}
    r.subscribed(token, {"epoch": "E1", "revision": revision, "snapshot": snapshot})
    return r


class ReplicaTest(unittest.TestCase):
    def test_no_bpy_here(self):
        self.assertNotIn("bpy", sys.modules)

    def test_edits_go_out_one_write_at_a_time_with_the_last_revision(self):
        r = ChannelReplica("shot", ME)
        r.edit(key("Count"), "int", 4)
        self.assertIsNone(r.next_write(), "not before the channel is caught up")
        r = live(7)
        r.edit(key("Count"), "int", 4)
        w = r.next_write()
        self.assertEqual(
            w.request("shot", ME),
            (
                "gn.set",
                {
                    "key": key("Count"),
                    "type": "int",
                    "value": 4,
                    "channel": "shot",
                    "baseRevision": 7,
                    "clientName": ME,
                },
            ),
        )
        r.edit(key("Count"), "int", 5)
        r.edit(key("Spacing"), "float", 1.5)
        r.edit(key("Count"), "int", 6)
        self.assertIsNone(r.next_write(), "one in flight")
        self.assertEqual(r.unsent, 3)
        r.changed([change("Count", 4, 8, ME)])  # our own gn.changed comes before the answer
        r.written(w.token, 8)
        w2 = r.next_write()
        method, params = w2.request("shot", ME)
        self.assertEqual(method, "gn.setMany")
        self.assertEqual(params["baseRevision"], 8)
        self.assertEqual({c["key"]["input"]: c["value"] for c in params["changes"]}, {"Count": 6, "Spacing": 1.5})

    def test_a_write_carries_at_most_1000_changes(self):
        r = live(1)
        for i in range(1500):
            r.edit(key("Input {}".format(i)), "float", float(i))
        self.assertEqual(len(r.next_write().changes), 1000)
        self.assertEqual(len(r.pending), 500)

    def test_changes_apply_in_order_once_and_our_own_are_not_applied_again(self):
        r = live(3)
        self.assertEqual(r.changed([change("Count", 5, 4)]), [(key("Count"), "int", 5)])
        self.assertEqual(r.changed([change("Count", 5, 4)]), [], "a repeated revision is skipped")
        self.assertEqual(r.changed([change("Count", 6, 5, ME)]), [], "our own write is not applied again")
        many = [change("Count", 1, 6), change("Spacing", 2.0, 6, value_type="float")]
        self.assertEqual(len(r.changed(many)), 2, "a setMany's changes share one revision")
        self.assertEqual(r.revision, 6)

    def test_a_change_from_elsewhere_on_an_unsent_edit_is_a_conflict_and_theirs_is_taken(self):
        r = live(3)
        r.edit(key("Count"), "int", 4)
        r.live = False  # not sent yet (say, the connection is down)
        applies = r.changed([change("Count", 9, 4)])
        self.assertEqual(applies, [(key("Count"), "int", 9)])
        self.assertEqual(r.unsent, 0)
        [conflict] = r.take_fresh_conflicts()
        self.assertEqual((conflict.mine, conflict.theirs, conflict.changed_by), (4, 9, THEM))
        self.assertEqual(r.take_fresh_conflicts(), [], "reported once")

    def test_a_refused_write_takes_theirs_keeps_the_conflict_and_sends_the_rest_again(self):
        r = live(3)
        r.edit(key("Count"), "int", 4)
        r.edit(key("Spacing"), "float", 1.0)
        w = r.next_write()
        current = {"type": "int", "value": 9, "revision": 4, "changedBy": THEM}
        data = {
            "channel": "shot",
            "channelRevision": 4,
            "key": key("Count"),
            "current": current,
            "conflicts": [{"key": key("Count"), "current": current}],
        }
        applies = r.refused(w.token, CONFLICT, data)
        self.assertEqual(applies, [(key("Count"), "int", 9)])
        self.assertEqual(list(r.pending), [key_id(key("Spacing"))], "all or none: Spacing goes out again")
        self.assertEqual([(c.mine, c.theirs) for c in r.conflicts.values()], [(4, 9)])
        # Push Mine: ours again, on top of the latest revision.
        r.changed([change("Count", 9, 4)])
        self.assertEqual(r.push_mine(key_id(key("Count"))), (key("Count"), "int", 4))
        w = r.next_write()
        self.assertEqual(w.base, 4)
        self.assertEqual({k[2]: v[2] for k, v in w.changes.items()}, {"Spacing": 1.0, "Count": 4})
        self.assertEqual(r.conflicts, {})

    def test_take_theirs_dismisses_the_conflict(self):
        r = live(3)
        r.edit(key("Count"), "int", 4)
        w = r.next_write()
        current = {"type": "int", "value": 9, "revision": 4, "changedBy": THEM}
        r.refused(w.token, CONFLICT, {"key": key("Count"), "current": current, "channelRevision": 4})
        self.assertEqual(r.take_theirs(key_id(key("Count"))), (key("Count"), "int", 9))
        self.assertEqual(r.conflicts, {})

    def test_another_refusal_drops_the_write(self):
        r = live(3)
        r.edit(key("Count"), "float", 4.5)
        w = r.next_write()
        self.assertEqual(r.refused(w.token, -32602, {"errors": []}), [])
        self.assertEqual(r.unsent, 0)

    def test_after_a_drop_it_resubscribes_from_its_revision_and_does_not_send_twice(self):
        r = live(3)
        r.edit(key("Count"), "int", 4)
        w = r.next_write()
        r.dropped()
        self.assertFalse(r.live)
        self.assertEqual(r.unsent, 1, "the unanswered write waits to be sent again")
        r.written(w.token, 4)  # a stale answer changes nothing
        self.assertEqual(r.unsent, 1)
        token, params = r.subscribe_request()
        self.assertEqual(params, {"channel": "shot", "sinceRevision": 3, "epoch": "E1"})
        # The write had arrived: the missed changes show it, so it is not sent again.
        applies, snapshot = r.subscribed(token, {"epoch": "E1", "revision": 4, "changes": [change("Count", 4, 4, ME)]})
        self.assertEqual((applies, snapshot, r.unsent, r.revision), ([], False, 0, 4))
        self.assertIsNone(r.subscribed(token, {"epoch": "E1", "revision": 4, "changes": []}), "answered once")

    def test_a_snapshot_replaces_what_it_held(self):
        r = live(3, [change("Count", 3, 1)])
        r.edit(key("Count"), "int", 5)
        r.edit(key("Spacing"), "float", 2.0)
        r.edit(key("Cube Size"), "float", 0.5)
        r.dropped()
        token, _ = r.subscribe_request()
        snap = {"revision": 2, "entries": [change("Count", 8, 1), change("Spacing", 1.0, 2, ME, "float")]}
        answer = {"epoch": "E2", "revision": 2, "snapshot": snap, "reason": "other-history"}
        applies, snapshot = r.subscribed(token, answer)
        self.assertTrue(snapshot)
        self.assertEqual(r.epoch, "E2")
        self.assertEqual(r.revision, 2)
        self.assertEqual(applies, [(key("Count"), "int", 8)], "theirs taken; our own Spacing is superseded by our edit")
        self.assertEqual([k[2] for k in r.pending], ["Spacing", "Cube Size"])
        self.assertEqual([(c.mine, c.theirs) for c in r.conflicts.values()], [(5, 8)])


class ValuesTest(unittest.TestCase):
    def test_socket_types(self):
        self.assertEqual(values.sync_type("NodeSocketFloatFactor"), "float")
        self.assertEqual(values.sync_type("NodeSocketIntUnsigned"), "int")
        self.assertEqual(values.sync_type("NodeSocketVectorXYZ"), "vector")
        self.assertIsNone(values.sync_type("NodeSocketGeometry"))
        self.assertIsNone(values.sync_type("NodeSocketRotation"))

    def test_floats_as_blender_stores_them(self):
        self.assertEqual(values.f32(0.30000001192092896), 0.3)
        self.assertEqual(values.f32(0.1), 0.1)
        self.assertEqual(values.f32(1 / 3), 0.33333334)
        self.assertEqual(values.normalized("vector", (0.1, 0.2, 0.30000001192092896)), [0.1, 0.2, 0.3])

    def test_fitting_a_value_to_a_socket(self):
        self.assertEqual(values.for_socket("int", "float", 2.6), 3)
        self.assertEqual(values.for_socket("color", "color", [1, 0.5, 0], 4), [1.0, 0.5, 0.0, 1.0])
        self.assertEqual(values.for_socket("vector", "color", [1, 2, 3, 4], 3), [1.0, 2.0, 3.0])
        with self.assertRaisesRegex(ValueError, "holds a bool value"):
            values.for_socket("int", "bool", True)

    def test_same_value(self):
        self.assertTrue(values.same_value([1, 2], [1.0, 2.0]))
        self.assertFalse(values.same_value(True, 1))
        self.assertTrue(values.same_value(None, None))


if __name__ == "__main__":
    unittest.main(verbosity=1)
