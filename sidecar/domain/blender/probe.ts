/**
 * What the installed Blender is and can do, asked once: its version and the export formats it can write with their
 * option names. Running Blender costs about two seconds, so the answer is cached in the state folder, keyed by the
 * executable's path, size and modification time.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { DomainError } from '../errors.js';
import { workerDir } from '../../paths.js';
import { PRIVATE_FILE_MODE } from '../../platform.js';
import { writeFileAtomic } from '../store/atomic-file.js';

export const ExportFormat = z.object({
  format: z.string(),
  label: z.string(),
  extensions: z.array(z.string()),
  operator: z.string(),
  options: z.array(z.string()),
});
export type ExportFormat = z.infer<typeof ExportFormat>;

export const BlenderProbe = z.object({
  version: z.string(),
  versionTuple: z.array(z.number()),
  python: z.string(),
  exportFormats: z.array(ExportFormat),
  engines: z.array(z.string()),
  /** Cycles bake types, lower case (`bpy.ops.object.bake` type enum). */
  bakeTypes: z.array(z.string()).default([]),
  /** Geometry Nodes simulation zones and Bake nodes can be baked to disk (Blender 4.1+). */
  simulationBake: z.boolean().default(false),
});
export type BlenderProbe = z.infer<typeof BlenderProbe>;

const CacheEntry = z.object({ key: z.string(), probe: BlenderProbe });

function cacheKey(blender: string): string {
  try {
    const st = statSync(blender);
    return `${blender}|${st.size}|${st.mtimeMs}|${workerScriptStamp()}`;
  } catch {
    return blender;
  }
}

/** The newest modification time among the worker scripts: a changed probe or format table probes again. */
function workerScriptStamp(): number {
  try {
    const dir = workerDir();
    const files = [join(dir, 'probe.py'), ...readdirSync(join(dir, 'sidecar_worker')).map((n) => join(dir, 'sidecar_worker', n))];
    return Math.max(...files.map((f) => statSync(f).mtimeMs));
  } catch {
    return 0;
  }
}

export async function probeBlender(blender: string, stateDir?: string): Promise<BlenderProbe> {
  const key = cacheKey(blender);
  // One cache file per executable: a sidecar that knows several Blenders keeps each one's answer.
  const cacheFile = stateDir
    ? join(stateDir, `blender-probe-${createHash('sha1').update(blender).digest('hex').slice(0, 12)}.json`)
    : undefined;
  if (cacheFile) {
    try {
      const cached = CacheEntry.parse(JSON.parse(readFileSync(cacheFile, 'utf8')));
      if (cached.key === key) return cached.probe;
    } catch {
      // No cache, or an old one: probe again.
    }
  }
  const script = join(workerDir(), 'probe.py');
  const run = await execa(blender, ['-b', '--factory-startup', '--python-exit-code', '1', '--python', script], {
    reject: false,
    timeout: 120_000,
    all: true,
    env: { PYTHONDONTWRITEBYTECODE: '1' },
  });
  const line = (run.stdout ?? '').split('\n').find((l) => l.startsWith('SIDECAR_PROBE '));
  if (run.exitCode !== 0 || !line) {
    const tail = (run.all ?? '').split('\n').slice(-8).join('\n');
    throw new DomainError(
      'no-blender',
      `Blender at ${blender} could not be probed (exit ${run.exitCode ?? run.signal}): ${tail.trim() || 'no output'}`,
      { blender },
    );
  }
  const probe = BlenderProbe.parse(JSON.parse(line.slice('SIDECAR_PROBE '.length)));
  if (cacheFile) {
    try {
      writeFileSync(cacheFile, JSON.stringify({ key, probe }), { mode: PRIVATE_FILE_MODE });
    } catch {
      // The cache only saves time.
    }
  }
  return probe;
}

/**
 * Only the version, from `blender --version` (a fraction of a second, no Python started, but a whole Blender start-up):
 * what routing needs to know of every installed Blender. Cached in memory and, given a state folder, in
 * `blender-versions.json` there, by path, size and modification time: a `blender-sidecar render` starts a sidecar of its
 * own every time, and asking Blender its version on each put most of a second before its first worker.
 */
const versionCache = new Map<string, string>();

const VersionFile = z.object({
  versions: z.record(z.string(), z.object({ key: z.string(), version: z.string(), at: z.number().optional() })),
});
/** Installed Blenders are few; a folder shared by many machines' paths must still not grow without end. */
const MAX_REMEMBERED_VERSIONS = 32;
/**
 * A wrapper script keeps its size and time when the Blender it runs is upgraded (an `exec` through a symlink that
 * moved): a stored answer is asked again after a day, so such an upgrade is noticed by the next day's first command.
 */
const VERSION_TRUSTED_MS = 24 * 3600 * 1000;

function versionKey(blender: string): string {
  try {
    const st = statSync(blender);
    return `${st.size}|${st.mtimeMs}`;
  } catch {
    return '';
  }
}

function readVersionFile(file: string): z.infer<typeof VersionFile>['versions'] {
  try {
    return VersionFile.parse(JSON.parse(readFileSync(file, 'utf8'))).versions;
  } catch {
    return {}; // None yet, cut short or from another release: asked again and written anew.
  }
}

function rememberVersion(file: string, blender: string, key: string, version: string): void {
  const versions = { ...readVersionFile(file), [blender]: { key, version, at: Date.now() } };
  const kept = Object.entries(versions).slice(-MAX_REMEMBERED_VERSIONS);
  try {
    writeFileAtomic(file, JSON.stringify({ versions: Object.fromEntries(kept) }), { fsync: false });
  } catch {
    // The cache only saves time (a full or read-only disk costs one `blender --version` next time).
  }
}

export async function probeVersion(blender: string, stateDir?: string): Promise<string> {
  const key = versionKey(blender);
  const memoryKey = `${blender}|${key}`;
  const known = versionCache.get(memoryKey);
  if (known) return known;
  const file = stateDir ? join(stateDir, 'blender-versions.json') : undefined;
  const stored = file && key ? readVersionFile(file)[blender] : undefined;
  if (stored?.key === key && stored.at !== undefined && Date.now() - stored.at < VERSION_TRUSTED_MS) {
    versionCache.set(memoryKey, stored.version);
    return stored.version;
  }
  const run = await execa(blender, ['--version'], { reject: false, timeout: 60_000, all: true });
  const version = /Blender (\d+\.\d+(?:\.\d+)?)/.exec(run.stdout ?? '')?.[1];
  if (run.exitCode !== 0 || !version) {
    const tail = (run.all ?? '').split('\n').slice(-3).join(' | ').trim();
    throw new DomainError(
      'no-blender',
      `Blender at ${blender} did not say its version (exit ${run.exitCode ?? run.signal}): ${tail || 'no output'}`,
      { blender },
    );
  }
  versionCache.set(memoryKey, version);
  if (file && key) rememberVersion(file, blender, key, version);
  return version;
}
