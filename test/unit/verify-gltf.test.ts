import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { locateBlender } from '../../sidecar/domain/blender/locate.js';
import { GltfError, inspectGltf } from '../../sidecar/domain/verify/gltf.js';
import { validateGltf } from '../helpers/gltf-validator.js';

const blender = (() => {
  try {
    return locateBlender().path;
  } catch {
    return undefined;
  }
})();

// The default scene's cube, exported both ways in one Blender run.
const SCRIPT = `
import bpy, os, sys
out = sys.argv[sys.argv.index('--') + 1]
bpy.ops.export_scene.gltf(filepath=os.path.join(out, 'cube.glb'), export_format='GLB')
bpy.ops.export_scene.gltf(filepath=os.path.join(out, 'cube.gltf'), export_format='GLTF_SEPARATE')
`;

/** Expects `inspectGltf(path)` to throw a GltfError whose message is one sentence, starting with the file name. */
async function expectGltfError(path: string, message: RegExp): Promise<void> {
  const name = path.slice(path.lastIndexOf('/') + 1);
  await assert.rejects(inspectGltf(path), (err: unknown) => {
    assert.ok(err instanceof GltfError, `expected a GltfError, got ${String(err)}`);
    assert.ok(err.message.startsWith(`${name} `), `names the file: ${err.message}`);
    assert.ok(err.message.endsWith('.') && !err.message.includes('. '), `one sentence: ${err.message}`);
    assert.match(err.message, message);
    return true;
  });
}

/** A GLB built here from JSON text and BIN; `pad: false` leaves the chunks unaligned, as a careless writer would. */
function glb(json: string, bin: Buffer, { pad = true } = {}): Buffer {
  const padTo4 = (b: Buffer, fill: number) => (pad ? Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4, fill)]) : b);
  const chunk = (type: string, data: Buffer) => {
    const header = Buffer.alloc(8);
    header.writeUInt32LE(data.length, 0);
    header.write(type, 4, 'latin1');
    return Buffer.concat([header, data]);
  };
  const body = Buffer.concat([chunk('JSON', padTo4(Buffer.from(json), 0x20)), chunk('BIN\0', padTo4(bin, 0))]);
  const header = Buffer.alloc(12);
  header.write('glTF', 0, 'latin1');
  header.writeUInt32LE(2, 4);
  header.writeUInt32LE(12 + body.length, 8);
  return Buffer.concat([header, body]);
}

describe('inspectGltf', { skip: blender ? false : 'Blender is not installed' }, () => {
  let dir: string;
  let exported: string;
  let gltfJson: any;
  let bin: Buffer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verify-gltf-'));
    exported = join(dir, 'blender');
    await mkdir(exported);
    await promisify(execFile)(blender!, ['-b', '--factory-startup', '--python-exit-code', '1', '--python-expr', SCRIPT, '--', exported], {
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    gltfJson = JSON.parse(await readFile(join(exported, 'cube.gltf'), 'utf8'));
    bin = await readFile(join(exported, 'cube.bin'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Writes `json` (the exported .gltf, changed by `edit`) beside a copy of its .bin, and returns its path. */
  async function editedGltf(name: string, edit: (json: any) => void): Promise<string> {
    const json = structuredClone(gltfJson);
    edit(json);
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'cube.gltf'), JSON.stringify(json));
    await copyFile(join(exported, 'cube.bin'), join(dir, name, 'cube.bin'));
    return join(dir, name, 'cube.gltf');
  }

  describe('on what Blender exports', () => {
    it('reads the default cube as a GLB of one mesh and 12 triangles', async () => {
      const path = join(exported, 'cube.glb');
      const summary = await inspectGltf(path);
      assert.match(summary.generator ?? '', /^Khronos glTF Blender I\/O/);
      assert.deepEqual(summary, {
        container: 'glb',
        bytes: (await stat(path)).size,
        meshes: 1,
        primitives: 1,
        triangles: 12,
        // A cube's 8 corners become 24 vertices: each face needs its own normal.
        vertices: 24,
        materials: 1,
        nodes: 1,
        textures: 0,
        images: 0,
        animations: 0,
        generator: summary.generator,
      });
    });

    it('reads the same cube exported as .gltf + .bin', async () => {
      const summary = await inspectGltf(join(exported, 'cube.gltf'));
      assert.equal(summary.container, 'gltf');
      assert.deepEqual([summary.meshes, summary.triangles, summary.vertices], [1, 12, 24]);
    });

    it('agrees with the Khronos validator that both exports have no errors', async () => {
      for (const file of ['cube.glb', 'cube.gltf']) {
        const report = await validateGltf(join(exported, file));
        assert.equal(report.errors, 0, `${file}:\n${report.messages.join('\n')}`);
      }
    });
  });

  describe('on a broken GLB', () => {
    it('rejects a truncated GLB, as the validator does', async () => {
      const bytes = await readFile(join(exported, 'cube.glb'));
      const path = join(dir, 'cut.glb');
      await writeFile(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
      const kept = Math.floor(bytes.length / 2);
      const message = `cut.glb is truncated: its GLB header says ${bytes.length} bytes, but the file has only ${kept}.`;
      await assert.rejects(inspectGltf(path), { name: 'GltfError', message });
      assert.ok((await validateGltf(path)).errors > 0);
    });

    it('rejects a GLB whose length field is smaller than the file', async () => {
      const bytes = await readFile(join(exported, 'cube.glb'));
      bytes.writeUInt32LE(bytes.length - 4, 8);
      const path = join(dir, 'short-length.glb');
      await writeFile(path, bytes);
      await expectGltfError(path, /^short-length\.glb has 4 bytes more than the \d+ its GLB header says\.$/);
    });

    it('rejects a GLB whose length field is larger than the file', async () => {
      const bytes = await readFile(join(exported, 'cube.glb'));
      bytes.writeUInt32LE(bytes.length + 100, 8);
      const path = join(dir, 'long-length.glb');
      await writeFile(path, bytes);
      await expectGltfError(path, /^long-length\.glb is truncated: its GLB header says \d+ bytes/);
    });

    it('accepts a GLB assembled here from the .gltf parts, and rejects it with its JSON chunk unaligned', async () => {
      const json = { ...structuredClone(gltfJson), buffers: [{ byteLength: bin.length }] };
      // Trailing spaces are valid JSON; they make the text one byte past a multiple of 4, so that it needs padding.
      let text = JSON.stringify(json);
      while (text.length % 4 !== 1) text += ' ';
      const aligned = join(dir, 'assembled.glb');
      await writeFile(aligned, glb(text, bin));
      assert.equal((await inspectGltf(aligned)).triangles, 12);
      assert.equal((await validateGltf(aligned)).errors, 0, 'the GLB built here is valid');
      const unaligned = join(dir, 'unaligned.glb');
      await writeFile(unaligned, glb(text, bin, { pad: false }));
      await expectGltfError(unaligned, /is not a valid GLB: its JSON chunk is \d+ bytes, not a multiple of 4/);
    });

    it('rejects an empty file', async () => {
      await writeFile(join(dir, 'empty.glb'), '');
      await expectGltfError(join(dir, 'empty.glb'), /^empty\.glb is empty \(0 bytes\)\.$/);
    });
  });

  describe('on a .gltf and its buffers', () => {
    it('rejects a .gltf whose .bin is missing, naming the missing file', async () => {
      await mkdir(join(dir, 'alone'));
      await copyFile(join(exported, 'cube.gltf'), join(dir, 'alone', 'cube.gltf'));
      await assert.rejects(inspectGltf(join(dir, 'alone', 'cube.gltf')), {
        name: 'GltfError',
        message: 'cube.gltf refers to cube.bin for buffers[0], but that file does not exist beside it.',
      });
    });

    it('rejects a .gltf whose .bin is shorter than declared', async () => {
      await mkdir(join(dir, 'short-bin'));
      await copyFile(join(exported, 'cube.gltf'), join(dir, 'short-bin', 'cube.gltf'));
      await writeFile(join(dir, 'short-bin', 'cube.bin'), bin.subarray(0, 500));
      await assert.rejects(inspectGltf(join(dir, 'short-bin', 'cube.gltf')), {
        name: 'GltfError',
        message: `cube.gltf is truncated: buffers[0] declares ${bin.length} bytes, but only 500 exist.`,
      });
    });

    it('reads a buffer embedded as a base64 data: URI', async () => {
      const path = await editedGltf('embedded', (json) => {
        json.buffers[0].uri = `data:application/octet-stream;base64,${bin.toString('base64')}`;
      });
      await rm(join(dir, 'embedded', 'cube.bin')); // the data: URI must be all it needs
      assert.equal((await inspectGltf(path)).triangles, 12);
      assert.equal((await validateGltf(path)).errors, 0);
    });

    it('rejects a bufferView that ends past its buffer', async () => {
      const path = await editedGltf('view', (json) => {
        json.bufferViews[3].byteLength += 4;
      });
      await expectGltfError(path, /bufferViews\[3\] ends at byte \d+ of buffers\[0\], which has \d+/);
    });

    it('rejects an accessor that reads past its bufferView', async () => {
      const path = await editedGltf('accessor', (json) => {
        json.accessors[0].count += 1;
      });
      await expectGltfError(path, /accessors\[0\] reads up to byte 300 of a bufferView that has 288/);
    });

    it('rejects a primitive that refers to an accessor that does not exist', async () => {
      const path = await editedGltf('reference', (json) => {
        json.meshes[0].primitives[0].indices = 9;
      });
      await expectGltfError(path, /meshes\[0\]\.primitives\[0\]\.indices is 9, but there are 4/);
    });

    it('counts triangles by primitive mode: strips and fans draw n-2, lines none', async () => {
      // The exported indices hold 36 vertices.
      for (const [mode, triangles] of [
        [5, 34],
        [6, 34],
        [1, 0],
        [0, 0],
      ] as const) {
        const path = await editedGltf(`mode-${mode}`, (json) => {
          json.meshes[0].primitives[0].mode = mode;
        });
        assert.equal((await inspectGltf(path)).triangles, triangles, `mode ${mode}`);
      }
    });

    it('rejects JSON that is not glTF', async () => {
      await writeFile(join(dir, 'scene.gltf'), '{"scenes": []}');
      await expectGltfError(join(dir, 'scene.gltf'), /^scene\.gltf is not glTF: it has no asset\.version\.$/);
    });
  });
});
