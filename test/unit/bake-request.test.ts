import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { bakeParams, checkBakeRequest, expandOutput } from '../../sidecar/domain/bake/bake-request.js';
import { checkSimulationRequest, simulationParams } from '../../sidecar/domain/bake/simulation-request.js';
import { tempDir } from '../helpers/sidecar.js';

const TYPES = ['combined', 'ao', 'normal', 'diffuse', 'roughness', 'emit'];

describe('bake requests', () => {
  let blend: string;
  before(() => {
    blend = join(tempDir('bake-request-'), 'asset.blend');
    writeFileSync(blend, 'BLENDER-v341');
  });
  const check = (p: Record<string, unknown>) => checkBakeRequest(bakeParams.parse({ blendFile: blend, ...p }), TYPES);

  it("fills a folder output with {object}_{map}.png, and // with the blend file's folder", () => {
    const [m] = check({ objects: ['Low'], maps: [{ type: 'NORMAL' }], output: '//textures/' });
    assert.equal(m!.type, 'normal');
    assert.equal(m!.output, join(blend, '..', 'textures', '{object}_{map}.png'));
    assert.equal(expandOutput(m!.output, 'Crate.001 low', 'normal'), join(blend, '..', 'textures', 'Crate.001_low_normal.png'));
  });

  it("takes a map's own size, margin and output over the request's", () => {
    const maps = check({
      objects: ['Low'],
      maps: [{ type: 'ao', size: 256, margin: 2, output: '/maps/ao/{object}.exr' }, { type: 'normal' }],
      size: 512,
      output: '/maps/',
    });
    assert.deepEqual(
      maps.map((m) => [m.type, m.size, m.margin, m.output]),
      [
        ['ao', 256, 2, '/maps/ao/{object}.exr'],
        ['normal', 512, 16, '/maps/{object}_{map}.png'],
      ],
    );
  });

  it('refuses what cannot work, naming the field and what to do', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        { objects: ['Low'], maps: [{ type: 'metallic' }], output: '/m/' },
        /^maps\[0\]\.type: "metallic" is not a bake type this Blender offers; it offers: combined, ao/,
      ],
      [{ objects: ['Low'], maps: [{ type: 'ao' }] }, /^maps\[0\]\.output: say where the map goes/],
      [{ objects: ['Low'], maps: [{ type: 'ao' }], output: 'maps/' }, /^output: "maps\/" must be an absolute path, or start with \/\//],
      [
        { objects: ['Low'], maps: [{ type: 'ao' }], output: '/m/{name}.png' },
        /^output: \{name\} is not a placeholder; use \{object\} and \{map\}/,
      ],
      [{ objects: ['Low'], maps: [{ type: 'ao' }], output: '/m/{object}.gif' }, /^output: a baked map is saved as \.png, \.exr/],
      [{ collection: 'Props', maps: [{ type: 'ao' }], output: '/m/ao.png' }, /^output: \/m\/ao\.png has no \{object\}/],
      [
        { objects: ['A'], maps: [{ type: 'ao' }, { type: 'normal' }], output: '/m/{object}.png' },
        /^output: maps 0 and 1 would both write \/m\/\{object\}\.png; put \{map\} in the name/,
      ],
      [
        { objects: ['Low', 'High'], maps: [{ type: 'ao' }], output: '/m/', selectedToActive: { sources: ['High'] } },
        /^selectedToActive\.sources: High is both a target and a source/,
      ],
    ];
    for (const [params, message] of cases) {
      assert.throws(
        () => check(params),
        (e: Error) => {
          assert.match(e.message, message);
          return true;
        },
      );
    }
    assert.throws(
      () => bakeParams.parse({ blendFile: blend, maps: [{ type: 'ao' }], output: '/m/' }),
      /name the objects to bake, or a collection/,
    );
    assert.throws(
      () => bakeParams.parse({ blendFile: blend, objects: ['A'], collection: 'C', maps: [{ type: 'ao' }] }),
      /give objects or collection, not both/,
    );
  });
});

describe('simulation bake requests', () => {
  let blend: string;
  before(() => {
    blend = join(tempDir('sim-request-'), 'shot.blend');
    writeFileSync(blend, 'BLENDER-v430');
  });
  const check = (p: Record<string, unknown>, blender = { version: '4.3.2', simulationBake: true }) =>
    checkSimulationRequest(simulationParams.parse({ blendFile: blend, ...p }), blender);

  it('is refused with -32602 naming the version on a Blender without simulation zones', () => {
    assert.throws(
      () => check({ output: '/bake/' }, { version: '3.4.1', simulationBake: false }),
      (err: Error & { kind?: string }) =>
        err.kind === 'bad-input' &&
        /^Blender 3\.4\.1 \(the Blender this file runs on\) has no simulation zones or Bake nodes to bake/.test(err.message),
    );
  });

  it('gives each modifier its own folder', () => {
    assert.equal(check({ output: '//bake/' }), join(blend, '..', 'bake', '{object}_{modifier}'));
    assert.throws(() => check({ output: '/bake/{object}' }), /has no \{modifier\}/);
    assert.throws(() => check({ objects: ['A', 'B'], output: '/bake/{modifier}' }), /has no \{object\}/);
    assert.throws(
      () => simulationParams.parse({ blendFile: blend, output: '/b/', frameStart: 10, frameEnd: 5 }),
      /frameEnd comes before frameStart/,
    );
  });
});
