/**
 * Where each frame goes, the way Blender names it: the last run of '#' becomes the zero-padded frame number (no '#':
 * four digits are appended), the format's extension is added unless already there, a folder means `folder/####`,
 * and `//` means "next to the blend file".
 */
import { statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { InvalidInputError } from '../errors.js';

/** Turns the user's `output` into an absolute pattern (still holding '#'), or says why it cannot be used. */
export function resolveOutputPattern(output: string, blendFile: string, field = 'output'): string {
  let path = output;
  if (path.startsWith('//')) path = join(dirname(blendFile), path.slice(2));
  else if (!isAbsolute(path)) {
    throw new InvalidInputError(field, `"${output}" must be an absolute path, or start with // to mean the blend file's folder`);
  }
  path = resolve(path) + (/[\\/]$/.test(path) ? '/' : '');
  let isDir = path.endsWith('/');
  if (!isDir) {
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      // Not there yet: a file pattern.
    }
  }
  return isDir ? join(path, '####') : path;
}

export function framePath(pattern: string, frame: number, extension: string): string {
  const runs = [...pattern.matchAll(/#+/g)];
  let path: string;
  const pad = (width: number) => (frame < 0 ? `-${String(-frame).padStart(width - 1, '0')}` : String(frame).padStart(width, '0'));
  const last = runs.at(-1);
  if (last && last.index !== undefined && !/[\\/]/.test(pattern.slice(last.index))) {
    path = pattern.slice(0, last.index) + pad(last[0].length) + pattern.slice(last.index + last[0].length);
  } else {
    path = pattern + pad(4);
  }
  return path.toLowerCase().endsWith(extension.toLowerCase()) ? path : path + extension;
}

/** A hidden file beside the final one: Blender writes here, the sidecar checks it, then renames it into place. */
export function partialPath(finalPath: string, workerId: string): string {
  const dir = dirname(finalPath);
  const name = finalPath.slice(dir.length + 1);
  return join(dir, `.${name}.sidecar-${workerId}.partial`);
}
