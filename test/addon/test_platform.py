"""addon/blender_sidecar/platform.py, every branch, on plain Python:

    python3 test/addon/test_platform.py

The Linux branches run for real (processes, a folder opened through a stand-in xdg-open); the macOS and Windows ones
with the platform passed in, checking the exact paths, options and commands they would use there.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "addon"))

from blender_sidecar import platform as host  # noqa: E402

POSIX = os.name == "posix"


def until(what, check, timeout=10.0):
    """Polls `check` until it holds; fails saying what was awaited."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("{}: not reached within {} s".format(what, timeout))
        time.sleep(0.02)


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    return stat[stat.rindex(")") + 2]


class FamilyTest(unittest.TestCase):
    def test_tells_the_three_apart_and_treats_other_unixes_as_linux(self):
        self.assertEqual(host.family("linux"), "linux")
        self.assertEqual(host.family("darwin"), "darwin")
        self.assertEqual(host.family("win32"), "win32")
        self.assertEqual(host.family("freebsd13"), "linux")
        self.assertIn(host.family(), ("linux", "darwin", "win32"))


class StateFolderTest(unittest.TestCase):
    def test_the_environment_variable_wins_everywhere(self):
        for platform in ("linux", "darwin", "win32"):
            self.assertEqual(host.state_folder({"BLENDER_SIDECAR_STATE_DIR": "/s"}, platform, "/home/ann"), "/s")

    def test_linux_uses_an_absolute_xdg_state_home_else_local_state(self):
        self.assertEqual(host.state_folder({"XDG_STATE_HOME": "/x"}, "linux", "/home/ann"), "/x/blender-sidecar")
        self.assertEqual(
            host.state_folder({"XDG_STATE_HOME": "rel"}, "linux", "/home/ann"), "/home/ann/.local/state/blender-sidecar"
        )
        self.assertEqual(host.state_folder({}, "linux", "/home/ann"), "/home/ann/.local/state/blender-sidecar")

    def test_macos_uses_application_support(self):
        self.assertEqual(
            host.state_folder({"XDG_STATE_HOME": "/x"}, "darwin", "/Users/ann"),
            "/Users/ann/Library/Application Support/blender-sidecar",
        )

    def test_windows_uses_localappdata_else_the_profile(self):
        self.assertEqual(
            host.state_folder({"LOCALAPPDATA": "D:\\Local"}, "win32", "C:\\Users\\ann"), "D:\\Local\\blender-sidecar"
        )
        self.assertEqual(
            host.state_folder({}, "win32", "C:\\Users\\ann"), "C:\\Users\\ann\\AppData\\Local\\blender-sidecar"
        )


@unittest.skipUnless(POSIX, "runs real POSIX processes")
class ProcessTest(unittest.TestCase):
    def start(self, *cmd):
        proc = subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.wait()))
        return proc

    def test_a_live_process_is_alive_and_a_reaped_one_is_not(self):
        proc = self.start("sleep", "60")
        self.assertTrue(host.is_process_alive(proc.pid))
        proc.kill()
        proc.wait()
        self.assertFalse(host.is_process_alive(proc.pid))

    def test_a_killed_child_nobody_waited_for_is_not_alive_and_reap_child_collects_it(self):
        proc = self.start("sleep", "60")
        os.kill(proc.pid, signal.SIGKILL)
        until("the killed child is a zombie", lambda: not host.is_process_alive(proc.pid))
        until("the zombie is reaped", lambda: host.reap_child(proc.pid) is not None or proc.poll() is not None)

    def test_reap_child_is_none_on_windows_and_for_a_stranger(self):
        self.assertIsNone(host.reap_child(os.getpid(), "win32"))
        self.assertIsNone(host.reap_child(1))
        self.assertIsNone(host.reap_child(0))

    def test_end_process_asks_then_forces_and_says_false_when_nothing_is_there(self):
        gentle = self.start("sleep", "60")
        self.assertTrue(host.end_process(gentle.pid))
        self.assertEqual(gentle.wait(10), -signal.SIGTERM)
        hard = self.start("sh", "-c", "trap '' TERM; sleep 60")
        self.assertTrue(host.end_process(hard.pid, hard=True))
        self.assertEqual(hard.wait(10), -signal.SIGKILL)
        self.assertFalse(host.end_process(hard.pid))

    def test_suspend_freezes_and_resumes_thaws(self):
        proc = self.start("sleep", "60")
        host.set_suspended(proc.pid, True)
        until("the process is stopped", lambda: proc_state(proc.pid) == "T")
        self.assertTrue(host.is_process_alive(proc.pid))
        host.set_suspended(proc.pid, False)
        until("the process runs again", lambda: proc_state(proc.pid) != "T")


class ProcessStepsTest(unittest.TestCase):
    def test_stop_signals_are_term_and_kill_on_posix_and_terminate_on_windows(self):
        self.assertEqual(host.stop_signal(False, "linux"), signal.SIGTERM)
        self.assertEqual(host.stop_signal(False, "win32"), signal.SIGTERM)
        if POSIX:
            self.assertEqual(host.stop_signal(True, "darwin"), signal.SIGKILL)
        self.assertEqual(host.stop_signal(True, "win32"), signal.SIGTERM, "os.kill is TerminateProcess there")

    def test_suspend_is_a_signal_on_posix_and_ntdll_on_windows(self):
        if POSIX:
            self.assertEqual(host.suspend_step(True, "linux"), signal.SIGSTOP)
            self.assertEqual(host.suspend_step(False, "darwin"), signal.SIGCONT)
        self.assertEqual(host.suspend_step(True, "win32"), ("ntdll", "NtSuspendProcess"))
        self.assertEqual(host.suspend_step(False, "win32"), ("ntdll", "NtResumeProcess"))

    def test_background_programs_get_their_own_session_or_no_window(self):
        self.assertEqual(host.background_options("linux"), {"start_new_session": True})
        self.assertEqual(host.background_options("win32"), {"creationflags": 0x08000000 | 0x200})
        self.assertEqual(host.no_window_options("darwin"), {})
        self.assertEqual(host.no_window_options("win32"), {"creationflags": 0x08000000})


class OpenFolderTest(unittest.TestCase):
    def test_the_command_per_platform(self):
        self.assertEqual(host.open_folder_command("/p", "darwin"), ["open", "/p"])
        self.assertEqual(host.open_folder_command("/p", "linux", lambda name: "/bin/" + name), ["/bin/xdg-open", "/p"])
        self.assertIsNone(host.open_folder_command("/p", "linux", lambda name: None), "no xdg-open: no way to open")
        self.assertIsNone(host.open_folder_command("C:\\p", "win32"), "os.startfile, no command")

    @unittest.skipUnless(POSIX, "a shell-script stand-in for xdg-open")
    def test_opens_through_xdg_open_on_linux_and_says_so_when_there_is_none(self):
        tmp = tempfile.mkdtemp()
        record = os.path.join(tmp, "opened.txt")
        opener = os.path.join(tmp, "xdg-open")
        with open(opener, "w") as f:
            f.write('#!/bin/sh\nprintf "%s" "$1" > "{}.part" && mv "{}.part" "{}"\n'.format(record, record, record))
        os.chmod(opener, 0o755)
        path = os.environ.get("PATH", "")
        os.environ["PATH"] = tmp + os.pathsep + path
        try:
            host.open_folder(tmp, "linux")
        finally:
            os.environ["PATH"] = path
        until("the stand-in xdg-open ran", lambda: os.path.exists(record))
        with open(record) as f:
            self.assertEqual(f.read(), tmp)
        os.environ["PATH"] = os.path.join(tmp, "empty")
        try:
            with self.assertRaises(LookupError):
                host.open_folder(tmp, "linux")
        finally:
            os.environ["PATH"] = path


class ProgramsTest(unittest.TestCase):
    def test_platform_tags_follow_node(self):
        self.assertEqual(host.platform_tag("linux", "x86_64"), "linux-x64")
        self.assertEqual(host.platform_tag("darwin", "arm64"), "darwin-arm64")
        self.assertEqual(host.platform_tag("win32", "AMD64"), "win32-x64")
        self.assertEqual(host.platform_tag("linux", "aarch64"), "linux-arm64")

    def test_executables_end_in_exe_only_on_windows_and_need_the_x_bit_elsewhere(self):
        self.assertEqual(host.executable_name("blender-sidecar", "win32"), "blender-sidecar.exe")
        self.assertEqual(host.executable_name("blender-sidecar", "darwin"), "blender-sidecar")
        self.assertTrue(host.needs_executable_bit("linux"))
        self.assertFalse(host.needs_executable_bit("win32"))

    def test_node_places_on_windows(self):
        env = {"ProgramFiles": "C:\\Program Files", "LOCALAPPDATA": "C:\\Users\\ann\\AppData\\Local"}
        self.assertEqual(
            host.node_install_places("win32", env, "C:\\Users\\ann"),
            [
                "C:\\Program Files\\nodejs\\node.exe",
                "C:\\Users\\ann\\AppData\\Local\\nodejs\\node.exe",
                "C:\\Users\\ann\\scoop\\apps\\nodejs\\current\\node.exe",
            ],
        )

    def test_node_places_on_posix_newest_nvm_first(self):
        home = tempfile.mkdtemp()
        for version in ("v20.1.0", "v22.3.0", "v20.10.0"):
            os.makedirs(os.path.join(home, ".nvm", "versions", "node", version, "bin"))
            open(os.path.join(home, ".nvm", "versions", "node", version, "bin", "node"), "w").close()
        places = host.node_install_places("darwin", {}, home)
        self.assertEqual(places[:3], ["/opt/homebrew/bin/node", "/usr/local/bin/node", "/usr/bin/node"])
        self.assertEqual(places[3], os.path.join(home, ".volta", "bin", "node"))
        versions = [re.search(r"v\d+\.\d+\.\d+", p).group() for p in places[4:]]
        self.assertEqual(versions, ["v22.3.0", "v20.10.0", "v20.1.0"], "by version, not by name")


class NoBpyTest(unittest.TestCase):
    def test_imports_without_blender(self):
        self.assertNotIn("bpy", sys.modules)


if __name__ == "__main__":
    unittest.main(verbosity=1)
