"""The worker's own peak memory over one task, so a frame that finishes between the sidecar's samples is still measured.

The sidecar samples each worker's memory twice a second; a small frame of a scene that needs gigabytes can load, render
and let go inside that window, and placement would plan from a guess. Linux resets the peak (VmHWM) per task through
/proc/self/clear_refs; elsewhere the process's lifetime peak stands in, which can only overstate a task's need.
"""
import os
import sys


def reset():
    """Starts a new peak for the task about to run (Linux; a no-op where the kernel offers no reset)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _from_proc():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _from_windows():
    import ctypes
    from ctypes import wintypes

    class Counters(ctypes.Structure):
        _fields_ = [
            ("cb", wintypes.DWORD),
            ("PageFaultCount", wintypes.DWORD),
            ("PeakWorkingSetSize", ctypes.c_size_t),
            ("WorkingSetSize", ctypes.c_size_t),
            ("QuotaPeakPagedPoolUsage", ctypes.c_size_t),
            ("QuotaPagedPoolUsage", ctypes.c_size_t),
            ("QuotaPeakNonPagedPoolUsage", ctypes.c_size_t),
            ("QuotaNonPagedPoolUsage", ctypes.c_size_t),
            ("PagefileUsage", ctypes.c_size_t),
            ("PeakPagefileUsage", ctypes.c_size_t),
        ]

    counters = Counters()
    counters.cb = ctypes.sizeof(Counters)
    kernel32 = ctypes.windll.kernel32
    kernel32.GetCurrentProcess.restype = wintypes.HANDLE
    process = kernel32.GetCurrentProcess()
    if not ctypes.windll.psapi.GetProcessMemoryInfo(process, ctypes.byref(counters), counters.cb):
        return None
    return int(counters.PeakWorkingSetSize)


def peak_bytes():
    """The peak resident memory since reset() (Linux) or since the process started (macOS, Windows); None if unknown."""
    if sys.platform.startswith("linux"):
        return _from_proc()
    try:
        if os.name == "nt":
            return _from_windows()
        import resource

        # ru_maxrss is in bytes on macOS and kilobytes on the BSDs.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)
    except Exception:  # noqa: BLE001 - a measurement we cannot take is left out, never a failed task
        return None
