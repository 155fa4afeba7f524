/**
 * Every Blender this sidecar may run: the ones given with `--blender` (repeatable; then exactly those), or else BLENDER,
 * every `blender` in PATH and every usual install place. Each is asked its version once (cached by path, size and
 * modification time); the full probe (export formats, engines) is run only for a Blender a job is going to use.
 */
import { describeError } from '../errors.js';
import { blendVersionNumber } from './blend-header.js';
import { BlenderInstallation } from './blender.js';
import { locateAllBlenders, type LocatedBlender } from './locate.js';
import { probeVersion } from './probe.js';

export interface InstalledBlender {
  path: string;
  /** How it was found: "--blender", "BLENDER", "PATH" or "install location". */
  source: string;
  /** As Blender says it, "4.3.2"; absent when it could not be asked. */
  version?: string;
  /** major * 100 + minor (403), comparable with a .blend header's version. */
  versionNumber?: number;
  problem?: string;
}

/** Looking for newly installed Blenders costs a few stats; not more often than this. */
const RELOCATE_MS = 10_000;

export class BlenderInstallations {
  /** The first Blender found: the default for jobs that name no file version (and what `sidecar.info` calls "blender"). */
  readonly primary: BlenderInstallation;
  private located: LocatedBlender[] = [];
  private locateError: unknown;
  private locatedAt = 0;
  private readonly byPath = new Map<string, BlenderInstallation>();

  constructor(
    private readonly explicit: string[],
    private readonly stateDir: string | undefined,
  ) {
    this.primary = new BlenderInstallation(explicit[0], stateDir);
    this.relocate(true);
  }

  /** Finds the Blenders again (a Blender installed after start is noticed). */
  relocate(force = false): void {
    if (!force && Date.now() - this.locatedAt < RELOCATE_MS) return;
    this.locatedAt = Date.now();
    this.primary.relocate();
    try {
      this.located = locateAllBlenders({ explicit: this.explicit });
      this.locateError = undefined;
    } catch (err) {
      this.located = [];
      this.locateError = err;
    }
  }

  /** Why there is no Blender at all, or undefined. */
  get problem(): string | undefined {
    return this.located.length === 0 ? describeError(this.locateError ?? 'no Blender was found') : undefined;
  }

  paths(): string[] {
    return this.located.map((b) => b.path);
  }

  /** The installation at `path` (its full probe, its status), made once. */
  installation(path: string): BlenderInstallation {
    try {
      if (this.primary.path() === path) return this.primary;
    } catch {
      // No primary: fall through to a per-path one.
    }
    let one = this.byPath.get(path);
    if (!one) this.byPath.set(path, (one = new BlenderInstallation(path, this.stateDir)));
    return one;
  }

  /** The version of the Blender at `path` (one found here or not), remembered in the state folder. */
  versionOf(path: string): Promise<string> {
    return probeVersion(path, this.stateDir);
  }

  /** Every Blender found, with its version (asked in parallel, cached). A Blender that does not answer says why. */
  async list(): Promise<InstalledBlender[]> {
    this.relocate();
    return Promise.all(
      this.located.map(async (b): Promise<InstalledBlender> => {
        try {
          const version = await this.versionOf(b.path);
          return { path: b.path, source: b.source, version, versionNumber: blendVersionNumber(version) };
        } catch (err) {
          return { path: b.path, source: b.source, problem: describeError(err) };
        }
      }),
    );
  }
}
