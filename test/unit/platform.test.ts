// sidecar/platform.ts, every branch: the Linux ones for real (processes, folders, modes), the macOS and Windows ones
// with the platform passed in, checking the exact paths and commands they would use there (nothing here runs either).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  backgroundSpawnOptions,
  blenderInstallLocations,
  commandFileNames,
  endProcessTree,
  envValue,
  findInPath,
  isExecutable,
  isPathLike,
  makePrivateFolder,
  notificationCommand,
  osOf,
  privateFolderStep,
  processTreeKill,
  processSampler,
  sampleProcesses,
  searchPath,
  setSuspended,
  suspendStep,
  userCacheFolder,
  userStateFolder,
  type Sampler,
} from '../../sidecar/platform.js';
import pidusage from 'pidusage';
import { isProcessAlive } from '../../sidecar/discovery.js';
import { tempDir } from '../helpers/sidecar.js';
import { until as untilValue } from '../helpers/until.js';

/** Polls `check` until it holds, or fails after `ms` saying what was awaited. */
async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${ms / 1000} s`);
    await sleep(20);
  }
}

/** A process's state letter (R, S, T for stopped, Z...): from /proc on Linux, from ps on macOS. */
const procState = (pid: number) => {
  if (process.platform !== 'linux')
    return execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' })
      .trim()
      .slice(0, 1);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
};

/** The tests that run real POSIX processes, modes and execute bits; on Windows (test:portable) they cannot. */
const linuxOnly = { skip: process.platform !== 'linux' && 'reads /proc' };
const posixOnly = { skip: process.platform === 'win32' && 'runs POSIX processes, file modes and execute bits' };

describe('platform', () => {
  describe('osOf', () => {
    it('tells Linux, macOS and Windows apart, and treats other Unixes as Linux', () => {
      assert.equal(osOf('linux'), 'linux');
      assert.equal(osOf('darwin'), 'darwin');
      assert.equal(osOf('win32'), 'win32');
      assert.equal(osOf('freebsd'), 'linux');
    });
  });

  describe('userStateFolder', () => {
    it('is $XDG_STATE_HOME/<app> on Linux when that is absolute, else ~/.local/state/<app>', () => {
      assert.equal(userStateFolder('blender-sidecar', { XDG_STATE_HOME: '/x/state' }, 'linux', '/home/ann'), '/x/state/blender-sidecar');
      assert.equal(
        userStateFolder('blender-sidecar', { XDG_STATE_HOME: 'relative' }, 'linux', '/home/ann'),
        '/home/ann/.local/state/blender-sidecar',
      );
      assert.equal(userStateFolder('blender-sidecar', {}, 'linux', '/home/ann'), '/home/ann/.local/state/blender-sidecar');
    });

    it('is ~/Library/Application Support/<app> on macOS, whatever XDG says', () => {
      assert.equal(
        userStateFolder('blender-sidecar', { XDG_STATE_HOME: '/x' }, 'darwin', '/Users/ann'),
        '/Users/ann/Library/Application Support/blender-sidecar',
      );
    });

    it("is %LOCALAPPDATA%\\<app> on Windows (the variable in any case), else the profile's AppData\\Local", () => {
      assert.equal(
        userStateFolder('blender-sidecar', { LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local' }, 'win32', 'C:\\Users\\ann'),
        'C:\\Users\\ann\\AppData\\Local\\blender-sidecar',
      );
      assert.equal(
        userStateFolder('blender-sidecar', { LocalAppData: 'D:\\Local' }, 'win32', 'C:\\Users\\ann'),
        'D:\\Local\\blender-sidecar',
      );
      assert.equal(userStateFolder('blender-sidecar', {}, 'win32', 'C:\\Users\\ann'), 'C:\\Users\\ann\\AppData\\Local\\blender-sidecar');
    });
  });

  describe('userCacheFolder', () => {
    it('is $XDG_CACHE_HOME/<app> (or ~/.cache) on Linux, ~/Library/Caches on macOS, %LOCALAPPDATA%\\<app>\\cache on Windows', () => {
      assert.equal(userCacheFolder('blender-sidecar', { XDG_CACHE_HOME: '/x/cache' }, 'linux', '/home/ann'), '/x/cache/blender-sidecar');
      assert.equal(userCacheFolder('blender-sidecar', { XDG_CACHE_HOME: 'rel' }, 'linux', '/home/ann'), '/home/ann/.cache/blender-sidecar');
      assert.equal(userCacheFolder('blender-sidecar', {}, 'darwin', '/Users/ann'), '/Users/ann/Library/Caches/blender-sidecar');
      assert.equal(
        userCacheFolder('blender-sidecar', { LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local' }, 'win32', 'C:\\Users\\ann'),
        'C:\\Users\\ann\\AppData\\Local\\blender-sidecar\\cache',
      );
    });
  });

  describe('envValue', () => {
    it('matches names exactly on POSIX and in any case on Windows', () => {
      assert.equal(envValue({ Path: '/a' }, 'PATH', 'linux'), undefined);
      assert.equal(envValue({ Path: 'C:\\a' }, 'PATH', 'win32'), 'C:\\a');
    });
  });

  describe('finding executables', () => {
    it('splits PATH on : on POSIX and on ; on Windows', () => {
      assert.deepEqual(searchPath({ PATH: '/a:/b::/c' }, 'linux'), ['/a', '/b', '/c']);
      assert.deepEqual(searchPath({ Path: 'C:\\a;D:\\b;' }, 'win32'), ['C:\\a', 'D:\\b']);
      assert.deepEqual(searchPath({}, 'darwin'), []);
    });

    it('tries the bare name on POSIX, and the name with each PATHEXT extension on Windows, as cmd.exe does', () => {
      assert.deepEqual(commandFileNames('blender', {}, 'linux'), ['blender']);
      assert.deepEqual(commandFileNames('blender', {}, 'darwin'), ['blender']);
      assert.deepEqual(commandFileNames('blender', {}, 'win32'), ['blender.com', 'blender.exe', 'blender.bat', 'blender.cmd']);
      assert.deepEqual(commandFileNames('blender', { PATHEXT: '.EXE;.PS1' }, 'win32'), ['blender.exe', 'blender.ps1']);
      assert.deepEqual(commandFileNames('blender.EXE', {}, 'win32'), ['blender.EXE'], 'a name that has its extension is used as it is');
      assert.deepEqual(
        commandFileNames('blender-4.2', { PATHEXT: '.EXE' }, 'win32'),
        ['blender-4.2.exe'],
        '".2" is not an executable extension',
      );
    });

    it('counts a name with a slash or backslash as a path, not a command to look up', () => {
      assert.equal(isPathLike('blender'), false);
      assert.equal(isPathLike('./blender'), true);
      assert.equal(isPathLike('C:\\Blender\\blender.exe'), true);
    });

    it('needs the execute bit on POSIX; on Windows any file will do, and a folder never', posixOnly, () => {
      const dir = tempDir('platform-');
      const plain = join(dir, 'plain');
      writeFileSync(plain, '#!/bin/sh\n');
      assert.equal(isExecutable(plain, 'linux'), false);
      assert.equal(isExecutable(plain, 'darwin'), false);
      assert.equal(isExecutable(plain, 'win32'), true);
      chmodSync(plain, 0o755);
      assert.equal(isExecutable(plain, 'linux'), true);
      assert.equal(isExecutable(dir, 'linux'), false);
      assert.equal(isExecutable(dir, 'win32'), false);
      assert.equal(isExecutable(join(dir, 'missing'), 'linux'), false);
    });

    it('finds every executable of that name in PATH, in PATH order, skipping files that are not executable', posixOnly, () => {
      const [a, b, c] = ['a', 'b', 'c'].map((n) => tempDir(`platform-path-${n}-`));
      for (const d of [a!, c!]) {
        writeFileSync(join(d, 'blender'), '#!/bin/sh\n');
        chmodSync(join(d, 'blender'), 0o755);
      }
      writeFileSync(join(b!, 'blender'), 'not executable');
      assert.deepEqual(findInPath('blender', { PATH: [b, c, a].join(':') }, 'linux'), [join(c!, 'blender'), join(a!, 'blender')]);
      assert.deepEqual(findInPath('nothing-here', { PATH: a! }, 'linux'), []);
    });
  });

  describe('blenderInstallLocations', () => {
    it("lists the Linux packages' places, /opt/blender*, and unpacked ~/blender-<version> folders", () => {
      const home = tempDir('platform-home-');
      mkdirSync(join(home, 'blender-4.2.3-linux-x64'));
      const places = blenderInstallLocations({}, 'linux', home);
      for (const p of [
        '/usr/bin/blender',
        '/usr/local/bin/blender',
        '/snap/bin/blender',
        '/var/lib/flatpak/exports/bin/org.blender.Blender',
      ])
        assert.ok(places.includes(p), p);
      assert.ok(places.includes(posix.join(home, 'blender-4.2.3-linux-x64', 'blender')));
    });

    it('lists Blender.app and renamed side-by-side apps in /Applications and ~/Applications on macOS', () => {
      const home = tempDir('platform-home-');
      mkdirSync(join(home, 'Applications', 'Blender 4.2.app'), { recursive: true });
      const places = blenderInstallLocations({}, 'darwin', home);
      assert.equal(places[0], '/Applications/Blender.app/Contents/MacOS/Blender');
      assert.ok(places.includes(posix.join(home, 'Applications', 'Blender.app', 'Contents/MacOS/Blender')));
      assert.ok(places.includes(posix.join(home, 'Applications', 'Blender 4.2.app', 'Contents/MacOS/Blender')));
    });

    it("lists the per-user installer's place under %LOCALAPPDATA% on Windows", () => {
      const places = blenderInstallLocations({ LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local' }, 'win32', 'C:\\Users\\ann');
      assert.deepEqual(places, ['C:\\Users\\ann\\AppData\\Local\\Programs\\Blender Foundation\\Blender\\blender.exe']);
    });
  });

  describe('ending a process tree', () => {
    it('signals the process group, then the process alone, on POSIX; runs taskkill /T /F on Windows', () => {
      assert.deepEqual(processTreeKill(1234, 'linux'), { signal: 'SIGKILL', targets: [-1234, 1234] });
      assert.deepEqual(processTreeKill(1234, 'darwin'), { signal: 'SIGKILL', targets: [-1234, 1234] });
      assert.deepEqual(processTreeKill(1234, 'win32'), { command: ['taskkill', '/PID', '1234', '/T', '/F'] });
    });

    it('ends a detached process and the child it started, and says false for a process already gone', posixOnly, async () => {
      const parent = spawn('sh', ['-c', 'sleep 60 & echo $!; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
      const child = await new Promise<number>((resolve) =>
        parent.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
      );
      const exited = new Promise((r) => parent.once('exit', r));
      assert.equal(endProcessTree(parent.pid!, 'linux'), true);
      await exited;
      await until('the child of the ended process is gone too', () => !isProcessAlive(child));
      const gone = spawn('true');
      await new Promise((r) => gone.once('exit', r));
      assert.equal(endProcessTree(gone.pid!, 'linux'), false);
    });
  });

  describe('suspending a process', () => {
    it('is SIGSTOP / SIGCONT on POSIX and NtSuspendProcess / NtResumeProcess through PowerShell on Windows', () => {
      assert.deepEqual(suspendStep(42, 'suspend', 'linux'), { signal: 'SIGSTOP' });
      assert.deepEqual(suspendStep(42, 'resume', 'darwin'), { signal: 'SIGCONT' });
      const win = suspendStep(42, 'suspend', 'win32') as { command: string[] };
      assert.deepEqual(win.command.slice(0, 4), ['powershell', '-NoProfile', '-NonInteractive', '-Command']);
      assert.match(win.command[4]!, /DllImport\("ntdll\.dll"\)\] public static extern int NtSuspendProcess/);
      assert.match(win.command[4]!, /NtSuspendProcess\(\(Get-Process -Id 42\)\.Handle\)/);
      assert.match((suspendStep(42, 'resume', 'win32') as { command: string[] }).command[4]!, /NtResumeProcess\(\(Get-Process -Id 42\)/);
    });

    it('freezes a running process without ending it, and thaws it', posixOnly, async () => {
      const proc = spawn('sleep', ['60'], { stdio: 'ignore' });
      try {
        setSuspended(proc.pid!, true, 'linux');
        await until('the process is stopped', () => procState(proc.pid!) === 'T');
        assert.equal(isProcessAlive(proc.pid!), true);
        setSuspended(proc.pid!, false, 'linux');
        await until('the process runs again', () => procState(proc.pid!) !== 'T');
      } finally {
        proc.kill('SIGKILL');
      }
    });
  });

  describe('private folders and files', () => {
    it('chmods a folder others can read to 0700 on POSIX; gives a folder it created a user-only access list on Windows', () => {
      assert.deepEqual(privateFolderStep('/s', { mode: 0o40755, created: false }, 'linux'), { chmod: 0o700 });
      assert.equal(privateFolderStep('/s', { mode: 0o40700, created: true }, 'darwin'), undefined);
      assert.deepEqual(privateFolderStep('C:\\s', { mode: 0o40666, created: true }, 'win32', 'ann'), {
        command: ['icacls', 'C:\\s', '/inheritance:r', '/grant:r', 'ann:(OI)(CI)F', '/q'],
      });
      assert.equal(
        privateFolderStep('C:\\s', { mode: 0o40666, created: false }, 'win32', 'ann'),
        undefined,
        'a folder the user chose is left as it is',
      );
    });

    it('creates a private folder, and makes an existing open one private', posixOnly, () => {
      const root = tempDir('platform-private-');
      const fresh = join(root, 'a', 'b');
      makePrivateFolder(fresh, 'linux');
      assert.equal(statSync(fresh).mode & 0o777, 0o700);
      const open = join(root, 'open');
      mkdirSync(open, { mode: 0o755 });
      chmodSync(open, 0o755);
      makePrivateFolder(open, 'linux');
      assert.equal(statSync(open).mode & 0o777, 0o700);
    });
  });

  describe('notificationCommand', () => {
    it('is notify-send on Linux, osascript on macOS, a PowerShell balloon tip on Windows, each quoting the text', () => {
      assert.deepEqual(notificationCommand('Job failed', 'frame 3', 'linux'), [
        'notify-send',
        '--app-name=Blender Sidecar',
        'Job failed',
        'frame 3',
      ]);
      assert.deepEqual(notificationCommand('T', 'say "hi"', 'darwin'), [
        'osascript',
        '-e',
        'display notification "say \\"hi\\"" with title "T"',
      ]);
      const win = notificationCommand("Ann's job", 'done', 'win32');
      assert.equal(win[0], 'powershell');
      assert.match(win[4]!, /ShowBalloonTip\(10000, 'Ann''s job', 'done'/);
    });

    it('starts helpers in their own session on POSIX, and not detached (which would open a console) on Windows', () => {
      assert.deepEqual(backgroundSpawnOptions('linux'), { detached: true });
      assert.deepEqual(backgroundSpawnOptions('win32'), { detached: false });
    });
  });

  describe('sampleProcesses', () => {
    it('reads this very process for real: memory in bytes, CPU in percent', async () => {
      const stats = await sampleProcesses([process.pid], pidusage as unknown as Sampler);
      const me = stats.get(process.pid);
      assert.ok(me, 'a sample for a live pid');
      assert.ok(me.memory > 1024 * 1024, `${me.memory} bytes`);
      assert.ok(me.cpu >= 0);
    });

    it('leaves out a pid that is gone and keeps the others', posixOnly, async () => {
      const gone = spawn('true');
      await new Promise((r) => gone.once('exit', r));
      const stats = await sampleProcesses([gone.pid!, process.pid], pidusage as unknown as Sampler, 'linux');
      assert.deepEqual([...stats.keys()], [process.pid]);
    });

    it(
      "on Linux reads /proc itself, without pidusage's getconf commands: a busy process's CPU, this process's memory",
      linuxOnly,
      async () => {
        const sample = processSampler(async () => assert.fail('pidusage is not called on Linux'));
        const busy = spawn(process.execPath, ['-e', 'for (;;) {}']);
        const idle = spawn('sleep', ['60']);
        try {
          const pids = [busy.pid!, idle.pid!, process.pid];
          await sampleProcesses(pids, sample);
          // CPU is measured between two samples: poll until the busy loop has run, rather than sleep a fixed time.
          const stats = await untilValue(
            async () => {
              const s = await sampleProcesses(pids, sample);
              return s.get(busy.pid!)!.cpu > 10 && s;
            },
            { timeoutMs: 10_000, what: 'the busy loop seen using CPU' },
          );
          assert.ok(stats.get(idle.pid!)!.cpu < stats.get(busy.pid!)!.cpu, JSON.stringify([...stats]));
          const rss = process.memoryUsage().rss;
          const mine = stats.get(process.pid)!.memory;
          assert.ok(mine > rss / 2 && mine < rss * 2, `${mine} bytes resident by /proc, ${rss} by Node`);
        } finally {
          busy.kill();
          idle.kill();
        }
        const gone = spawn('true');
        await new Promise((r) => gone.once('exit', r));
        assert.deepEqual([...(await sampleProcesses([gone.pid!, process.pid], sample)).keys()], [process.pid]);
      },
    );

    it('never lets pidusage run wmic on Windows: one PowerShell (gwmi) call for every pid', async () => {
      // A stand-in for pidusage: its Windows code paths cannot run here, so the test checks what it is asked.
      const calls: unknown[][] = [];
      const sampler = async (pids: number | number[], options: Record<string, unknown>) => {
        calls.push([pids, options]);
        return { 7: { cpu: 12.5, memory: 2048 } };
      };
      const stats = await sampleProcesses([7, 8], sampler, 'win32');
      assert.deepEqual(calls, [[[7, 8], { useGwmi: true }]]);
      assert.deepEqual([...stats.entries()], [[7, { cpu: 12.5, memory: 2048 }]], 'pid 8 had no row: it is left out');
      assert.equal((await sampleProcesses([7], async () => Promise.reject(new Error('powershell missing')), 'win32')).size, 0);
    });
  });
});
