import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { startSidecar } from '../../app.js';
import { SidecarClient } from '../../client/sidecar-client.js';
import { BlenderNotFoundError, locateBlender } from '../../domain/blender/locate.js';
import { workerDir } from '../../paths.js';
import { followJob } from '../follow.js';
import { ProgressView, progressMode, duration } from '../progress.js';
import { intFlag, type Command } from '../command.js';
import { parseInstances } from './serve.js';

const NO_BLENDER = `The demo needs Blender, and none was found.
  Debian/Ubuntu:  sudo apt-get install blender python3-numpy
  macOS/Windows:  install Blender from https://www.blender.org/download/
  Elsewhere:      BLENDER=/path/to/blender npm start   (or: blender-sidecar demo --blender PATH)`;

export const demoCommand: Command = {
  name: 'demo',
  summary:
    'The main job on an embedded default: build a demo scene (Geometry Nodes included), render it across the pool and export it as GLB, with live progress.',
  usage: 'demo [--out DIR] [--frames N] [--instances N] [--blender PATH] [--json]',
  options: {
    out: { type: 'string', valueName: 'DIR', description: 'Where the scene, frames and GLB go (default ./demo-output).' },
    frames: { type: 'string', valueName: 'N', description: 'How many frames to render (default 12).' },
    instances: { type: 'string', valueName: 'auto|N', description: 'Blender workers (default auto).' },
    blender: { type: 'string', valueName: 'PATH', description: 'The Blender to use.' },
    json: { type: 'boolean', description: 'Progress as JSON lines.' },
  },
  async run({ values }) {
    let blender: string;
    try {
      blender = locateBlender({ explicit: values.blender as string | undefined }).path;
    } catch (err) {
      process.stderr.write(`${NO_BLENDER}\n`);
      if (err instanceof BlenderNotFoundError)
        process.stderr.write(`(looked in: ${err.tried.slice(0, 8).join(', ')}${err.tried.length > 8 ? ', ...' : ''})\n`);
      else process.stderr.write(`(${(err as Error).message})\n`);
      return 1;
    }
    const frames = intFlag(values, 'frames', { min: 1, max: 1000 }) ?? 12;
    const out = resolve((values.out as string | undefined) ?? 'demo-output');
    mkdirSync(out, { recursive: true });
    const mode = progressMode(values.json === true);
    const say = (text: string) => mode !== 'json' && process.stdout.write(`${text}\n`);
    const steps: Array<[string, number]> = [];
    const time = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const t = Date.now();
      const r = await fn();
      steps.push([name, (Date.now() - t) / 1000]);
      return r;
    };

    say(`Blender Sidecar demo: ${blender}`);
    const sidecar = await time('start the sidecar', () =>
      startSidecar({
        stateDir: join(out, '.state'),
        port: 0,
        blender,
        instances: parseInstances(values.instances as string | undefined),
        logToStderr: false,
      }),
    );
    const client = await SidecarClient.connect({ url: sidecar.url, token: sidecar.token });
    try {
      const info = await client.call('sidecar.info', {});
      say(
        `sidecar ${info.version} on ${sidecar.url}: Blender ${info.blender.version}, ${info.pool.instances} workers x ${info.pool.threadsPerInstance} threads`,
      );

      const blend = join(out, 'demo.blend');
      say('1/3 building the demo scene (a Geometry Nodes grid of cubes)...');
      await time('build the scene', () => buildDemoScene(blender, blend, frames));

      say(`2/3 rendering ${frames} frames across the pool...`);
      const framesDir = join(out, 'frames');
      const render = await time('render', async () => {
        const { jobId } = await client.call('render.submit', {
          blendFile: blend,
          frames: `1-${frames}`,
          output: `${framesDir}/`,
          overwrite: true,
        });
        return followJob(client, jobId, new ProgressView(mode, 'render', 'frames'));
      });
      if (render.state !== 'completed') throw new Error(`the render ${render.state}: ${render.error}`);

      say('3/3 exporting the scene as GLB...');
      const glb = join(out, 'demo.glb');
      const exported = await time('export GLB', async () => {
        const { jobId } = await client.call('export.submit', { blendFile: blend, format: 'glb', output: glb, applyModifiers: true });
        return followJob(client, jobId, new ProgressView(mode, 'export', 'items'));
      });
      if (exported.state !== 'completed') throw new Error(`the export ${exported.state}: ${exported.error}`);
      const g = exported.units[0]!.result as { gltf: { meshes: number; triangles: number; materials: number }; bytes: number };

      const outputs = { scene: blend, frames: framesDir, glb };
      if (mode === 'json') process.stdout.write(`${JSON.stringify({ event: 'demo', outputs, steps: Object.fromEntries(steps) })}\n`);
      else summary(say, outputs, { frames, rendered: render.progress.done, glb: g, steps });
      return 0;
    } finally {
      await client.close();
      await sidecar.close('demo finished');
    }
  },
};

/** Builds the demo scene (a Geometry Nodes grid of cubes, `frames` long) with the worker's demo_scene.py. */
async function buildDemoScene(blender: string, blend: string, frames: number): Promise<void> {
  const script = join(workerDir(), 'demo_scene.py');
  const r = await execa(blender, ['-b', '--factory-startup', '--python-exit-code', '1', '--python', script, '--', blend, String(frames)], {
    reject: false,
    all: true,
  });
  if (r.exitCode !== 0) throw new Error(`Blender could not build the demo scene: ${(r.all ?? '').split('\n').slice(-5).join(' | ')}`);
}

interface DemoResults {
  frames: number;
  rendered: number;
  glb: { gltf: { meshes: number; triangles: number; materials: number }; bytes: number };
  steps: Array<[string, number]>;
}

/** What the demo made and how long each step took, for a person reading the terminal. */
function summary(say: (text: string) => void, outputs: { scene: string; frames: string; glb: string }, r: DemoResults): void {
  const g = r.glb;
  say('');
  say('Outputs:');
  say(`  scene   ${outputs.scene}`);
  say(`  frames  ${outputs.frames}/  (${r.rendered} PNGs, 0001.png to ${String(r.frames).padStart(4, '0')}.png)`);
  say(
    `  GLB     ${outputs.glb}  (${g.gltf.meshes} meshes, ${g.gltf.triangles} triangles, ${g.gltf.materials} materials, ${Math.round(g.bytes / 1024)} KB)`,
  );
  say('');
  say('Steps:');
  for (const [name, s] of r.steps) say(`  ${name.padEnd(18)} ${s < 60 ? `${s.toFixed(1)}s` : duration(s)}`);
}
