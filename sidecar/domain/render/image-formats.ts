/**
 * The image formats a render may write: the one table of them, in Blender's names (`image_settings.file_format`).
 * Requests, verification and farms read it here; `npm run tables` writes it into the JSON the worker and the add-on
 * read (the pipeline editor's Format menu, which linear formats a preview tone-maps).
 */

export interface ImageFormatSpec {
  format: string;
  /** As Blender's menu names it. */
  label: string;
  /** The extension Blender appends (what `scene.render.frame_path()` gives). */
  extension: string;
  /** Holds scene-linear values (previews of it are tone-mapped). */
  linear: boolean;
}

export const IMAGE_FORMAT_TABLE = [
  { format: 'PNG', label: 'PNG', extension: '.png', linear: false },
  { format: 'JPEG', label: 'JPEG', extension: '.jpg', linear: false },
  { format: 'OPEN_EXR', label: 'OpenEXR', extension: '.exr', linear: true },
  { format: 'OPEN_EXR_MULTILAYER', label: 'OpenEXR Multilayer', extension: '.exr', linear: true },
  { format: 'TIFF', label: 'TIFF', extension: '.tif', linear: false },
  { format: 'BMP', label: 'BMP', extension: '.bmp', linear: false },
  { format: 'TARGA', label: 'Targa', extension: '.tga', linear: false },
  { format: 'TARGA_RAW', label: 'Targa Raw', extension: '.tga', linear: false },
  { format: 'WEBP', label: 'WebP', extension: '.webp', linear: false },
  { format: 'HDR', label: 'Radiance HDR', extension: '.hdr', linear: true },
  { format: 'JPEG2000', label: 'JPEG 2000', extension: '.jp2', linear: false },
  { format: 'CINEON', label: 'Cineon', extension: '.cin', linear: false },
  { format: 'DPX', label: 'DPX', extension: '.dpx', linear: false },
  { format: 'IRIS', label: 'Iris', extension: '.rgb', linear: false },
] as const satisfies readonly ImageFormatSpec[];

/** Image formats a render may write, in Blender's names. */
export const IMAGE_FORMATS = IMAGE_FORMAT_TABLE.map((f) => f.format);

/** The short names users type for a format (`exr`), lower case. */
export const IMAGE_FORMAT_ALIASES: Readonly<Record<string, string>> = {
  png: 'PNG',
  jpg: 'JPEG',
  jpeg: 'JPEG',
  exr: 'OPEN_EXR',
  tif: 'TIFF',
  tiff: 'TIFF',
  bmp: 'BMP',
  tga: 'TARGA',
  webp: 'WEBP',
  hdr: 'HDR',
};
