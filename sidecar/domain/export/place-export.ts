/**
 * What an export task wrote, checked and put in place: used by export jobs and by pipeline export steps alike.
 * The exporter writes into a private staging folder; the main file must exist and not be empty, the selection must
 * have held something (and meshes, for mesh-only formats), a glTF must parse; then everything in the staging folder
 * (a .gltf's .bin, an .mtl, textures) moves next to the output.
 */
import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GltfError, inspectGltf } from '../verify/gltf.js';

/** Formats that carry nothing but mesh geometry: an export without meshes wrote nothing of use. */
const MESH_ONLY = new Set(['stl', 'ply', 'obj']);

/** What Blender counted on export (the worker's export task reports it). */
export interface Counted {
  objects: number;
  meshObjects: number;
  vertices?: number;
  triangles: number;
  materials?: number;
}

export type Placed = { ok: true; result: Record<string, unknown> } | { ok: false; reason: string; retryable: boolean };

export async function placeExport(staging: string, output: string, format: string, counted: Counted | undefined): Promise<Placed> {
  const fail = (reason: string, retryable = false): Placed => ({ ok: false, reason, retryable });
  const written = join(staging, basename(output));
  let size: number;
  try {
    size = statSync(written).size;
  } catch {
    return fail(`the exporter wrote nothing (no ${basename(output)})`);
  }
  if (size === 0) return fail(`the exporter wrote an empty ${basename(output)}`);
  if (counted && counted.objects === 0) return fail('nothing was exported: the selection is empty');
  if (counted && counted.meshObjects === 0 && MESH_ONLY.has(format)) {
    return fail(`nothing was exported: the selection has no mesh objects, and ${format} holds only meshes`);
  }
  const result: Record<string, unknown> = { format, bytes: size, counted };
  if (format === 'glb' || format === 'gltf') {
    try {
      const summary = await inspectGltf(written);
      if (summary.meshes === 0 && (counted?.meshObjects ?? 0) > 0) {
        return fail(`the glTF holds no meshes although ${counted!.meshObjects} mesh objects were selected`);
      }
      result.gltf = summary;
    } catch (err) {
      if (err instanceof GltfError) return fail(`the exported file is not valid: ${err.message}`, true);
      throw err;
    }
  }
  const files: string[] = [];
  for (const name of readdirSync(staging)) {
    const target = join(dirname(output), name);
    rmSync(target, { recursive: true, force: true });
    renameSync(join(staging, name), target);
    files.push(target);
  }
  rmSync(staging, { recursive: true, force: true });
  result.files = files;
  return { ok: true, result };
}
