/** Where the sidecar keeps its discovery file, job store and logs: the platform's per-user state folder. */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DomainError, describeError } from './domain/errors.js';

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.BLENDER_SIDECAR_STATE_DIR) return env.BLENDER_SIDECAR_STATE_DIR;
  if (platform === 'win32') {
    return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'blender-sidecar');
  }
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'blender-sidecar');
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(base, 'blender-sidecar');
}

/** Creates the folder if needed and makes it private (0700): it holds the token that grants control of Blender. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32' && (statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** A state folder the sidecar cannot use (read-only, full, missing permissions): the sentence says which and what to do. */
export class StateFolderError extends DomainError {
  override readonly name = 'StateFolderError';
  constructor(dir: string, doing: string, err: unknown) {
    super('unavailable', `${describeStateFault(dir, doing, err)}`, { stateDir: dir, code: (err as NodeJS.ErrnoException)?.code });
  }
}

/** "could not <doing> in the state folder DIR: <why>; <what to do>" for a file-system error. */
export function describeStateFault(dir: string, doing: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  const elsewhere = 'or start the sidecar with --state-dir (BLENDER_SIDECAR_STATE_DIR) on another folder';
  const why =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? `the disk is full; free space there, ${elsewhere}`
      : code === 'EROFS'
        ? `it is on a read-only file system; ${elsewhere.replace(/^or /, '')}`
        : code === 'EACCES' || code === 'EPERM'
          ? `permission denied; make it writable by this user, ${elsewhere}`
          : code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST'
            ? `something in it is not what the sidecar expects (${describeError(err)}); move that aside, ${elsewhere}`
            : `${describeError(err)}; check the folder, ${elsewhere}`;
  return `could not ${doing} in the state folder ${dir}: ${why}`;
}

/** Creates and checks the state folder, putting a failure into words (StateFolderError). */
export function openStateDir(dir: string): void {
  try {
    ensurePrivateDir(dir);
  } catch (err) {
    throw new StateFolderError(dir, 'create or open files', err);
  }
}
