/**
 * Which installed Blender runs a file: the one with the file's major.minor; otherwise the oldest one newer than the file
 * (Blender opens older files, not newer ones). A file newer than every installed Blender is refused before any worker
 * starts, with the versions in the sentence. A job may pin a Blender by version ("4.2") or by path.
 */
import { realpathSync } from 'node:fs';
import { describeError, InvalidInputError } from '../errors.js';
import { blendVersionNumber, formatBlendVersion, readBlendHeader, type BlendHeader } from './blend-header.js';
import type { BlenderInstallation } from './blender.js';
import type { BlenderInstallations, InstalledBlender } from './installations.js';
import { locateExplicit } from './locate.js';
import { probeVersion } from './probe.js';

export interface BlendRoute {
  /** The executable (or wrapper script) the job's workers run. */
  path: string;
  /** Its version as Blender says it, "4.3.2". */
  version: string;
  /** Why this one, in words: "the file was saved by Blender 4.2; the oldest installed Blender newer than that". */
  why: string;
}

/** What a job records of its file: the version that saved it and how it is compressed. */
export interface BlendFileFacts {
  version?: string;
  compression?: string;
}

/** Reads the header, refusing it as bad input naming `field` when the file is not something Blender could open. */
function inspectForJob(path: string, field: string): BlendHeader {
  let header: BlendHeader;
  try {
    header = readBlendHeader(path);
  } catch (err) {
    throw new InvalidInputError(field, `${path} cannot be opened: ${describeError(err)}`);
  }
  if (!header.isBlend || header.problem)
    throw new InvalidInputError(field, `${path} cannot be opened: ${header.problem ?? 'not a .blend file'}`);
  return header;
}

function describeInstalled(installed: InstalledBlender[]): string {
  const usable = installed.filter((b) => b.version);
  if (usable.length === 0) return 'no working Blender is installed';
  return usable.map((b) => `${b.version} (${b.path})`).join(', ');
}

/**
 * The Blender for a file saved by `header`'s version among `installed`, or the pinned one (`pin`: a version such as
 * "4.2", or a path / command name). Throws InvalidInputError naming `field` (or "blender" for a bad pin).
 */
export async function routeBlend(
  blendFile: string,
  header: BlendHeader,
  installed: InstalledBlender[],
  pin: string | undefined,
  field: string,
  versionOf: (path: string) => Promise<string> = (path) => probeVersion(path),
): Promise<BlendRoute> {
  const usable = installed.filter(
    (b): b is InstalledBlender & { version: string; versionNumber: number } => !!b.version && b.versionNumber !== undefined,
  );
  const fileN = header.versionNumber;
  const saved = fileN === undefined ? 'an unknown Blender' : `Blender ${formatBlendVersion(fileN)}`;
  if (pin !== undefined) return routePinned(pin, usable, installed, fileN, saved, versionOf);
  if (usable.length === 0) throw new InvalidInputError(field, `${blendFile} cannot run: ${describeInstalled(installed)}`);
  if (fileN === undefined)
    return {
      path: usable[0]!.path,
      version: usable[0]!.version,
      why: 'the file does not say which Blender saved it; the first installed Blender',
    };
  const newestFirst = (a: { versionNumber: number; version: string }, b: { versionNumber: number; version: string }) =>
    b.versionNumber - a.versionNumber || b.version.localeCompare(a.version, undefined, { numeric: true });
  const exact = usable.filter((b) => b.versionNumber === fileN).sort(newestFirst)[0];
  if (exact) return { path: exact.path, version: exact.version, why: `the file was saved by ${saved}, the same major.minor` };
  const newer = usable.filter((b) => b.versionNumber > fileN).sort((a, b) => -newestFirst(a, b))[0];
  if (newer)
    return {
      path: newer.path,
      version: newer.version,
      why: `the file was saved by ${saved}; the oldest installed Blender newer than that`,
    };
  throw new InvalidInputError(
    field,
    `${blendFile} was saved by ${saved}, newer than every installed Blender (${describeInstalled(installed)}); ` +
      `install Blender ${formatBlendVersion(fileN)} or newer and give it with --blender, or pin one with "blender" if you know it opens the file`,
    { fileVersion: formatBlendVersion(fileN), installed: usable.map((b) => ({ path: b.path, version: b.version })) },
  );
}

async function routePinned(
  pin: string,
  usable: Array<InstalledBlender & { version: string; versionNumber: number }>,
  installed: InstalledBlender[],
  fileN: number | undefined,
  saved: string,
  versionOf: (path: string) => Promise<string>,
): Promise<BlendRoute> {
  const note = (n: number) =>
    fileN !== undefined && fileN > n ? `; the file was saved by newer ${saved}, which this Blender may fail to open` : '';
  if (/^\d+\.\d+(\.\d+)?$/.test(pin.trim())) {
    const n = blendVersionNumber(pin)!;
    const full = pin.split('.').length === 3;
    const match = usable.find((b) => (full ? b.version === pin.trim() : b.versionNumber === n));
    if (!match) throw new InvalidInputError('blender', `no installed Blender is ${pin}; installed: ${describeInstalled(installed)}`);
    return { path: match.path, version: match.version, why: `pinned to ${pin}${note(n)}` };
  }
  let path: string;
  let version: string;
  try {
    path = locateExplicit(pin, 'blender').path;
    version = await versionOf(path);
  } catch (err) {
    throw new InvalidInputError(
      'blender',
      `${describeError(err)}; give a version such as "4.2" or the path of an installed Blender (installed: ${describeInstalled(installed)})`,
    );
  }
  // The same Blender reached another way (a link) keeps its usual path, so its warm workers are used.
  const known = usable.find((b) => sameFile(b.path, path));
  return { path: known?.path ?? path, version, why: `pinned to ${pin}${note(blendVersionNumber(version) ?? 0)}` };
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return a === b;
  }
}

/** What a job records about its Blender and file (job.get shows both). */
export interface JobBlenderChoice {
  blender: BlendRoute;
  blend: BlendFileFacts;
  /** The chosen Blender's installation: its probe (export formats) checks the request. */
  installation: BlenderInstallation;
}

/**
 * The Blender a job on `blendFile` runs on, decided at submit: the header read, the installed Blenders listed, the route
 * taken (or the pin followed). Throws bad input (the file cannot be opened, is newer than every Blender, a bad
 * pin) or no-blender (no Blender at all).
 */
export async function chooseBlenderForJob(
  installations: BlenderInstallations,
  blendFile: string,
  pin: string | undefined,
  field = 'blendFile',
): Promise<JobBlenderChoice> {
  const header = inspectForJob(blendFile, field);
  installations.relocate();
  const installed = await installations.list();
  if (installed.length === 0 && pin === undefined) installations.primary.path(); // throws "Blender was not found (tried ...)"
  const blender = await routeBlend(blendFile, header, installed, pin, field, (path) => installations.versionOf(path));
  return {
    blender,
    blend: { version: header.version, compression: header.compression },
    installation: installations.installation(blender.path),
  };
}
