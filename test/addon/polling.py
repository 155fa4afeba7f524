"""The one way the add-on's Python tests wait for something (the twin of test/helpers/until.ts): poll a condition until
it holds, with a deadline, and fail saying what was awaited. Plain Python: runs inside Blender and outside it.
"""

import time


def until(condition, timeout=10.0, what="the condition", interval=0.02, describe=None):
    """Calls `condition()` until it returns something truthy and returns that; raises AssertionError after `timeout` s,
    naming `what` and, when given, what `describe()` says about the state seen last."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            seen = "; {}".format(describe()) if describe else ""
            raise AssertionError("timed out after {:g} s waiting for {}{}".format(timeout, what, seen))
        time.sleep(interval)
