/** Where the sidecar keeps its discovery file, job store and logs: the platform's per-user state folder. */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

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
