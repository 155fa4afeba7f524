// The version has one source, package.json; this writes it into the add-on's bl_info and blender_manifest.toml.
// `npm version X` runs it (the "version" script), and `npm run package` stamps the packaged copies the same way.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');

export function stampAddon(dir, version) {
  const [major, minor, patch] = version.split(/[.+-]/).map((n) => Number.parseInt(n, 10));
  const init = join(dir, '__init__.py');
  const manifest = join(dir, 'blender_manifest.toml');
  writeFileSync(init, readFileSync(init, 'utf8').replace(/"version":\s*\([^)]*\)/, `"version": (${major}, ${minor}, ${patch})`));
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/^version = ".*"$/m, `version = "${version}"`));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  stampAddon(join(root, 'addon', 'blender_sidecar'), version);
  console.log(`stamped ${version} into addon/blender_sidecar`);
}
