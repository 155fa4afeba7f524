/**
 * Finding Blender: `--blender PATH`, then `BLENDER` (either may name a wrapper script), then PATH, then the places
 * installers put it on Linux, macOS and Windows. When none is found the error lists everything tried.
 */
import { existsSync, realpathSync } from 'node:fs';
import { DomainError } from '../errors.js';
import {
  blenderInstallLocations,
  commandFileNames,
  findInPath,
  isExecutable,
  isPathLike,
  osOf,
  pathsOf,
  searchPath,
} from '../../platform.js';

export class BlenderNotFoundError extends DomainError {
  override readonly name = 'BlenderNotFoundError';
  constructor(readonly tried: string[]) {
    super(
      'no-blender',
      `Blender was not found (tried ${tried.length} places: ${tried.slice(0, 6).join(', ')}${tried.length > 6 ? ', ...' : ''}). ` +
        'Install it (on Debian/Ubuntu: sudo apt-get install blender python3-numpy), or pass --blender PATH, or set BLENDER=PATH.',
      { tried },
    );
  }
}

export interface LocateOptions {
  /** A path, a wrapper script, or a command name looked up in PATH. */
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

/**
 * A bare command name ("blender", "blender-4.2") is looked up in PATH as a shell would (with PATHEXT on Windows);
 * anything with a slash is a path. Returns the name unchanged when PATH has no such executable, so the error can quote
 * what the user typed.
 */
export function resolveCommand(name: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (isPathLike(name)) return name;
  return findInPath(name, env, osOf(platform))[0] ?? name;
}

/** One `--blender` value (a path, a wrapper script, or a command name found through PATH), or the error that says what to fix. */
export function locateExplicit(
  value: string,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): LocatedBlender {
  const path = resolveCommand(value, env, platform);
  const tried = [`${path} (${source})`];
  if (isExecutable(path)) return { path, source, tried };
  // An explicit choice that does not work is an error, not a reason to quietly run some other Blender.
  const bare = !isPathLike(value);
  throw new DomainError(
    'no-blender',
    bare
      ? `${source} ${value}: no executable named ${value} in PATH; give the path to blender (or a wrapper script), or a command name in PATH`
      : `${source} ${value} is not an executable file; give the path to blender (or a wrapper script)`,
    { tried },
  );
}

/**
 * Every Blender this machine has, first the one a plain `locateBlender` would pick: with explicit paths, exactly those
 * (the user chose); otherwise BLENDER, every `blender` in PATH, and every install location that exists. Duplicates (the
 * same file through a link) are listed once. Throws what `locateBlender` throws when there is none.
 */
export function locateAllBlenders(
  options: { explicit?: string[]; env?: NodeJS.ProcessEnv; platform?: NodeJS.Platform } = {},
): LocatedBlender[] {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  if (options.explicit?.length) return dedupe(options.explicit.map((e) => locateExplicit(e, '--blender', env, platform)));
  const first = locateBlender({ env, platform });
  const found: LocatedBlender[] = [first];
  for (const path of findInPath('blender', env, osOf(platform))) found.push({ path, source: 'PATH', tried: first.tried });
  for (const path of blenderInstallLocations(env, osOf(platform))) {
    if (existsSync(path) && isExecutable(path)) found.push({ path, source: 'install location', tried: first.tried });
  }
  return dedupe(found);
}

function dedupe(list: LocatedBlender[]): LocatedBlender[] {
  const seen = new Set<string>();
  return list.filter((b) => {
    let key = b.path;
    try {
      key = realpathSync(b.path);
    } catch {
      // Keep the path as given.
    }
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
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

  if (options.explicit) return locateExplicit(options.explicit, '--blender', env, platform);
  if (env.BLENDER) {
    const found = attempt(resolveCommand(env.BLENDER, env, platform), 'BLENDER');
    if (found) return found;
    throw new DomainError(
      'no-blender',
      `BLENDER=${env.BLENDER} is not an executable file; point it at blender (or a wrapper script), or unset it`,
      { tried },
    );
  }
  const os = osOf(platform);
  for (const dir of searchPath(env, os)) {
    for (const name of commandFileNames('blender', env, os)) {
      const found = attempt(pathsOf(os).join(dir, name), 'PATH');
      if (found) return found;
    }
  }
  for (const path of blenderInstallLocations(env, osOf(platform))) {
    if (!existsSync(path)) {
      tried.push(`${path} (install location)`);
      continue;
    }
    const found = attempt(path, 'install location');
    if (found) return found;
  }
  throw new BlenderNotFoundError(tried);
}
