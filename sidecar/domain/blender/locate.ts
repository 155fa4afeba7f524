/**
 * Finding Blender: `--blender PATH`, then `BLENDER` (either may name a wrapper script), then PATH, then the places
 * installers put it on Linux, macOS and Windows. When none is found the error lists everything tried.
 */
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ErrorCode, SidecarError } from '../../errors.js';

export class BlenderNotFoundError extends SidecarError {
  override readonly name = 'BlenderNotFoundError';
  constructor(readonly tried: string[]) {
    super(
      `Blender was not found (tried ${tried.length} places: ${tried.slice(0, 6).join(', ')}${tried.length > 6 ? ', ...' : ''}). ` +
        'Install it (on Debian/Ubuntu: sudo apt-get install blender python3-numpy), or pass --blender PATH, or set BLENDER=PATH.',
      ErrorCode.BlenderNotFound,
      { tried },
    );
  }
}

export interface LocateOptions {
  explicit?: string;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}

export interface LocatedBlender {
  path: string;
  /** How it was found: "--blender", "BLENDER", "PATH" or "install location". */
  source: string;
  tried: string[];
}

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    if (process.platform === 'win32') return true;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function globDirs(parent: string, prefix: RegExp): string[] {
  try {
    return readdirSync(parent)
      .filter((n) => prefix.test(n))
      .sort()
      .reverse()
      .map((n) => join(parent, n));
  } catch {
    return [];
  }
}

export function installLocations(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  const home = homedir();
  if (platform === 'darwin') {
    return ['/Applications/Blender.app/Contents/MacOS/Blender', join(home, 'Applications/Blender.app/Contents/MacOS/Blender')];
  }
  if (platform === 'win32') {
    const roots = [env.ProgramFiles ?? 'C:\\Program Files', env['ProgramFiles(x86)'] ?? 'C:\\Program Files (x86)'];
    const out: string[] = [];
    for (const root of roots) {
      for (const dir of globDirs(join(root, 'Blender Foundation'), /^Blender/i)) out.push(join(dir, 'blender.exe'));
    }
    out.push(join(env.LOCALAPPDATA ?? join(home, 'AppData', 'Local'), 'Programs', 'Blender Foundation', 'Blender', 'blender.exe'));
    return out;
  }
  return [
    '/usr/bin/blender',
    '/usr/local/bin/blender',
    ...globDirs('/opt', /^blender/i).map((d) => join(d, 'blender')),
    '/snap/bin/blender',
    '/var/lib/flatpak/exports/bin/org.blender.Blender',
    ...globDirs(home, /^blender-\d/i).map((d) => join(d, 'blender')),
  ];
}

export function locateBlender(options: LocateOptions = {}): LocatedBlender {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const tried: string[] = [];
  const attempt = (path: string | undefined, source: string): LocatedBlender | undefined => {
    if (!path) return undefined;
    tried.push(`${path} (${source})`);
    return isExecutable(path) ? { path, source, tried } : undefined;
  };

  if (options.explicit) {
    const found = attempt(options.explicit, '--blender');
    if (found) return found;
    // An explicit choice that does not work is an error, not a reason to quietly run some other Blender.
    throw new SidecarError(
      `--blender ${options.explicit} is not an executable file; give the path to blender (or a wrapper script)`,
      ErrorCode.BlenderNotFound,
      { tried },
    );
  }
  if (env.BLENDER) {
    const found = attempt(env.BLENDER, 'BLENDER');
    if (found) return found;
    throw new SidecarError(
      `BLENDER=${env.BLENDER} is not an executable file; point it at blender (or a wrapper script), or unset it`,
      ErrorCode.BlenderNotFound,
      { tried },
    );
  }
  const exe = platform === 'win32' ? 'blender.exe' : 'blender';
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const found = attempt(join(dir, exe), 'PATH');
    if (found) return found;
  }
  for (const path of installLocations(platform, env)) {
    const found = existsSync(path) ? attempt(path, 'install location') : (tried.push(`${path} (install location)`), undefined);
    if (found) return found;
  }
  throw new BlenderNotFoundError(tried);
}
