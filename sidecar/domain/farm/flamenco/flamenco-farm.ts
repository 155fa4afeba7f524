/**
 * The Flamenco farm module: the job is submitted at once (so a refusal reaches the caller of render.submit as an
 * error), then followed by polling; its state and frame count are mapped onto ours.
 */
import { statSync } from 'node:fs';
import { InvalidInputError } from '../../errors.js';
import type { JobRecord } from '../../jobs/job.js';
import { parseFrames } from '../../render/frame-range.js';
import { framePath, resolveOutputPattern } from '../../render/output-path.js';
import { normalizeImageFormat } from '../../render/render-request.js';
import { imageExtension } from '../../verify/image.js';
import type { ExternalJobHost, Farm, FarmOptions } from '../farm.js';
import type { FlamencoParam } from '../farm-param.js';
import { FlamencoClient } from './flamenco-client.js';
import { FlamencoFollower } from './flamenco-follower.js';
import { refuseUnmappable, submitRender } from './flamenco-job.js';

export interface FlamencoOptions extends FarmOptions {
  /** The manager jobs go to when they name no url (serve --flamenco-url). */
  defaultUrl?: string;
}

export class FlamencoFarm implements Farm {
  readonly kind = 'flamenco';
  private readonly followers = new Map<string, FlamencoFollower>();

  constructor(private readonly options: FlamencoOptions) {}

  private client(param: FlamencoParam): FlamencoClient {
    const url = param.url ?? this.options.defaultUrl;
    if (!url)
      throw new InvalidInputError('farm.url', 'no Flamenco manager given: pass farm.url, or start the sidecar with --flamenco-url URL');
    return new FlamencoClient({ url });
  }

  async submit(record: JobRecord): Promise<void> {
    const p = record.params as Record<string, unknown> & { farm: FlamencoParam; blendFile: string; output: string };
    refuseUnmappable(p);
    if (typeof p.frames !== 'string')
      throw new InvalidInputError('frames', 'is required for a farm job: the farm reads the file, not this machine');
    if (typeof p.scene !== 'string')
      throw new InvalidInputError('scene', 'is required for a farm job: the farm reads the file, not this machine');
    const frames = parseFrames(p.frames);
    const format = normalizeImageFormat(typeof p.format === 'string' ? p.format : 'PNG');
    const client = this.client(p.farm);
    const job = await submitRender(client, {
      blendFile: p.blendFile,
      frames,
      output: p.output,
      format,
      scene: p.scene,
      priority: record.priority,
      chunkSize: p.farm.chunkSize,
      metadata: { 'sidecar.job': record.id },
    });
    const pattern = resolveOutputPattern(p.output, p.blendFile);
    const extension = imageExtension(format);
    record.plan = {
      farm: 'flamenco',
      managerUrl: client.url,
      farmJobId: job.id,
      scene: p.scene,
      format,
      extension,
      outputPattern: pattern,
    };
    record.units = frames.map((f) => ({
      key: f,
      label: `frame ${f}`,
      state: 'pending',
      attempts: [],
      output: framePath(pattern, f, extension),
    }));
  }

  follow(record: JobRecord, host: ExternalJobHost): void {
    const plan = record.plan as { managerUrl: string; farmJobId: string };
    const client = new FlamencoClient({ url: plan.managerUrl });
    const follower = new FlamencoFollower(client, plan.farmJobId, {
      intervalMs: this.options.pollMs ?? 2000,
      frameCount: record.units.length,
      onUpdate: (u) => {
        if (u.state === 'running') host.started();
        host.progress(u.done, u.activity);
      },
    });
    this.followers.set(record.id, follower);
    follower.follow().then(
      (last) => {
        this.followers.delete(record.id);
        if (!last) return;
        if (last.state === 'completed') {
          // The frames are checked where this machine can see them (shared storage); elsewhere the farm's word stands.
          const missing = record.units.filter((u) => u.output && visible(u.output) === false);
          if (missing.length > 0 && missing.length < record.units.length) {
            host.finish('failed', `the farm reported success, but ${missing.length} frames are not on disk (first: ${missing[0]!.output})`);
            return;
          }
        }
        if (last.state === 'completed' || last.state === 'failed' || last.state === 'canceled') host.finish(last.state, last.error);
      },
      (err: unknown) => {
        this.followers.delete(record.id);
        host.finish('failed', (err as Error).message);
      },
    );
  }

  async cancel(record: JobRecord, reason: string): Promise<void> {
    const plan = record.plan as { managerUrl: string; farmJobId: string } | undefined;
    if (!plan?.farmJobId) return;
    const follower = this.followers.get(record.id);
    if (follower) await follower.cancel(reason);
    else await new FlamencoClient({ url: plan.managerUrl }).cancelJob(plan.farmJobId, reason);
    follower?.stop();
  }

  stopAll(): void {
    for (const f of this.followers.values()) f.stop();
    this.followers.clear();
  }
}

/** true/false when the frame's folder is visible here; undefined when it is not (the farm's storage only). */
function visible(path: string): boolean | undefined {
  try {
    statSync(path.slice(0, path.lastIndexOf('/')) || '/');
  } catch {
    return undefined;
  }
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}
