"""Keeping the compiled Python of Blender's start-up between workers.

Blender compiles every Python module it imports at start-up from source, every time: it turns off writing bytecode,
and Debian's packages ship none. Its start-up imports about 250 modules (bl_ui, bl_operators, the enabled add-ons),
and compiling them was 0.35-0.45 s of a worker's 1.0 s start measured here. The sidecar points
PYTHONPYCACHEPREFIX at a folder in its state folder; Python then looks for each module's compiled form there. This
module writes what is missing there: when the worker first has nothing to do, or when it is told to exit. The next
worker loads them instead of compiling.

Python checks each compiled file against its source's size and modification time when importing it, so an upgraded
Blender or add-on is compiled again, never run stale. Each file is written to a temporary name, flushed to disk and
renamed, so two workers saving at once, a worker killed while saving or a power cut leave no half-written file: Python
fails an import from a cut compiled file instead of compiling the source. A cache damaged some other way breaks a
worker's start; the pool then clears the folder and starts the worker again (pool.ts).
"""
import importlib.util
import os
import py_compile
import sys
import time

# The folder holds one compiled file per module a worker imported, for each Blender (and Python) used: some 5-10 MB
# each. Past this, nothing more is saved, so it cannot grow without bound.
CAP_BYTES = 256 * 1024 * 1024


def _sources():
    """(source, compiled) paths of the imported modules that come from .py files."""
    for module in list(sys.modules.values()):
        source = getattr(module, "__file__", None)
        if not isinstance(source, str) or not source.endswith(".py"):
            continue
        try:
            yield source, importlib.util.cache_from_source(source)
        except (NotImplementedError, ValueError):
            continue


def _fresh(source, compiled):
    """True when `compiled` exists and matches `source` as Python's import checks it (size and mtime)."""
    try:
        with open(compiled, "rb") as f:
            header = f.read(16)
        st = os.stat(source)
    except OSError:
        return False
    if len(header) < 16 or header[:4] != importlib.util.MAGIC_NUMBER:
        return False
    if int.from_bytes(header[4:8], "little") != 0:
        return True  # hash-based: Python checks it itself
    mtime = int.from_bytes(header[8:12], "little")
    size = int.from_bytes(header[12:16], "little")
    return mtime == (int(st.st_mtime) & 0xFFFFFFFF) and size == (st.st_size & 0xFFFFFFFF)


# Sources found compiled at start: not checked again at exit (the check is a read and a stat per module, on the path of
# a command that waits for its workers to exit).
_found_fresh = set()


def status():
    """{'cached': modules whose compiled form was there, 'modules': modules from source} or None when off."""
    if not sys.pycache_prefix:
        return None
    sources = list(_sources())
    _found_fresh.update(s for s, c in sources if _fresh(s, c))
    # Counted by module: a few share a file (a package imported under two names).
    return {"cached": sum(1 for s, _c in sources if s in _found_fresh), "modules": len(sources)}


def _folder_bytes(folder):
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def save_missing(interrupted=None):
    """Compiles the imported modules whose compiled form is missing or stale; returns how many were written.
    `interrupted()`, asked before each module, ends the saving early when true (a task has arrived: it goes first, and
    the rest is saved at exit)."""
    prefix = sys.pycache_prefix
    if not prefix:
        return 0
    missing = [(s, c) for s, c in _sources() if s not in _found_fresh and not _fresh(s, c)]
    if not missing or _folder_bytes(prefix) > CAP_BYTES:
        return 0
    lock = _take_lock(prefix)
    if lock is None:
        return 0  # another worker is writing the same modules (they all start alike): once is enough
    written = 0
    try:
        for source, compiled in missing:
            if interrupted is not None and interrupted():
                break
            try:
                _write(source, compiled)
                written += 1
            except (OSError, py_compile.PyCompileError, ValueError):
                # A read-only or full disk, or a source Python cannot compile: that module is compiled at start.
                continue
    finally:
        try:
            os.unlink(lock)
        except OSError:
            pass
    return written


# A lock older than this was left by a worker killed while saving (saving all of a start-up takes about a second).
STALE_LOCK_S = 120


def _take_lock(prefix):
    """The path of the lock file this worker now holds, or None when another worker holds it."""
    lock = os.path.join(prefix, ".saving")
    for _ in range(2):
        try:
            os.makedirs(prefix, exist_ok=True)
            os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            return lock
        except FileExistsError:
            try:
                if time.time() - os.stat(lock).st_mtime < STALE_LOCK_S:
                    return None
                os.unlink(lock)
            except OSError:
                pass
        except OSError:
            return None
    return None


def _write(source, compiled):
    """Writes `compiled` whole or not at all, even across a power cut: Python cannot fall back to the source when a
    compiled file is cut short (the import fails), so the bytes reach the disk before the file gets its name."""
    temporary = "%s.%d.tmp" % (compiled, os.getpid())
    try:
        # Timestamp-checked, as Python's own cache is: checking it costs a stat, not a hash of the source.
        py_compile.compile(
            source, cfile=temporary, doraise=True, invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP
        )
        fd = os.open(temporary, os.O_RDWR)  # Windows flushes only a file open for writing
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, compiled)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
