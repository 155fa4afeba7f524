/**
 * The Blender this sidecar drives: located once at start, probed once (lazily, cached on disk). Everything that needs
 * Blender asks here, and gets either a usable Blender or an error sentence saying what to fix.
 */
import { describeError } from '../errors.js';
import { locateBlender, type LocatedBlender } from './locate.js';
import { probeBlender, type BlenderProbe } from './probe.js';

export interface BlenderStatus {
  found: boolean;
  path?: string;
  version?: string;
  problem?: string;
}

export class BlenderInstallation {
  private located: LocatedBlender | undefined;
  private locateError: unknown;
  private probing: Promise<BlenderProbe> | undefined;
  private probeResult: BlenderProbe | undefined;

  /** Whether the version and formats are known (probed already), so asking costs nothing. */
  get probed(): boolean {
    return this.probeResult !== undefined;
  }

  constructor(
    private readonly explicit: string | undefined,
    private readonly stateDir: string | undefined,
  ) {
    try {
      this.located = locateBlender({ explicit });
    } catch (err) {
      this.locateError = err;
    }
  }

  /** The executable, or throws the error that says what was tried. */
  path(): string {
    if (this.located) return this.located.path;
    throw this.locateError;
  }

  /** Version and capabilities; the first call runs Blender once (or reads the cache). */
  probe(): Promise<BlenderProbe> {
    if (!this.probing) {
      const path = this.path();
      this.probing = probeBlender(path, this.stateDir);
      this.probing.then(
        (p) => (this.probeResult = p),
        () => undefined,
      );
      // A failed probe may succeed later (Blender installed meanwhile): do not cache the failure.
      this.probing.catch(() => (this.probing = undefined));
    }
    return this.probing;
  }

  async status(options: { probe?: boolean } = {}): Promise<BlenderStatus> {
    if (!this.located) return { found: false, problem: describeError(this.locateError) };
    if (options.probe === false && !this.probeResult) return { found: true, path: this.located.path };
    try {
      const probe = await this.probe();
      return { found: true, path: this.located.path, version: probe.version };
    } catch (err) {
      return { found: false, path: this.located.path, problem: describeError(err) };
    }
  }

  /** Locating again lets a long-running sidecar notice a Blender installed after it started. */
  relocate(): void {
    if (this.located) return;
    try {
      this.located = locateBlender({ explicit: this.explicit });
      this.locateError = undefined;
    } catch (err) {
      this.locateError = err;
    }
  }
}
