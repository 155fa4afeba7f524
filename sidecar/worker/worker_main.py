"""Entry point of a background Blender worker.

Run by the sidecar as:
    blender -b [--factory-startup] -noaudio --python-exit-code 1 --python worker_main.py -- --worker-id ID
Tasks arrive framed on stdin; replies leave framed on file descriptor 3 (stdout belongs to Blender's own messages,
which the sidecar reads for progress and hang detection).
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sidecar_worker.loop import main  # noqa: E402

main(sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else [])
