import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { VERSION } from '../../sidecar/version.js';

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');

describe('one version, from package.json', () => {
  const version = JSON.parse(read('package.json')).version as string;
  it('is what sidecar.info reports', () => assert.equal(VERSION, version));
  it('is stamped into bl_info and blender_manifest.toml (npm version runs build/stamp-version.mjs)', () => {
    const [major, minor, patch] = version.split('.').map(Number);
    assert.match(read('addon/blender_sidecar/__init__.py'), new RegExp(`"version":\\s*\\(${major}, ${minor}, ${patch}\\)`));
    assert.match(read('addon/blender_sidecar/blender_manifest.toml'), new RegExp(`^version = "${version.replace(/\./g, '\\.')}"$`, 'm'));
  });
  it('has a CHANGELOG entry', () => assert.match(read('CHANGELOG.md'), new RegExp(`## ${version.replace(/\./g, '\\.')}`)));
});
