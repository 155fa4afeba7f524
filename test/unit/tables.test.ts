// One source for every table: the JSON files the Python side reads (the add-on's tables.json, the worker's) are what
// sidecar/domain/tables.ts makes from the sidecar's own tables, and the sidecar's checks use those same tables.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { checkFormat } from '../../sidecar/domain/export/export-request.js';
import { EXPORT_FORMATS, FORMAT_NAMES } from '../../sidecar/domain/export/formats.js';
import { nodeTypeCatalog } from '../../sidecar/domain/pipeline/nodes.js';
import { IMAGE_FORMAT_TABLE } from '../../sidecar/domain/render/image-formats.js';
import { normalizeImageFormat } from '../../sidecar/domain/render/render-request.js';
import { addonTables, tableFiles, workerTables } from '../../sidecar/domain/tables.js';
import { imageExtension } from '../../sidecar/domain/verify/image.js';

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');

describe('the generated tables', () => {
  for (const [path, text] of Object.entries(tableFiles())) {
    it(`${path} is what the sidecar's tables make (run npm run tables after changing them)`, () => {
      assert.equal(read(path), text);
    });
  }

  it('give the worker every export format with an operator to write it', () => {
    const worker = workerTables();
    assert.deepEqual(
      worker.exportFormats.map((f) => f.format),
      [...FORMAT_NAMES],
    );
    for (const f of worker.exportFormats) {
      assert.ok(f.extensions.length > 0 && f.extensions.every((e) => /^\.[a-z]+$/.test(e)), f.format);
      assert.ok(f.exporters.length > 0 && f.exporters.every((e) => /^\w+\.\w+$/.test(e.operator)), f.format);
    }
    assert.deepEqual(
      worker.renderEngines.map((e) => e.engine),
      ['cycles', 'eevee', 'workbench'],
    );
    assert.deepEqual(
      worker.imageFormats.filter((f) => f.linear).map((f) => f.format),
      ['OPEN_EXR', 'OPEN_EXR_MULTILAYER', 'HDR'],
    );
  });

  it("give the add-on the pipeline's node types as pipeline.schema answers them", () => {
    const addon = addonTables();
    assert.deepEqual(addon.nodeTypes, nodeTypeCatalog());
    const exportNode = addon.nodeTypes.find((t) => t.type === 'export')!;
    const format = (exportNode.settings as { properties: Record<string, { enum?: string[] }> }).properties.format!;
    assert.deepEqual(
      format.enum,
      addon.exportFormats.map((f) => f.format),
    );
  });
});

describe("the sidecar's checks read the same tables", () => {
  it('refuses an export format the table lacks, naming those this Blender can write', () => {
    const available = EXPORT_FORMATS.slice(0, 2).map((f) => ({
      format: f.format,
      label: f.label,
      extensions: [...f.extensions],
      operator: f.exporters[0].operator,
      options: [],
    }));
    assert.throws(() => checkFormat('dae', available, 'format'), /"dae" is not an export format; it can write: glb, gltf/);
    assert.throws(() => checkFormat('abc', available, 'format'), /this Blender cannot write "abc"/);
  });

  it('takes every image format and alias of the table, and knows its extension', () => {
    for (const f of IMAGE_FORMAT_TABLE) {
      assert.equal(normalizeImageFormat(f.format.toLowerCase()), f.format);
      assert.equal(imageExtension(f.format), f.extension);
    }
    assert.equal(normalizeImageFormat('exr'), 'OPEN_EXR');
    assert.throws(() => normalizeImageFormat('gif'), /"gif" is not an image format a render can write; use one of PNG, JPEG/);
  });
});
