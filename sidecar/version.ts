/**
 * The version, from one source: package.json. The build injects it (esbuild `define`); when the sources run directly
 * (tests through tsx) it is read from package.json next to them.
 */
import { readFileSync } from 'node:fs';

declare const __SIDECAR_VERSION__: string | undefined;

function fromPackageJson(): string {
  const url = new URL('../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

export const VERSION: string = typeof __SIDECAR_VERSION__ === 'string' ? __SIDECAR_VERSION__ : fromPackageJson();

/** Bumped when a method's params or result change incompatibly. */
export const PROTOCOL_VERSION = 1;
