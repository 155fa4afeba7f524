/**
 * Reads what a glTF export wrote and says what is in it, or why it is broken. An export job checks its output here
 * before calling itself done: Blender's exporter can be killed mid-write, and a `.gltf` is useless without its
 * `.bin` beside it.
 *
 * This is a structural check (containers, chunk and buffer bounds, references), not the Khronos validator: it reads
 * the JSON and the GLB chunk headers but never the binary payload, so a 500 MB GLB costs a few small reads.
 */
import { open, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';

export interface GltfSummary {
  container: 'glb' | 'gltf';
  /** Size of the file itself (for a .gltf, without its external buffers and images). */
  bytes: number;
  meshes: number;
  primitives: number;
  /** Triangles drawn: TRIANGLES count/3, strips and fans count-2; points and lines draw none. */
  triangles: number;
  /** POSITION counts summed over primitives, as a viewer would upload them. */
  vertices: number;
  materials: number;
  nodes: number;
  textures: number;
  images: number;
  animations: number;
  /** `asset.generator`, e.g. "Khronos glTF Blender I/O v3.4.50". */
  generator?: string;
}

/** A glTF file that cannot be read as one; the message is one sentence naming the file. */
export class GltfError extends Error {
  override readonly name = 'GltfError';
}

/**
 * Parses the .glb or .gltf at `path` (the container is told by its first bytes, not its name), checks that every
 * buffer exists and is as long as declared and that every bufferView and accessor lies inside its buffer, and
 * counts what it holds. Throws `GltfError` for a missing, truncated or malformed file.
 */
export async function inspectGltf(path: string): Promise<GltfSummary> {
  const name = basename(path);
  try {
    const asset = await readAsset(path);
    return summarize(asset, await bufferLengths(asset, path));
  } catch (err) {
    if (err instanceof Problem) throw new GltfError(`${name} ${err.message}.`);
    throw err;
  }
}

/** What is wrong; `inspectGltf` prefixes the file name. */
class Problem extends Error {}
const invalid = (what: string) => new Problem(`is not valid glTF: ${what}`);

interface Asset {
  container: 'glb' | 'gltf';
  bytes: number;
  json: Gltf;
  /** Length of the GLB's BIN chunk, which stands in for `buffers[0]` when that has no uri. */
  binLength?: number;
}

// Only the fields this check reads; everything is optional because the file is untrusted.
interface Gltf {
  asset?: { version?: unknown; generator?: unknown };
  buffers?: Array<{ uri?: unknown; byteLength?: unknown }>;
  bufferViews?: Array<{ buffer?: unknown; byteOffset?: unknown; byteLength?: unknown; byteStride?: unknown }>;
  accessors?: Array<{
    bufferView?: unknown;
    byteOffset?: unknown;
    componentType?: unknown;
    count?: unknown;
    type?: unknown;
    sparse?: {
      count?: unknown;
      indices?: { bufferView?: unknown; byteOffset?: unknown; componentType?: unknown };
      values?: { bufferView?: unknown; byteOffset?: unknown };
    };
  }>;
  meshes?: Array<{ primitives?: Array<{ attributes?: Record<string, unknown>; indices?: unknown; mode?: unknown }> }>;
  images?: Array<{ uri?: unknown }>;
  materials?: unknown[];
  nodes?: unknown[];
  textures?: unknown[];
  animations?: unknown[];
}

// ---------------------------------------------------------------------------------------------------------------
// Containers

const GLB_MAGIC = 0x46546c67; // "glTF"
const CHUNK_JSON = 0x4e4f534a; // "JSON"
const CHUNK_BIN = 0x004e4942; // "BIN\0"

async function readAsset(path: string): Promise<Asset> {
  const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new Problem(err.code === 'ENOENT' ? 'does not exist' : `cannot be opened (${err.message})`);
  });
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Problem('is not a regular file');
    const size = info.size;
    if (size === 0) throw new Problem('is empty (0 bytes)');
    const read = async (offset: number, length: number) => {
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, offset);
      return buffer;
    };
    const head = await read(0, Math.min(12, size));
    if (head.length >= 4 && head.readUInt32LE(0) === GLB_MAGIC) return await readGlb(size, head, read);
    return { container: 'gltf', bytes: size, json: parseJson(await read(0, size), 'the file') };
  } finally {
    await handle.close();
  }
}

type Read = (offset: number, length: number) => Promise<Buffer>;

/** A GLB: 12-byte header (magic, version 2, total length), a JSON chunk, then an optional BIN chunk. */
async function readGlb(size: number, head: Buffer, read: Read): Promise<Asset> {
  if (size < 12) throw new Problem(`is truncated: a GLB header is 12 bytes, but the file has only ${size}`);
  const version = head.readUInt32LE(4);
  const length = head.readUInt32LE(8);
  if (version !== 2) throw new Problem(`is a version ${version} GLB; only version 2 is glTF 2.0`);
  if (length > size) throw new Problem(`is truncated: its GLB header says ${length} bytes, but the file has only ${size}`);
  if (length < size) throw new Problem(`has ${size - length} bytes more than the ${length} its GLB header says`);

  let json: Gltf | undefined;
  let binLength: number | undefined;
  for (let pos = 12, index = 0; pos < size; index++) {
    if (pos + 8 > size) throw new Problem(`is truncated: the GLB ends inside the header of chunk ${index}`);
    const header = await read(pos, 8);
    const [chunkLength, type] = [header.readUInt32LE(0), header.readUInt32LE(4)];
    const label = type === CHUNK_JSON ? 'JSON chunk' : type === CHUNK_BIN ? 'BIN chunk' : `chunk ${index}`;
    if (pos + 8 + chunkLength > size) throw new Problem(`is truncated: the GLB's ${label} runs past the end of the file`);
    // Chunks must start and end on 4-byte boundaries so that typed arrays can view the BIN data in place.
    if (chunkLength % 4 !== 0) {
      throw new Problem(`is not a valid GLB: its ${label} is ${chunkLength} bytes, not a multiple of 4`);
    }
    if (index === 0 && type !== CHUNK_JSON) throw new Problem('is not a valid GLB: its first chunk is not JSON');
    if (index === 0) json = parseJson(await read(pos + 8, chunkLength), 'the GLB JSON chunk');
    if (index === 1 && type === CHUNK_BIN) binLength = chunkLength;
    if (index > 0 && type === CHUNK_JSON) throw new Problem('is not a valid GLB: it has a second JSON chunk');
    pos += 8 + chunkLength;
  }
  if (!json) throw new Problem('is truncated: the GLB has no JSON chunk');
  return { container: 'glb', bytes: size, json, binLength };
}

function parseJson(bytes: Buffer, where: string): Gltf {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new Problem(`is not glTF: ${where} is not valid JSON (${(err as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new Problem(`is not glTF: ${where} is not a JSON object`);
  }
  const version = (json as Gltf).asset?.version;
  if (typeof version !== 'string') throw new Problem('is not glTF: it has no asset.version');
  if (!version.startsWith('2.')) throw new Problem(`is glTF ${version}; only glTF 2.x is supported`);
  return json as Gltf;
}

// ---------------------------------------------------------------------------------------------------------------
// Buffers and images: where each one's bytes are, and that there are as many as the JSON declares.

/** The real length of each buffer; throws if one is missing or shorter than its `byteLength`. */
async function bufferLengths(asset: Asset, path: string): Promise<number[]> {
  const lengths: number[] = [];
  const buffers = list(asset.json.buffers, 'buffers');
  for (const [i, buffer] of buffers.entries()) {
    const declared = count(buffer.byteLength, `buffers[${i}].byteLength`, 1);
    let actual: number;
    if (buffer.uri === undefined) {
      // Only a GLB's first buffer may leave out its uri: it is the BIN chunk (padded to 4 bytes, so up to 3 longer).
      if (i !== 0 || asset.binLength === undefined) {
        throw new Problem(`has no data for buffers[${i}]: it has no uri and no GLB BIN chunk`);
      }
      actual = asset.binLength;
    } else {
      actual = await uriLength(buffer.uri, path, `buffers[${i}]`);
    }
    if (actual < declared) {
      throw new Problem(`is truncated: buffers[${i}] declares ${declared} bytes, but only ${actual} exist`);
    }
    lengths.push(declared);
  }
  for (const [i, image] of list(asset.json.images, 'images').entries()) {
    if (image.uri !== undefined) await uriLength(image.uri, path, `images[${i}]`);
  }
  return lengths;
}

/** Bytes behind a uri: a base64 data: URI, or a file relative to the glTF (only its size is read). */
async function uriLength(uri: unknown, path: string, what: string): Promise<number> {
  if (typeof uri !== 'string') throw invalid(`${what}.uri is not a string`);
  if (uri.startsWith('data:')) {
    const comma = uri.indexOf(',');
    if (comma < 0 || !uri.slice(0, comma).endsWith(';base64')) throw invalid(`${what} has a data: URI that is not base64`);
    return Buffer.byteLength(uri.slice(comma + 1), 'base64');
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri)) throw new Problem(`refers to ${uri} for ${what}, which is not a file beside it`);
  let file: string;
  try {
    file = resolve(dirname(path), decodeURIComponent(uri));
  } catch {
    throw invalid(`${what}.uri ${JSON.stringify(uri)} is not a valid URI`);
  }
  try {
    return (await stat(file)).size;
  } catch {
    throw new Problem(`refers to ${uri} for ${what}, but that file does not exist beside it`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Bounds and counts

const COMPONENT_BYTES: Record<number, number> = { 5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4 };
const TYPE_SHAPE: Record<string, [columns: number, rows: number]> = {
  SCALAR: [1, 1],
  VEC2: [1, 2],
  VEC3: [1, 3],
  VEC4: [1, 4],
  MAT2: [2, 2],
  MAT3: [3, 3],
  MAT4: [4, 4],
};

function summarize(asset: Asset, bufferLengths: number[]): GltfSummary {
  const { json } = asset;
  const views = list(json.bufferViews, 'bufferViews').map((view, i) => {
    const where = `bufferViews[${i}]`;
    const buffer = index(view.buffer, bufferLengths.length, `${where}.buffer`);
    const offset = count(view.byteOffset ?? 0, `${where}.byteOffset`, 0);
    const length = count(view.byteLength, `${where}.byteLength`, 1);
    if (offset + length > bufferLengths[buffer]!) {
      const has = bufferLengths[buffer];
      throw invalid(`${where} ends at byte ${offset + length} of buffers[${buffer}], which has ${has}`);
    }
    return { length, stride: view.byteStride === undefined ? undefined : count(view.byteStride, `${where}.byteStride`, 4) };
  });
  const accessors = list(json.accessors, 'accessors');
  for (const [i, accessor] of accessors.entries()) checkAccessor(accessor, `accessors[${i}]`, views);

  let primitives = 0;
  let triangles = 0;
  let vertices = 0;
  for (const [m, mesh] of list(json.meshes, 'meshes').entries()) {
    for (const [p, primitive] of list(mesh.primitives, `meshes[${m}].primitives`).entries()) {
      const where = `meshes[${m}].primitives[${p}]`;
      // Accessor counts were checked above.
      const countOf = (ref: unknown, field: string) => accessors[index(ref, accessors.length, `${where}.${field}`)]!.count as number;
      const position = primitive.attributes?.POSITION;
      const positions = position === undefined ? 0 : countOf(position, 'attributes.POSITION');
      const drawn = primitive.indices === undefined ? positions : countOf(primitive.indices, 'indices');
      primitives += 1;
      vertices += positions;
      triangles += trianglesDrawn(primitive.mode ?? 4, drawn);
    }
  }
  const summary: GltfSummary = {
    container: asset.container,
    bytes: asset.bytes,
    meshes: list(json.meshes, 'meshes').length,
    primitives,
    triangles,
    vertices,
    materials: list(json.materials, 'materials').length,
    nodes: list(json.nodes, 'nodes').length,
    textures: list(json.textures, 'textures').length,
    images: list(json.images, 'images').length,
    animations: list(json.animations, 'animations').length,
  };
  if (typeof json.asset?.generator === 'string') summary.generator = json.asset.generator;
  return summary;
}

type Accessor = NonNullable<Gltf['accessors']>[number];

/** The last element an accessor reads must end inside its bufferView (and likewise its sparse indices and values). */
function checkAccessor(accessor: Accessor, where: string, views: Array<{ length: number; stride?: number }>): void {
  const elements = count(accessor.count, `${where}.count`, 1);
  const element = elementBytes(accessor.componentType, accessor.type, where);
  // `n` elements of `size` bytes, `stride` apart (packed when undefined), from `offset` into the view.
  const within = (field: string, ref: unknown, offset: unknown, stride: number | undefined, size: number, n: number) => {
    const view = views[index(ref, views.length, `${field}.bufferView`)]!;
    const end = count(offset ?? 0, `${field}.byteOffset`, 0) + (stride ?? size) * (n - 1) + size;
    if (end > view.length) throw invalid(`${field} reads up to byte ${end} of a bufferView that has ${view.length}`);
  };
  if (accessor.bufferView !== undefined) {
    const stride = views[index(accessor.bufferView, views.length, `${where}.bufferView`)]!.stride;
    within(where, accessor.bufferView, accessor.byteOffset, stride, element, elements);
  }
  const sparse = accessor.sparse;
  if (sparse) {
    const n = count(sparse.count, `${where}.sparse.count`, 1);
    const indexBytes = elementBytes(sparse.indices?.componentType, 'SCALAR', `${where}.sparse.indices`);
    within(`${where}.sparse.indices`, sparse.indices?.bufferView, sparse.indices?.byteOffset, undefined, indexBytes, n);
    within(`${where}.sparse.values`, sparse.values?.bufferView, sparse.values?.byteOffset, undefined, element, n);
  }
}

/** Bytes per element; matrix columns of 1- and 2-byte components are padded to 4 bytes (glTF 2.0 §3.6.2.4). */
function elementBytes(componentType: unknown, type: unknown, where: string): number {
  const component = COMPONENT_BYTES[componentType as number];
  const shape = TYPE_SHAPE[type as string];
  if (component === undefined) throw invalid(`${where} has componentType ${JSON.stringify(componentType)}`);
  if (shape === undefined) throw invalid(`${where} has type ${JSON.stringify(type)}`);
  const [columns, rows] = shape;
  const column = rows * component;
  return columns * (columns > 1 ? Math.ceil(column / 4) * 4 : column);
}

/** Triangles drawn from `n` vertices: mode 4 TRIANGLES, 5 TRIANGLE_STRIP, 6 TRIANGLE_FAN; 0-3 are points and lines. */
function trianglesDrawn(mode: unknown, n: number): number {
  if (mode === 4) return Math.floor(n / 3);
  if (mode === 5 || mode === 6) return Math.max(0, n - 2);
  if (mode === 0 || mode === 1 || mode === 2 || mode === 3) return 0;
  throw invalid(`a primitive has mode ${JSON.stringify(mode)}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Field readers: the JSON is untrusted, so every value used is checked for the type it must have.

function list<T>(value: T[] | undefined, field: string): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(`${field} is not an array`);
  return value.map((item, i) => {
    if (!item || typeof item !== 'object') throw invalid(`${field}[${i}] is not an object`);
    return item;
  });
}

function count(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalid(`${field} is ${JSON.stringify(value)}, not an integer of at least ${min}`);
  }
  return value;
}

function index(value: unknown, length: number, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= length) {
    throw invalid(`${field} is ${JSON.stringify(value)}, but there are ${length} to refer to`);
  }
  return value;
}
