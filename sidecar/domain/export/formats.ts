/**
 * The export formats: the one table of them. The sidecar checks requests against it, the pipeline's export node takes
 * its names, and `npm run tables` writes it into the JSON the worker (sidecar_worker/tables.json: which operator writes
 * each format) and the add-on (blender_sidecar/tables.json: the Export box's choices) read, so no copy can drift.
 */

/** One Blender operator that can write a format; Blender versions moved some (OBJ to wm.obj_export in 3.2, PLY to
 * wm.ply_export in 3.6, STL to wm.stl_export in 4.1), so a format lists its candidates newest first. */
export interface Exporter {
  /** The operator's idname, e.g. `export_scene.gltf`. */
  operator: string;
  /** Options the format itself fixes (glb and gltf are one operator with two `export_format`s). */
  fixed: Record<string, string>;
  /** The operator's "selected objects only" option. */
  selection: string;
  /** The operator's "apply modifiers" option, if it has one. */
  applyModifiers: string | null;
}

export interface ExportFormatSpec {
  format: string;
  /** As the add-on's menu shows it. */
  label: string;
  description: string;
  /** The first is the one a folder output gets. */
  extensions: string[];
  exporters: Exporter[];
}

const gltf = (exportFormat: string): Exporter[] => [
  { operator: 'export_scene.gltf', fixed: { export_format: exportFormat }, selection: 'use_selection', applyModifiers: 'export_apply' },
];
const moved = (newer: string, older: string): Exporter[] => [
  { operator: newer, fixed: {}, selection: 'export_selected_objects', applyModifiers: 'apply_modifiers' },
  { operator: older, fixed: {}, selection: 'use_selection', applyModifiers: 'use_mesh_modifiers' },
];

export const EXPORT_FORMATS = [
  { format: 'glb', label: 'glTF Binary (.glb)', description: 'glTF 2.0, one binary file', extensions: ['.glb'], exporters: gltf('GLB') },
  {
    format: 'gltf',
    label: 'glTF Separate (.gltf)',
    description: 'glTF 2.0, JSON with .bin and textures beside it',
    extensions: ['.gltf'],
    exporters: gltf('GLTF_SEPARATE'),
  },
  {
    format: 'fbx',
    label: 'FBX (.fbx)',
    description: 'Autodesk FBX',
    extensions: ['.fbx'],
    exporters: [{ operator: 'export_scene.fbx', fixed: {}, selection: 'use_selection', applyModifiers: 'use_mesh_modifiers' }],
  },
  {
    format: 'obj',
    label: 'Wavefront (.obj)',
    description: 'Wavefront OBJ',
    extensions: ['.obj'],
    exporters: moved('wm.obj_export', 'export_scene.obj'),
  },
  {
    format: 'usd',
    label: 'USD (.usd)',
    description: 'Universal Scene Description',
    extensions: ['.usd', '.usdc', '.usda'],
    exporters: [{ operator: 'wm.usd_export', fixed: {}, selection: 'selected_objects_only', applyModifiers: null }],
  },
  {
    format: 'stl',
    label: 'STL (.stl)',
    description: 'Stereolithography',
    extensions: ['.stl'],
    exporters: moved('wm.stl_export', 'export_mesh.stl'),
  },
  {
    format: 'ply',
    label: 'PLY (.ply)',
    description: 'Stanford PLY',
    extensions: ['.ply'],
    exporters: moved('wm.ply_export', 'export_mesh.ply'),
  },
  {
    format: 'abc',
    label: 'Alembic (.abc)',
    description: 'Alembic',
    extensions: ['.abc'],
    exporters: [{ operator: 'wm.alembic_export', fixed: {}, selection: 'selected', applyModifiers: null }],
  },
] as const satisfies readonly ExportFormatSpec[];

export type ExportFormatName = (typeof EXPORT_FORMATS)[number]['format'];
export const FORMAT_NAMES = EXPORT_FORMATS.map((f) => f.format) as [ExportFormatName, ...ExportFormatName[]];

/** The extensions each format writes, by format name. */
export function formatExtensions(format: string): readonly string[] | undefined {
  return EXPORT_FORMATS.find((f) => f.format === format)?.extensions;
}
