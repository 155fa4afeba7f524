/** Where the sidecar keeps its discovery file, job store and logs: the platform's per-user state folder. */
import { DomainError, describeError } from './domain/errors.js';
import { makePrivateFolder, osOf, userStateFolder } from './platform.js';

/** $BLENDER_SIDECAR_STATE_DIR, else the platform's per-user state folder (platform.ts: $XDG_STATE_HOME on Linux). */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.BLENDER_SIDECAR_STATE_DIR) return env.BLENDER_SIDECAR_STATE_DIR;
  return userStateFolder('blender-sidecar', env, osOf(platform));
}

/** Creates the folder if needed and makes it private (0700 on POSIX): it holds the token that grants control of Blender. */
export function ensurePrivateDir(dir: string): void {
  makePrivateFolder(dir);
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
