/**
 * The node types a pipeline is built from: each one's settings (a zod schema, which is also the JSON form's) and its
 * typed sockets. Socket types say what flows along a link: `objects` is a set of objects in a state of the scene (a
 * .blend and a scope within it), `files` is what an export or a render wrote.
 */
import { z } from 'zod';
import { CYCLES_BAKE_TYPES } from '../bake/bake-request.js';
import { FORMAT_NAMES } from '../export/formats.js';
import { ENGINE_CHOICES } from '../render/engines.js';
import { MOVIE_CODECS } from '../render/movie.js';

const SOCKET_TYPES = ['objects', 'files'] as const;
export type SocketType = (typeof SOCKET_TYPES)[number];

export interface SocketSpec {
  name: string;
  type: SocketType;
  /** Takes any number of links (a Report's files); other inputs take exactly one. */
  multi?: boolean;
  /** Must be linked for the graph to run. */
  required?: boolean;
}

export const CHECK_NAMES = ['non_manifold', 'missing_textures', 'unapplied_scale', 'ngons', 'empty_meshes'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];
export const CHECK_LEVELS = ['fail', 'warn', 'off'] as const;
export type CheckLevel = (typeof CHECK_LEVELS)[number];

/** What a check does when it finds something, unless the graph says otherwise. */
const CHECK_DEFAULTS: Record<CheckName, CheckLevel> = {
  non_manifold: 'warn',
  missing_textures: 'fail',
  unapplied_scale: 'warn',
  ngons: 'warn',
  empty_meshes: 'fail',
};

const level = (check: CheckName, what: string) =>
  z.enum(CHECK_LEVELS).default(CHECK_DEFAULTS[check]).describe(`${what} fail: the step fails; warn: reported only; off: not checked.`);

/** A value a Geometry Nodes input can take: a number, a boolean, a name (object, material, collection, string), a vector. */
const gnValue = z.union([z.number(), z.boolean(), z.string(), z.array(z.number()).min(2).max(4)]);

/** Output templates: {name}, {variant}, {variant_index}, {date} and {node} are filled in per branch. */
const outputTemplate = (what: string) =>
  z
    .string()
    .min(1)
    .describe(
      `${what} An absolute path, or // for the blend file's folder (or the submit's baseDir). ` +
        "{name} is the branch's name (the collection, object or file), {variant} the Geometry Nodes value, " +
        "{variant_index} its 0-based position in the list, {date} the day the job was submitted (YYYY-MM-DD), {node} this node's id.",
    );

export const sourceSettings = z
  .strictObject({
    mode: z
      .enum(['file', 'objects', 'collection', 'collections'])
      .default('file')
      .describe(
        'file: every visible object of the scene; objects: the objects named; collection: one collection (and its children); ' +
          "collections: a branch for every collection directly under the scene's own collection that holds objects.",
      ),
    objects: z.array(z.string().min(1)).min(1).optional().describe('mode objects: the objects, by name.'),
    collection: z.string().min(1).optional().describe('mode collection: the collection, by name.'),
    exclude: z.array(z.string().min(1)).optional().describe('mode collections: collections to leave out, by name.'),
    name: z
      .string()
      .min(1)
      .optional()
      .describe('{name} in output templates (default: the collection, the single object, or the file name without .blend).'),
  })
  .superRefine((s, ctx) => {
    if (s.mode === 'objects' && !s.objects)
      ctx.addIssue({ code: 'custom', path: ['objects'], message: 'mode objects needs the objects listed' });
    if (s.mode === 'collection' && !s.collection)
      ctx.addIssue({ code: 'custom', path: ['collection'], message: 'mode collection needs a collection' });
    if (s.mode !== 'objects' && s.objects)
      ctx.addIssue({ code: 'custom', path: ['objects'], message: `is only for mode objects (this source is mode ${s.mode})` });
    if (s.mode !== 'collection' && s.collection) {
      ctx.addIssue({ code: 'custom', path: ['collection'], message: `is only for mode collection (this source is mode ${s.mode})` });
    }
    if (s.mode !== 'collections' && s.exclude)
      ctx.addIssue({ code: 'custom', path: ['exclude'], message: `is only for mode collections (this source is mode ${s.mode})` });
  });

export const validateSettings = z.strictObject({
  checks: z
    .strictObject({
      non_manifold: level('non_manifold', 'Edges that are not shared by exactly two faces (holes, open borders, loose edges).'),
      missing_textures: level(
        'missing_textures',
        'Image textures whose file is not on disk (and not packed), or texture nodes without an image.',
      ),
      unapplied_scale: level('unapplied_scale', 'Objects whose scale is not (1, 1, 1).'),
      ngons: level('ngons', 'Faces with more than four sides.'),
      empty_meshes: level('empty_meshes', 'Mesh objects with no faces.'),
    })
    .default({
      non_manifold: CHECK_DEFAULTS.non_manifold,
      missing_textures: CHECK_DEFAULTS.missing_textures,
      unapplied_scale: CHECK_DEFAULTS.unapplied_scale,
      ngons: CHECK_DEFAULTS.ngons,
      empty_meshes: CHECK_DEFAULTS.empty_meshes,
    })
    .describe('Each check: fail, warn or off. Meshes are checked as they would be exported (modifiers evaluated).'),
});

export const transformSettings = z
  .strictObject({
    applyModifiers: z.boolean().default(false).describe('Apply every modifier (Geometry Nodes included) to the mesh.'),
    decimateRatio: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe('Decimate (collapse) to this share of the faces; 1 or absent: no decimation.'),
    triangulate: z.boolean().default(false).describe('Split every face into triangles.'),
    applyRotation: z.boolean().default(false).describe("Apply the objects' rotation to their meshes."),
    applyScale: z.boolean().default(false).describe("Apply the objects' scale to their meshes."),
    origin: z
      .enum(['keep', 'geometry', 'bounds', 'bottom', 'world'])
      .default('keep')
      .describe(
        "Move each origin to: geometry (the vertices' median), bounds (the bounding box centre), bottom (the centre of the box's bottom face), world (0, 0, 0); keep: leave it.",
      ),
  })
  .describe('Applied to the mesh objects in scope, in this order: modifiers, decimate, triangulate, rotation and scale, origin.');

export const gnVariantSettings = z
  .strictObject({
    object: z.string().min(1).describe('The object with the Geometry Nodes modifier.'),
    modifier: z.string().min(1).optional().describe("The modifier's name (default: the object's first Geometry Nodes modifier)."),
    input: z.string().min(1).describe('The modifier input to vary, by its name as shown in Blender (e.g. "Count").'),
    values: z.array(gnValue).min(1).max(1000).optional().describe('The values, one branch each.'),
    range: z
      .strictObject({
        start: z.number(),
        end: z.number().describe('Inclusive (when a whole number of steps from start).'),
        step: z.number().positive().default(1),
      })
      .optional()
      .describe('Values from start to end by step, one branch each (instead of values).'),
  })
  .superRefine((s, ctx) => {
    if (!s.values === !s.range) ctx.addIssue({ code: 'custom', path: ['values'], message: 'give values or range (one of them)' });
    if (s.range && s.range.end < s.range.start)
      ctx.addIssue({ code: 'custom', path: ['range', 'end'], message: `${s.range.end} is before start ${s.range.start}` });
    if (s.range && (s.range.end - s.range.start) / s.range.step + 1 > 1000) {
      ctx.addIssue({ code: 'custom', path: ['range'], message: 'makes more than 1000 values' });
    }
  });

const exportOptions = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()]))]));

export const exportSettings = z.strictObject({
  format: z.enum(FORMAT_NAMES).describe(`${FORMAT_NAMES.join(', ')} (those the installed Blender can write: see sidecar.info).`),
  output: outputTemplate(
    "The file to write (a folder ending in / gets {name}, and _{variant} when there is one, with the format's extension).",
  ),
  applyModifiers: z.boolean().default(true).describe('Export meshes with their modifiers applied.'),
  options: exportOptions.optional().describe("Exporter options by Blender's name (sidecar.info lists each format's)."),
});

export const renderSettings = z.strictObject({
  output: outputTemplate('A folder, or a path with # for the frame number.'),
  frames: z.string().min(1).optional().describe('Frames, e.g. "1-24" or "1,5,10-20x2" (default: the scene\'s range).'),
  format: z.string().min(1).default('PNG').describe('Image format: PNG, JPEG, OPEN_EXR, TIFF, ...'),
  engine: z.string().min(1).optional().describe(`${ENGINE_CHOICES} (default: the scene's).`),
  samples: z.number().int().min(1).max(1_000_000).optional(),
  resolutionPercent: z.number().int().min(1).max(1000).optional(),
  camera: z.string().min(1).optional().describe("Camera object (default: the scene's)."),
  turntable: z
    .boolean()
    .default(false)
    .describe(
      "Render from a camera made at run time that orbits the branch's objects over the frames (the first frame faces " +
        "them from the front, -Y), framing them whole; other renderable objects are hidden, lights kept. The scene's " +
        'camera is not used (none is needed) and nothing in the file changes.',
    ),
  turntableTurns: z.number().gt(0).max(100).default(1).describe('turntable: how many times the camera goes round over the frames.'),
  turntableElevation: z
    .number()
    .min(-89)
    .max(89)
    .default(20)
    .describe("turntable: the camera's height above the objects' centre, in degrees."),
  instances: z
    .number()
    .int()
    .min(1)
    .max(64)
    .optional()
    .describe("At most this many of this node's frames render at once (default: as many as the job may)."),
});

export const movieSettings = z.strictObject({
  output: outputTemplate('The movie file, .mp4, .mov or .mkv (one per branch: put {name} or {variant} in it when the pipeline fans out).'),
  fps: z.number().positive().max(240).optional().describe("Frames per second (default: the scene's frame rate)."),
  codec: z.enum(MOVIE_CODECS).default('h264').describe("h264 or mpeg4, encoded by Blender's own FFmpeg."),
});

export const bakeSettings = z.strictObject({
  maps: z
    .array(z.enum(CYCLES_BAKE_TYPES))
    .min(1)
    .max(12)
    .describe('The maps to bake: normal, ao, diffuse, roughness, emit, ... (Cycles bake types).'),
  output: outputTemplate('The folder the maps go to, as <object>_<map>.png.'),
  size: z.number().int().min(8).max(16384).default(1024).describe('Width and height of the maps in pixels.'),
  margin: z.number().int().min(0).max(256).default(16).describe('Pixels baked past the UV islands.'),
  samples: z.number().int().min(1).max(65_536).optional().describe("Cycles samples (default: the scene's)."),
  objects: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe('The targets, by name (default: every mesh in scope, the sources excepted).'),
  sources: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe('High-poly objects baked onto each target (Selected to Active); they need not be in scope.'),
  extrusion: z.number().min(0).max(1e4).default(0).describe('With sources: how far out the rays start from the target.'),
  maxRayDistance: z.number().min(0).max(1e4).default(0).describe('With sources: how far the rays reach (0: no limit).'),
  useInMaterials: z
    .boolean()
    .default(true)
    .describe("Put the maps into the targets' materials (packed), so an export downstream carries them."),
});

export const reportSettings = z.strictObject({
  output: outputTemplate("Also write the report as JSON here ({name} is the pipeline's name).").optional(),
});

export interface NodeTypeSpec {
  type: string;
  title: string;
  summary: string;
  settings: z.ZodType;
  inputs: SocketSpec[];
  outputs: SocketSpec[];
}

const objectsIn: SocketSpec = { name: 'objects', type: 'objects', required: true };

export const NODE_TYPES = {
  source: {
    type: 'source',
    title: 'Source',
    summary: 'What the pipeline works on: the whole file, some objects, a collection, or a branch per collection.',
    settings: sourceSettings,
    inputs: [],
    outputs: [{ name: 'objects', type: 'objects' }],
  },
  validate: {
    type: 'validate',
    title: 'Validate',
    summary: 'Checks the meshes; a check set to fail stops everything downstream of it in its branch.',
    settings: validateSettings,
    inputs: [objectsIn],
    outputs: [{ name: 'objects', type: 'objects' }],
  },
  transform: {
    type: 'transform',
    title: 'Transform',
    summary: 'Changes the meshes (apply modifiers, decimate, triangulate, apply rotation/scale, set origin) in a copy of the file.',
    settings: transformSettings,
    inputs: [objectsIn],
    outputs: [{ name: 'objects', type: 'objects' }],
  },
  gn_variant: {
    type: 'gn_variant',
    title: 'Geometry Nodes Variant',
    summary: 'Fans out: one branch per value of one Geometry Nodes input, each in its own copy of the file.',
    settings: gnVariantSettings,
    inputs: [objectsIn],
    outputs: [{ name: 'objects', type: 'objects' }],
  },
  export: {
    type: 'export',
    title: 'Export',
    summary: 'Writes the objects to a file per branch, checked before it counts.',
    settings: exportSettings,
    inputs: [objectsIn],
    outputs: [{ name: 'files', type: 'files' }],
  },
  render: {
    type: 'render',
    title: 'Render',
    summary: 'Renders frames of the scene per branch, every frame checked.',
    settings: renderSettings,
    inputs: [objectsIn],
    outputs: [{ name: 'files', type: 'files' }],
  },
  movie: {
    type: 'movie',
    title: 'Movie',
    summary:
      "Encodes a Render node's frames into a preview movie per branch with Blender's own FFmpeg, checked (every frame, the frames' size).",
    settings: movieSettings,
    inputs: [{ name: 'files', type: 'files', required: true }],
    outputs: [{ name: 'files', type: 'files' }],
  },
  bake: {
    type: 'bake',
    title: 'Bake',
    summary:
      'Bakes texture maps of the meshes (from high-poly sources, if named), each map checked; with useInMaterials the maps go into the materials for the steps after.',
    settings: bakeSettings,
    inputs: [objectsIn],
    outputs: [{ name: 'objects', type: 'objects' }],
  },
  report: {
    type: 'report',
    title: 'Report',
    summary: "Collects what the pipeline produced (the job's result holds the report; output also writes it as JSON).",
    settings: reportSettings,
    inputs: [{ name: 'files', type: 'files', multi: true, required: true }],
    outputs: [],
  },
} satisfies Record<string, NodeTypeSpec>;

export type NodeType = keyof typeof NODE_TYPES;
export const NODE_TYPE_NAMES = Object.keys(NODE_TYPES) as NodeType[];

export type SourceSettings = z.output<typeof sourceSettings>;
export type ValidateSettings = z.output<typeof validateSettings>;
export type TransformSettings = z.output<typeof transformSettings>;
export type GnVariantSettings = z.output<typeof gnVariantSettings>;
export type ExportSettings = z.output<typeof exportSettings>;
export type RenderSettings = z.output<typeof renderSettings>;
export type MovieSettings = z.output<typeof movieSettings>;
export type ReportSettings = z.output<typeof reportSettings>;
export type BakeSettings = z.output<typeof bakeSettings>;

export interface SettingsOf {
  source: SourceSettings;
  validate: ValidateSettings;
  transform: TransformSettings;
  gn_variant: GnVariantSettings;
  export: ExportSettings;
  render: RenderSettings;
  movie: MovieSettings;
  report: ReportSettings;
  bake: BakeSettings;
}

/** The values a gn_variant node fans out over. */
export function variantValues(s: GnVariantSettings): Array<z.output<typeof gnValue>> {
  if (s.values) return s.values;
  const { start, end, step } = s.range!;
  const out: number[] = [];
  // Steps counted, not accumulated, so 0.1 steps do not drift; a tiny tolerance keeps an end reached by float steps.
  const n = Math.floor((end - start) / step + 1e-9);
  for (let i = 0; i <= n; i++) out.push(Number((start + i * step).toPrecision(12)));
  return out;
}

/** Every node type as `pipeline.schema` answers and the add-on's editor reads it (tables.json): its sockets, and its
 * settings as JSON Schema (defaults, required, enums, limits). */
export function nodeTypeCatalog() {
  return NODE_TYPE_NAMES.map((t) => {
    const spec: NodeTypeSpec = NODE_TYPES[t];
    return {
      type: t,
      title: spec.title,
      summary: spec.summary,
      inputs: spec.inputs,
      outputs: spec.outputs,
      settings: z.toJSONSchema(spec.settings, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
    };
  });
}
