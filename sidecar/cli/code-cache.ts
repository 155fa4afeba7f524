/**
 * Running the bundled CLI from V8's compiled form of it, kept between runs.
 *
 * Node compiles the 2 MB bundle on every start: 60-80 ms of the 150 ms the bundle costs before a command does anything
 * (measured with --cpu-prof here), and a cold `blender-sidecar render` spends that while one core of a two-core machine
 * waits. Node 20 has no compile cache of its own (module.enableCompileCache came in Node 22), so this does what
 * v8-compile-cache did: compile the CommonJS bundle as a vm.Script with the cached data from the last run, and after the
 * command has started, save what V8 compiled by then for the next run.
 *
 * The cache is only ever a shortcut. The file's name holds a hash of the bundle's text, Node's version and the CPU
 * architecture (V8 checks only the text's length), and its first bytes a hash of the rest: a cache of another bundle, a
 * cut or damaged file, or one V8 refuses is ignored and written again. Files are written whole (a temporary file, then
 * a rename), the folder is the user's own (code loaded from it runs as the user), older caches are deleted when a new
 * one is written, and a folder that cannot be written (read-only, full) only means compiling as before.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname, join } from 'node:path';
import vm from 'node:vm';

const DIGEST_BYTES = 32;

/** Runs `file` (a CommonJS bundle) as Node would, with its compiled form from `cacheDir` when there is a good one. */
export function runCompiled(file: string, cacheDir: string | undefined): void {
  const source = readFileSync(file, 'utf8').replace(/^#!.*/, '');
  const key = createHash('sha256').update(source).update(`\0${process.version}\0${process.arch}`).digest('hex').slice(0, 24);
  // One per command: V8 keeps what a run compiled, and `render` runs other functions than `--version` or `call`.
  const command = /^[a-z]{1,20}$/.test(process.argv[2] ?? '') ? process.argv[2] : 'other';
  const cacheFile = cacheDir ? join(cacheDir, `cli-${key}-${command}.v8`) : undefined;
  const cachedData = cacheFile && isPrivate(cacheDir!) ? readCache(cacheFile) : undefined;
  const script = new vm.Script(Module.wrap(source), {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (cacheFile && (!cachedData || script.cachedDataRejected)) {
    // After the command has started (the functions it ran are compiled by then): on a timer for a long-running
    // command, at exit for a short one, whichever comes first.
    let done = false;
    const save = () => {
      if (done) return;
      done = true;
      writeCache(cacheDir!, cacheFile, key, script.createCachedData());
    };
    setTimeout(save, 1000).unref();
    process.once('exit', save);
  }
  const module = { exports: {} };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
}

function readCache(file: string): Buffer | undefined {
  try {
    const data = readFileSync(file);
    const body = data.subarray(DIGEST_BYTES);
    if (data.length <= DIGEST_BYTES || !createHash('sha256').update(body).digest().equals(data.subarray(0, DIGEST_BYTES))) return undefined;
    return body;
  } catch {
    return undefined;
  }
}

/** Code read from the folder runs as this user: it must be theirs, and no one else's to write to (POSIX). */
function isPrivate(dir: string): boolean {
  try {
    const folder = statSync(dir);
    return !process.getuid || (folder.uid === process.getuid() && (folder.mode & 0o022) === 0);
  } catch {
    return false;
  }
}

function writeCache(dir: string, file: string, key: string, data: Buffer): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!isPrivate(dir)) return;
    writeFileSync(temporary, Buffer.concat([createHash('sha256').update(data).digest(), data]), { mode: 0o600 });
    renameSync(temporary, file);
    // Only this bundle's: another bundle's caches go once one of this one's is written; a temporary file left by a
    // run that was killed while writing goes after an hour.
    const mine = `cli-${key}-`;
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (!name.startsWith('cli-') || name.startsWith(mine)) continue;
      if (name.endsWith('.v8') || Date.now() - statSync(path).mtimeMs > 3_600_000) rmSync(path, { force: true });
    }
  } catch {
    // A read-only or full disk: the next run compiles, as without a cache.
    rmSync(temporary, { force: true });
  }
}
