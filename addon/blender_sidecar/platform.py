"""Everything the add-on does differently on Linux, macOS and Windows, in one module so that it stays small and visible:
the sidecar's default state folder, whether a process is alive, ending and suspending a process, starting one in the
background, opening a folder in the file browser, and where Node and the bundled sidecar executable live.

No bpy (the wire client and the launcher use it outside Blender too). Nothing here can run Windows or macOS, so every
function takes `platform` (default: `sys.platform`) and test/addon/test_platform.py runs each branch on Linux.
Callers ask here; no other module of the add-on tests `sys.platform` or `os.name`.

Mirrors sidecar/platform.ts where both sides need the same answer (the state folder).
"""

import glob
import os
import re
import shutil
import signal
import subprocess
import sys

# Windows API numbers used below (winnt.h / winbase.h).
_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
_PROCESS_SUSPEND_RESUME = 0x0800
_ERROR_ACCESS_DENIED = 5
_STILL_ACTIVE = 259


def family(platform=None):
    """ "win32", "darwin" or "linux" (every other Unix behaves as Linux here), from a `sys.platform` value."""
    platform = sys.platform if platform is None else platform
    if platform.startswith("win"):
        return "win32"
    return "darwin" if platform == "darwin" else "linux"


def _paths(platform):
    # Paths in the platform's own syntax, so a Windows path built in a test on Linux reads as it would on Windows.
    import ntpath
    import posixpath

    return ntpath if family(platform) == "win32" else posixpath


# -- the sidecar's state folder ----------------------------------------------------------------------------------------


def state_folder(env=None, platform=None, home=None):
    """The sidecar's default state folder: $BLENDER_SIDECAR_STATE_DIR, else $XDG_STATE_HOME/blender-sidecar (when
    absolute, else ~/.local/state/...) on Linux, ~/Library/Application Support/blender-sidecar on macOS,
    %LOCALAPPDATA%\\blender-sidecar on Windows. The same answer as sidecar/state-dir.ts gives."""
    env = os.environ if env is None else env
    home = os.path.expanduser("~") if home is None else home
    path = _paths(platform)
    if env.get("BLENDER_SIDECAR_STATE_DIR"):
        return env["BLENDER_SIDECAR_STATE_DIR"]
    kind = family(platform)
    if kind == "win32":
        base = env.get("LOCALAPPDATA")
        return path.join(path.join(home, "AppData", "Local") if base is None else base, "blender-sidecar")
    if kind == "darwin":
        return path.join(home, "Library", "Application Support", "blender-sidecar")
    xdg = env.get("XDG_STATE_HOME")
    base = xdg if xdg and xdg.startswith("/") else path.join(home, ".local", "state")
    return path.join(base, "blender-sidecar")


# -- processes ---------------------------------------------------------------------------------------------------------


def is_process_alive(pid, platform=None):
    """Whether a process with this pid exists (one owned by another user counts as alive; a zombie does not)."""
    if family(platform) == "win32":
        # os.kill(pid, 0) on Windows calls TerminateProcess: it would kill the sidecar. Ask the kernel instead.
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return not _is_zombie(pid)


def _is_zombie(pid):
    # A killed process that nobody has waited for yet (a sidecar Blender started) still answers signal 0.
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 : stat.rindex(")") + 3] == "Z"


def _kernel32():
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.windll.kernel32
    kernel32.OpenProcess.restype = wintypes.HANDLE  # the default c_int would cut a 64-bit handle
    kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    kernel32.GetExitCodeProcess.argtypes = (wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD))
    kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)
    return kernel32


def _windows_process_alive(pid):
    import ctypes
    from ctypes import wintypes

    kernel32 = _kernel32()
    handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        return kernel32.GetLastError() == _ERROR_ACCESS_DENIED  # it exists, it is just not ours
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == _STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def stop_signal(hard, platform=None):
    """The signal that asks a process to stop (SIGTERM) or ends it (SIGKILL). Windows has neither: Python's os.kill
    with SIGTERM is TerminateProcess there, the only way to end another process (see docs/addon.md)."""
    if family(platform) == "win32":
        return signal.SIGTERM
    return signal.SIGKILL if hard else signal.SIGTERM


def end_process(pid, hard=False, platform=None):
    """Asks `pid` to stop (`hard`: ends it at once). Returns False when there was no such process to signal."""
    try:
        os.kill(pid, stop_signal(hard, platform))
    except OSError:
        return False
    return True


def reap_child(pid, platform=None):
    """Waits for `pid` if it is a dead child of this process; its exit code (negative: the signal) when it was reaped
    now, else None. POSIX only: Windows keeps no zombies, and a dead process there is simply gone."""
    if not pid or family(platform) == "win32":
        return None
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except OSError:  # not our child, or already waited for
        return None
    return os.waitstatus_to_exitcode(status) if done else None


def suspend_step(suspended, platform=None):
    """How a process is frozen (what a hung program looks like from outside: alive, silent) or thawed: a signal on
    POSIX, ("ntdll", function name) on Windows, which has no such signal."""
    if family(platform) == "win32":
        return ("ntdll", "NtSuspendProcess" if suspended else "NtResumeProcess")
    return signal.SIGSTOP if suspended else signal.SIGCONT


def set_suspended(pid, suspended, platform=None):
    """Freezes (or thaws) `pid`. Raises OSError when that fails."""
    step = suspend_step(suspended, platform)
    if not isinstance(step, tuple):
        os.kill(pid, step)
        return
    import ctypes
    from ctypes import wintypes

    kernel32 = _kernel32()
    function = getattr(ctypes.windll.ntdll, step[1])
    function.argtypes = (wintypes.HANDLE,)
    handle = kernel32.OpenProcess(_PROCESS_SUSPEND_RESUME, False, pid)
    if not handle:
        raise OSError("cannot open process {} to {} it".format(pid, "suspend" if suspended else "resume"))
    try:
        status = function(handle)
        if status != 0:
            raise OSError("{} on process {} failed (NTSTATUS {:#x})".format(step[1], pid, status & 0xFFFFFFFF))
    finally:
        kernel32.CloseHandle(handle)


def background_options(platform=None):
    """Popen options for a program that must not stop with Blender's terminal (Ctrl+C): its own session on POSIX, no
    console window and its own process group on Windows."""
    if family(platform) == "win32":
        no_window = getattr(subprocess, "CREATE_NO_WINDOW", 0x08000000)
        return {"creationflags": no_window | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200)}
    return {"start_new_session": True}


def no_window_options(platform=None):
    """Popen options for a short command that must not flash a console window on Windows; none elsewhere."""
    if family(platform) == "win32":
        return {"creationflags": getattr(subprocess, "CREATE_NO_WINDOW", 0x08000000)}
    return {}


# -- opening a folder --------------------------------------------------------------------------------------------------


def open_folder_command(path, platform=None, which=shutil.which):
    """The command that shows `path` in the file browser: ["open", path] on macOS, ["xdg-open", path] on Linux (None
    when xdg-open is not installed). On Windows None too: there os.startfile does it, no command needed."""
    kind = family(platform)
    if kind == "win32":
        return None
    if kind == "darwin":
        return ["open", path]
    opener = which("xdg-open")
    return [opener, path] if opener else None


def open_folder(path, platform=None):
    """Shows `path` in the system's file browser without waiting. Raises OSError (or LookupError when this desktop has
    no way to: Linux without xdg-open)."""
    if family(platform) == "win32":
        os.startfile(path)  # returns at once
        return
    cmd = open_folder_command(path, platform)
    if cmd is None:
        raise LookupError("xdg-open is not installed")
    quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.Popen(cmd, **quiet, **background_options(platform))


# -- programs the add-on runs ------------------------------------------------------------------------------------------


def platform_tag(platform=None, machine=None):
    """Node's name for this platform, e.g. "linux-x64", "darwin-arm64", "win32-x64" (the sidecar/bin/ folder names)."""
    import platform as _stdlib_platform  # the standard library's, not this module

    machine = (_stdlib_platform.machine() if machine is None else machine).lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return "{}-{}".format(family(platform), arch)


def executable_name(name, platform=None):
    """`name` as an executable file is called here: name.exe on Windows."""
    return name + ".exe" if family(platform) == "win32" else name


def needs_executable_bit(platform=None):
    """Whether a file must have its execute bit set to run (POSIX), or runs by its extension (Windows)."""
    return family(platform) != "win32"


def node_install_places(platform=None, env=None, home=None):
    """Where Node is usually installed, for a Blender started from a desktop icon or the Dock, which does not get the
    shell's PATH (Homebrew, nvm, Volta on POSIX; the installer, scoop on Windows)."""
    env = os.environ if env is None else env
    home = os.path.expanduser("~") if home is None else home
    path = _paths(platform)
    if family(platform) == "win32":
        bases = [env.get("ProgramFiles"), env.get("ProgramFiles(x86)"), env.get("LOCALAPPDATA")]
        places = [path.join(b, "nodejs", "node.exe") for b in bases if b]
        places.append(path.join(home, "scoop", "apps", "nodejs", "current", "node.exe"))
        return places
    places = [
        "/opt/homebrew/bin/node",
        "/usr/local/bin/node",
        "/usr/bin/node",
        path.join(home, ".volta", "bin", "node"),
    ]
    nvm = sorted(glob.glob(path.join(home, ".nvm", "versions", "node", "v*", "bin", "node")), key=_version_key)
    return places + nvm[::-1]


def _version_key(path):
    match = re.search(r"v(\d+)\.(\d+)\.(\d+)", path)
    return tuple(int(n) for n in match.groups()) if match else (0, 0, 0)
