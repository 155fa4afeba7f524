/**
 * The pure half of the Flamenco hand-off (sidecar/domain/farm/flamenco/flamenco-job.ts and flamenco-settings.ts): our render
 * params as a SubmittedJob, Flamenco's statuses and steps as our states and frame counts, and the settings check.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InvalidInputError } from '../../sidecar/domain/errors.js';
import {
  buildSubmittedJob,
  type FarmRenderParams,
  mapState,
  progressOf,
  refuseUnmappable,
} from '../../sidecar/domain/farm/flamenco/flamenco-job.js';
import type { AvailableJobType, Job } from '../../sidecar/domain/farm/flamenco/flamenco-schemas.js';
import { settingsProblems } from '../../sidecar/domain/farm/flamenco/flamenco-settings.js';

const dir = mkdtempSync(join(tmpdir(), 'flamenco-job-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const base: FarmRenderParams = {
  blendFile: '/srv/flamenco/shots/010/shot_v3.blend',
  frames: [1, 2, 3],
  output: '/srv/flamenco/out/',
  format: 'PNG',
  scene: 'Scene',
};

function invalid(field: string, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof InvalidInputError, String(err));
    assert.equal(err.kind, 'bad-input');
    assert.match(err.message, new RegExp(`^${field}: `));
    assert.match(err.message, message);
    return true;
  };
}

describe('buildSubmittedJob', () => {
  it('fills every field the document defines for a simple-blender-render job', () => {
    const job = buildSubmittedJob({ ...base, metadata: { 'sidecar.job': 'j-1' }, submitterPlatform: 'linux' });
    assert.deepEqual(job, {
      name: 'shot_v3',
      type: 'simple-blender-render',
      priority: 50,
      submitter_platform: 'linux',
      initial_status: 'queued',
      settings: {
        blendfile: '/srv/flamenco/shots/010/shot_v3.blend',
        scene: 'Scene',
        frames: '1-3',
        chunk_size: 1,
        render_output_root: '/srv/flamenco/out',
        add_path_components: 0,
        render_output_path: '/srv/flamenco/out/####',
        format: 'PNG',
        image_file_extension: '.png',
      },
      metadata: { 'sidecar.job': 'j-1' },
    });
  });

  it("writes the frame list in Flamenco's range syntax, sorted", () => {
    assert.equal(buildSubmittedJob({ ...base, frames: [20, 1, 2, 3, 5, 21, 22] }).settings!.frames, '1-3,5,20-22');
  });

  it('keeps a frame pattern as it is, and resolves // next to the blend file', () => {
    const job = buildSubmittedJob({ ...base, output: '//renders/shot_###' });
    assert.equal(job.settings!.render_output_path, '/srv/flamenco/shots/010/renders/shot_###');
    assert.equal(job.settings!.render_output_root, '/srv/flamenco/shots/010/renders');
  });

  it('treats an existing folder as a folder', () => {
    assert.equal(buildSubmittedJob({ ...base, output: dir }).settings!.render_output_path, join(dir, '####'));
  });

  it("uses Blender's format name and the extension Blender gives it", () => {
    const exr = buildSubmittedJob({ ...base, format: 'exr' }).settings!;
    assert.deepEqual([exr.format, exr.image_file_extension], ['OPEN_EXR', '.exr']);
    const jpeg = buildSubmittedJob({ ...base, format: 'jpg' }).settings!;
    assert.deepEqual([jpeg.format, jpeg.image_file_extension], ['JPEG', '.jpg']);
  });

  it("maps our priorities onto 0..100 around Flamenco's default of 50", () => {
    assert.deepEqual(
      (['high', 'normal', 'low'] as const).map((priority) => buildSubmittedJob({ ...base, priority }).priority),
      [75, 50, 25],
    );
  });

  it('names the job after its blend file unless told, and gives Go platform names', () => {
    assert.equal(buildSubmittedJob({ ...base, name: 'Shot 010 lighting' }).name, 'Shot 010 lighting');
    const platform = buildSubmittedJob(base).submitter_platform;
    assert.equal(platform, process.platform === 'win32' ? 'windows' : process.platform);
  });

  it('refuses video formats, by Blender name or container name', () => {
    for (const format of ['FFMPEG', 'AVI_JPEG', 'AVI_RAW', 'mp4', 'mov']) {
      assert.throws(() => buildSubmittedJob({ ...base, format }), invalid('format', /is a video format.*renders image sequences only/));
    }
  });

  it('refuses a format Blender cannot write', () => {
    assert.throws(() => buildSubmittedJob({ ...base, format: 'gif' }), invalid('format', /is not an image format/));
  });

  it('refuses negative frames, no frames, and a chunk size below 1', () => {
    assert.throws(() => buildSubmittedJob({ ...base, frames: [-2, -1, 0, 1] }), invalid('frames', /frame -2 is negative/));
    assert.throws(() => buildSubmittedJob({ ...base, frames: [] }), invalid('frames', /no frames/));
    assert.throws(() => buildSubmittedJob({ ...base, chunkSize: 0 }), invalid('chunkSize', /1 or more/));
    assert.throws(() => buildSubmittedJob({ ...base, chunkSize: 2.5 }), invalid('chunkSize', /whole number/));
  });

  it('refuses a relative output path', () => {
    assert.throws(() => buildSubmittedJob({ ...base, output: 'renders/' }), invalid('output', /must be an absolute path/));
  });
});

describe('refuseUnmappable', () => {
  it('lets through what the job type can do, and the supervision settings a farm handles its own way', () => {
    refuseUnmappable({
      blendFile: '/x.blend',
      frames: '1-3',
      output: '/o/',
      overwrite: false,
      timeoutS: 600,
      maxRetries: 2,
      temporaryBlendFile: false,
      cpuFallback: false,
    });
  });

  it('refuses what would be silently lost on the farm, naming all of it', () => {
    assert.throws(
      () => refuseUnmappable({ samples: 64, camera: 'CamB' }),
      (err: unknown) => {
        assert.ok(err instanceof InvalidInputError);
        assert.match(err.message, /^camera: cannot be honored on a Flamenco farm .*leave out camera, samples or render on the local pool$/);
        assert.deepEqual((err.data as { fields: string[] }).fields, ['camera', 'samples']);
        return true;
      },
    );
    assert.throws(() => refuseUnmappable({ temporaryBlendFile: true }), invalid('temporaryBlendFile', /cannot be honored/));
  });
});

function job(status: Job['status'], stepsCompleted: number, stepsTotal: number): Job {
  return {
    id: 'f-1',
    name: 'shot',
    type: 'simple-blender-render',
    priority: 50,
    submitter_platform: 'linux',
    created: '2024-01-01T00:00:00Z',
    updated: '2024-01-01T00:00:00Z',
    status,
    activity: 'rendering',
    steps_completed: stepsCompleted,
    steps_total: stepsTotal,
  };
}

describe('mapState', () => {
  it('maps each Flamenco status as the table in flamenco-job.ts says', () => {
    const table: [Job['status'], string][] = [
      ['under-construction', 'queued'],
      ['queued', 'queued'],
      ['paused', 'queued'],
      ['requeueing', 'queued'],
      ['active', 'running'],
      ['pause-requested', 'running'],
      ['cancel-requested', 'running'],
      ['completed', 'completed'],
      ['failed', 'failed'],
      ['canceled', 'canceled'],
    ];
    for (const [status, state] of table) assert.equal(mapState(status), state, status);
  });
});

describe('progressOf', () => {
  it('scales steps onto the frames submitted, rounding down', () => {
    assert.deepEqual(progressOf(job('active', 5, 12), 24), {
      state: 'running',
      total: 24,
      done: 10,
      farmStatus: 'active',
      activity: 'rendering',
    });
    assert.equal(progressOf(job('active', 1, 3), 10).done, 3);
  });

  it('reports steps as they are without a frame count, and 0 done before the job has steps', () => {
    assert.deepEqual([progressOf(job('active', 2, 7)).done, progressOf(job('active', 2, 7)).total], [2, 7]);
    assert.equal(progressOf(job('under-construction', 0, 0), 10).done, 0);
  });

  it('counts every frame done when the job completed, whatever the steps say', () => {
    assert.equal(progressOf(job('completed', 0, 0), 10).done, 10);
  });
});

describe('settingsProblems', () => {
  const type: AvailableJobType = {
    name: 't',
    label: 'T',
    etag: 'e',
    settings: [
      { key: 'frames', type: 'string', required: true },
      { key: 'chunk_size', type: 'int32' },
      { key: 'fps', type: 'float' },
      { key: 'previews', type: 'bool' },
      { key: 'mode', type: 'string', choices: ['images', 'video'] },
    ],
  };

  it('accepts settings that fit', () => {
    assert.deepEqual(settingsProblems(type, { frames: '1-3', chunk_size: 2, fps: 23.976, previews: false, mode: 'images' }), []);
  });

  it('names unknown keys, missing required keys, wrong types and values outside the choices', () => {
    assert.deepEqual(settingsProblems(type, { chunk_size: 2 ** 31, fps: '24', previews: 1, mode: 'movie', extra: 1 }), [
      '"chunk_size" must be of type int32, not 2147483648',
      '"fps" must be of type float, not "24"',
      '"previews" must be of type bool, not 1',
      '"mode" must be one of images, video, not "movie"',
      'it has no setting "extra"',
      'it requires the setting "frames"',
    ]);
  });
});
