"""Runs the wire client's tests; exits 1 when any fails.

    python3 test/addon/wire/run.py [NAME ...]
    blender -b --factory-startup --python-exit-code 1 --python test/addon/wire/run.py [-- NAME ...]

NAMEs (optional) keep only the tests whose id contains one of them, e.g. `ReceiveTest` or `reconnect`.
Inside Blender, sys.argv holds Blender's own arguments: only those after `--` are ours.
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
MODULES = ("test_frames", "test_sidecar")


def our_args(argv):
    if "bpy" in sys.modules:
        return argv[argv.index("--") + 1 :] if "--" in argv else []
    return argv[1:]


def selected(suite, names):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            for inner in selected(test, names):
                yield inner
        elif not names or any(name in test.id() for name in names):
            yield test


def main():
    # No __pycache__ folders in the source tree (addon/ is zipped as it is).
    sys.dont_write_bytecode = True
    sys.path.insert(0, HERE)
    bpy = sys.modules.get("bpy")
    where = "Blender {}".format(bpy.app.version_string) if bpy else "plain Python"
    print("wire tests on Python {} ({})".format(sys.version.split()[0], where), flush=True)
    loader = unittest.TestLoader()
    suite = unittest.TestSuite(loader.loadTestsFromName(name) for name in MODULES)
    suite = unittest.TestSuite(selected(suite, our_args(sys.argv)))
    if suite.countTestCases() == 0:
        print("no test matches {}".format(our_args(sys.argv)), file=sys.stderr)
        return 1
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
