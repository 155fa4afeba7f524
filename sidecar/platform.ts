/**
 * Everything the sidecar does differently on Linux, macOS and Windows, in one file so that it stays small and visible:
 * the per-user state folder, finding executables (PATH, PATHEXT) and Blender's install places, ending a process tree,
 * suspending a process (the hang tests), private folders and files, desktop notifications, sampling a process's CPU and
 * memory. Nothing here can run Windows or macOS, so every function takes the platform as its last argument (default:
 * this machine) and test/unit/platform.test.ts runs each branch on Linux. Callers ask here: elsewhere in sidecar/,
 * `process.platform` is only passed along as a default, or named for a farm (Flamenco's GOOS in flamenco-job.ts). The
 * Python the workers run inside Blender (worker/) is its own package and keeps its one branch (peak_memory.py).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { posix, win32 } from 'node:path';

/** The three families the sidecar tells apart; every other Unix (FreeBSD...) behaves as Linux here. */
export type Os = 'linux' | 'darwin' | 'win32';

export function osOf(platform: NodeJS.Platform = process.platform): Os {
  return platform === 'win32' || platform === 'darwin' ? platform : 'linux';
}

/** Paths in the platform's own syntax, so a Windows path built in a test on Linux reads as it would on Windows. */
export function pathsOf(os: Os = osOf()): typeof posix {
  return os === 'win32' ? win32 : posix;
}

/** An environment variable by name; on Windows names are case-insensitive (`Path`, `PATH`), as Windows reads them. */
export function envValue(env: NodeJS.ProcessEnv, name: string, os: Os = osOf()): string | undefined {
  if (os !== 'win32') return env[name];
  const key = Object.keys(env).find((k) => k.toUpperCase() === name.toUpperCase());
  return key === undefined ? undefined : env[key];
}

// --- the state folder ---------------------------------------------------------------------------------------------

/**
 * The per-user folder an application keeps its state in, with `app` appended: $XDG_STATE_HOME (when absolute, else
 * ~/.local/state) on Linux, ~/Library/Application Support on macOS, %LOCALAPPDATA% on Windows.
 */
export function userStateFolder(app: string, env: NodeJS.ProcessEnv, os: Os = osOf(), home = homedir()): string {
  const p = pathsOf(os);
  if (os === 'win32') return p.join(envValue(env, 'LOCALAPPDATA', os) ?? p.join(home, 'AppData', 'Local'), app);
  if (os === 'darwin') return p.join(home, 'Library', 'Application Support', app);
  const base = env.XDG_STATE_HOME?.startsWith('/') ? env.XDG_STATE_HOME : p.join(home, '.local', 'state');
  return p.join(base, app);
}

/**
 * The per-user folder for caches (files that can be deleted at any time and are made again), with `app` appended:
 * $XDG_CACHE_HOME (when absolute, else ~/.cache) on Linux, ~/Library/Caches on macOS, %LOCALAPPDATA%\<app>\cache on
 * Windows.
 */
export function userCacheFolder(app: string, env: NodeJS.ProcessEnv, os: Os = osOf(), home = homedir()): string {
  const p = pathsOf(os);
  if (os === 'win32') return p.join(userStateFolder(app, env, os, home), 'cache');
  if (os === 'darwin') return p.join(home, 'Library', 'Caches', app);
  const base = env.XDG_CACHE_HOME?.startsWith('/') ? env.XDG_CACHE_HOME : p.join(home, '.cache');
  return p.join(base, app);
}

// --- private folders and files ------------------------------------------------------------------------------------

/**
 * The mode token, log and store files are created with: owner read/write on POSIX. Windows ignores it (Node only maps
 * the write bit to "read-only"); there the folder's access list is what keeps the files private (privateFolder).
 */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * How a folder is made private to this user, or undefined when nothing needs doing. POSIX: chmod 0700 when group or
 * others have any access. Windows: a folder the sidecar has just created gets an access list for this user alone
 * (icacls, in every Windows since Vista), instead of the inherited one (under %LOCALAPPDATA% that is already private,
 * but a --state-dir elsewhere may not be); a folder that already existed is the user's choice and is left as it is.
 */
export function privateFolderStep(
  dir: string,
  state: { mode: number; created: boolean },
  os: Os = osOf(),
  user?: string,
): { chmod: number } | { command: string[] } | undefined {
  if (os === 'win32')
    return state.created ? { command: ['icacls', dir, '/inheritance:r', '/grant:r', `${user ?? userName()}:(OI)(CI)F`, '/q'] } : undefined;
  return (state.mode & 0o077) !== 0 ? { chmod: 0o700 } : undefined;
}

/** Creates `dir` if needed and makes it private (privateFolderStep). Throws what mkdir/chmod throw. */
export function makePrivateFolder(dir: string, os: Os = osOf()): void {
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 }) !== undefined;
  const step = privateFolderStep(dir, { mode: statSync(dir).mode, created }, os);
  if (step && 'chmod' in step) chmodSync(dir, step.chmod);
  // Best effort: a file system without access lists (FAT, a network share) keeps what it has; the folder still works.
  if (step && 'command' in step)
    spawnSync(step.command[0]!, step.command.slice(1), { stdio: 'ignore', windowsHide: true, timeout: 15_000 });
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USERNAME ?? 'CURRENT_USER';
  }
}

// --- executables ---------------------------------------------------------------------------------------------------

/** Whether `path` is a file this user may run: the execute bit on POSIX; on Windows any file (the extension decides). */
export function isExecutable(path: string, os: Os = osOf()): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    if (os === 'win32') return true;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** PATH's folders, in order. */
export function searchPath(env: NodeJS.ProcessEnv, os: Os = osOf()): string[] {
  return (envValue(env, 'PATH', os) ?? '').split(pathsOf(os).delimiter).filter(Boolean);
}

/**
 * The file names a shell tries for a command name in each PATH folder: the name itself on POSIX; on Windows the name
 * with each extension of PATHEXT (.COM;.EXE;.BAT;.CMD by default) unless it already ends in one, as cmd.exe does.
 */
export function commandFileNames(name: string, env: NodeJS.ProcessEnv, os: Os = osOf()): string[] {
  if (os !== 'win32') return [name];
  const exts = (envValue(env, 'PATHEXT', os) ?? '.COM;.EXE;.BAT;.CMD').split(';').filter((e) => e.startsWith('.'));
  const ext = win32.extname(name).toLowerCase();
  if (ext && exts.some((e) => e.toLowerCase() === ext)) return [name];
  return exts.map((e) => `${name}${e.toLowerCase()}`);
}

/** Every executable `name` in PATH, in the order a shell would try them (the first is what a shell runs). */
export function findInPath(name: string, env: NodeJS.ProcessEnv, os: Os = osOf()): string[] {
  const p = pathsOf(os);
  return searchPath(env, os)
    .flatMap((dir) => commandFileNames(name, env, os).map((n) => p.join(dir, n)))
    .filter((f) => isExecutable(f, os));
}

/**
 * Whether a command given by the user is a path rather than a name to look up in PATH: it has a separator. A
 * backslash counts everywhere, as it always has here (a Windows path pasted on Linux is not a command name).
 */
export function isPathLike(command: string): boolean {
  return /[\\/]/.test(command);
}

function globDirs(parent: string, prefix: RegExp, os: Os): string[] {
  try {
    return readdirSync(parent)
      .filter((n) => prefix.test(n))
      .sort()
      .reverse()
      .map((n) => pathsOf(os).join(parent, n));
  } catch {
    return [];
  }
}

/** Where Blender's installers (and package managers) put it, newest-looking first within each place. */
export function blenderInstallLocations(env: NodeJS.ProcessEnv, os: Os = osOf(), home = homedir()): string[] {
  const p = pathsOf(os);
  if (os === 'darwin') {
    // Side-by-side versions are usually renamed Blender 4.2.app, Blender-3.6.app.
    const apps = (root: string) =>
      [p.join(root, 'Blender.app'), ...globDirs(root, /^Blender.+\.app$/i, os)].map((a) => p.join(a, 'Contents/MacOS/Blender'));
    return [...apps('/Applications'), ...apps(p.join(home, 'Applications'))];
  }
  if (os === 'win32') {
    const roots = [
      envValue(env, 'ProgramFiles', os) ?? 'C:\\Program Files',
      envValue(env, 'ProgramFiles(x86)', os) ?? 'C:\\Program Files (x86)',
    ];
    const out: string[] = [];
    for (const root of roots) {
      for (const dir of globDirs(p.join(root, 'Blender Foundation'), /^Blender/i, os)) out.push(p.join(dir, 'blender.exe'));
    }
    out.push(
      p.join(
        envValue(env, 'LOCALAPPDATA', os) ?? p.join(home, 'AppData', 'Local'),
        'Programs',
        'Blender Foundation',
        'Blender',
        'blender.exe',
      ),
    );
    return out;
  }
  return [
    '/usr/bin/blender',
    '/usr/local/bin/blender',
    ...globDirs('/opt', /^blender/i, os).map((d) => p.join(d, 'blender')),
    '/snap/bin/blender',
    '/var/lib/flatpak/exports/bin/org.blender.Blender',
    ...globDirs(home, /^blender-\d/i, os).map((d) => p.join(d, 'blender')),
  ];
}

// --- processes -----------------------------------------------------------------------------------------------------

/**
 * How a process and everything it started is ended at once. POSIX: SIGKILL to its process group (workers are spawned
 * `detached`, so each leads its own group), falling back to the process alone. Windows has no groups to signal:
 * `taskkill /T /F` walks the tree by parent pid (taskkill is in every Windows since XP, unlike wmic).
 */
export function processTreeKill(pid: number, os: Os = osOf()): { signal: 'SIGKILL'; targets: number[] } | { command: string[] } {
  if (os === 'win32') return { command: ['taskkill', '/PID', String(pid), '/T', '/F'] };
  return { signal: 'SIGKILL', targets: [-pid, pid] };
}

/**
 * Ends `pid` and its descendants now. Returns false when there was nothing to end (already gone). Synchronous on every
 * platform, so that when it returns the kill has been delivered (Windows: taskkill has run, tens of milliseconds).
 */
export function endProcessTree(pid: number, os: Os = osOf()): boolean {
  const how = processTreeKill(pid, os);
  if ('command' in how) {
    const r = spawnSync(how.command[0]!, how.command.slice(1), { stdio: 'ignore', windowsHide: true, timeout: 15_000 });
    if (r.status === 0) return true;
    return sendSignal(pid, 'SIGKILL'); // taskkill missing or refused: Node's kill is TerminateProcess, the process alone
  }
  return how.targets.some((target) => sendSignal(target, how.signal));
}

function sendSignal(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Freezing a process without ending it (what a hung Blender looks like from outside: alive, silent) and thawing it.
 * POSIX: SIGSTOP / SIGCONT. Windows has no such signal; ntdll's NtSuspendProcess / NtResumeProcess do the same, reached
 * from Windows PowerShell (in every Windows since 7) through Add-Type.
 */
export function suspendStep(
  pid: number,
  action: 'suspend' | 'resume',
  os: Os = osOf(),
): { signal: NodeJS.Signals } | { command: string[] } {
  if (os !== 'win32') return { signal: action === 'suspend' ? 'SIGSTOP' : 'SIGCONT' };
  const fn = action === 'suspend' ? 'NtSuspendProcess' : 'NtResumeProcess';
  const script = [
    `Add-Type -Name Nt -Namespace SidecarPlatform -MemberDefinition '[DllImport("ntdll.dll")] public static extern int ${fn}(IntPtr handle);'`,
    `exit [SidecarPlatform.Nt]::${fn}((Get-Process -Id ${pid}).Handle)`,
  ].join('; ');
  return { command: ['powershell', '-NoProfile', '-NonInteractive', '-Command', script] };
}

/** Suspends (or resumes) `pid`; throws, naming the process, when that fails. */
export function setSuspended(pid: number, suspended: boolean, os: Os = osOf()): void {
  const step = suspendStep(pid, suspended ? 'suspend' : 'resume', os);
  if ('signal' in step) {
    process.kill(pid, step.signal);
    return;
  }
  const r = spawnSync(step.command[0]!, step.command.slice(1), { encoding: 'utf8', windowsHide: true, timeout: 30_000 });
  if (r.status !== 0)
    throw new Error(
      `could not ${suspended ? 'suspend' : 'resume'} process ${pid}: ${r.error?.message ?? r.stderr.trim() ?? `exit ${r.status}`}`,
    );
}

/** Spawn options for a child that should not be tied to the sidecar's console: its own session on POSIX. */
export function backgroundSpawnOptions(os: Os = osOf()): { detached: boolean } {
  // On Windows `detached` would give the child a console of its own instead.
  return { detached: os !== 'win32' };
}

// --- desktop notifications -----------------------------------------------------------------------------------------

/** The command that shows a desktop notification: notify-send (libnotify), osascript, a PowerShell balloon tip. */
export function notificationCommand(title: string, body: string, os: Os = osOf()): string[] {
  if (os === 'darwin') {
    const q = (s: string) => JSON.stringify(s); // AppleScript strings take the same escapes as JSON for " and \
    return ['osascript', '-e', `display notification ${q(body)} with title ${q(title)}`];
  }
  if (os === 'win32') {
    const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
    const script = [
      'Add-Type -AssemblyName System.Windows.Forms',
      '$n = New-Object System.Windows.Forms.NotifyIcon',
      '$n.Icon = [System.Drawing.SystemIcons]::Information',
      '$n.Visible = $true',
      `$n.ShowBalloonTip(10000, ${q(title)}, ${q(body)}, [System.Windows.Forms.ToolTipIcon]::Info)`,
      'Start-Sleep -Seconds 10',
      '$n.Dispose()',
    ].join('; ');
    return ['powershell', '-NoProfile', '-NonInteractive', '-Command', script];
  }
  return ['notify-send', '--app-name=Blender Sidecar', title, body];
}

// --- CPU and memory of running processes ---------------------------------------------------------------------------

export interface ProcessUsage {
  /** Percent of one core since the previous sample. */
  cpu: number;
  /** Resident memory (working set on Windows), bytes. */
  memory: number;
}

/** pidusage's call (passed in, so that the client, which shares this module, does not bundle it). */
export type Sampler = (pids: number | number[], options: Record<string, unknown>) => Promise<unknown>;

/**
 * On Linux, a sampler that reads /proc itself. pidusage reads /proc too, but first asks `getconf` for the clock tick
 * and the page size, in two shell commands, and twice when two pids are sampled at once: four processes at the start
 * of every sidecar, which on a cold `blender-sidecar render` compete with its workers' start-up. The kernel reports
 * CPU time in /proc in USER_HZ, which is 100 on every architecture Node runs on, and VmRSS in kB, so neither is needed.
 * Elsewhere, `fallback` (pidusage).
 */
export function processSampler(fallback: Sampler, os: Os = osOf()): Sampler {
  if (os !== 'linux') return fallback;
  const USER_HZ = 100;
  const last = new Map<number, { ticks: number; at: number }>();
  return async (pids) => {
    const pid = pids as number;
    const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')]);
    // Fields after comm (which may hold spaces and parentheses): utime and stime are fields 14 and 15; starttime 22.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]);
    const at = performance.now();
    const rssKB = Number(/^VmRSS:\s*(\d+)/m.exec(status)?.[1] ?? 0);
    const before = last.get(pid) ?? { ticks: 0, at: at - (uptimeSeconds() - Number(rest[19]) / USER_HZ) * 1000 };
    last.set(pid, { ticks, at });
    if (last.size > 256) last.delete(last.keys().next().value!);
    const seconds = (at - before.at) / 1000;
    return { cpu: seconds > 0 ? Math.max(0, ((ticks - before.ticks) / USER_HZ / seconds) * 100) : 0, memory: rssKB * 1024 };
  };
}

function uptimeSeconds(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

/**
 * The CPU and memory of each live pid (a pid that is gone is left out). pidusage reads /proc on Linux and runs `ps` on
 * macOS. On Windows it would run `wmic` where it still exists, and wmic is deprecated and gone from Windows 11 24H2:
 * `useGwmi` makes it ask Windows PowerShell (Get-WmiObject) instead, always. One PowerShell start costs far more than a
 * /proc read, so on Windows all pids go in one call (a pid that is gone simply has no row); elsewhere one pid at a
 * time, because pidusage fails a whole batch when one worker exited between listing and sampling.
 */
export async function sampleProcesses(pids: number[], sample: Sampler, os: Os = osOf()): Promise<Map<number, ProcessUsage>> {
  const out = new Map<number, ProcessUsage>();
  const keep = (pid: number, s: unknown) => {
    const stat = s as Partial<ProcessUsage> | undefined;
    if (stat && typeof stat.cpu === 'number' && typeof stat.memory === 'number') out.set(pid, { cpu: stat.cpu, memory: stat.memory });
  };
  if (pids.length === 0) return out;
  if (os === 'win32') {
    const stats = (await sample(pids, { useGwmi: true }).catch(() => ({}))) as Record<string, unknown>;
    for (const pid of pids) keep(pid, stats[pid]);
    return out;
  }
  const stats = await Promise.all(pids.map((pid) => sample(pid, {}).catch(() => undefined)));
  for (const [i, pid] of pids.entries()) keep(pid, stats[i]);
  return out;
}
