/**
 * Planning the nodes that read or change the scene: where branches start (Source), and the steps that check it
 * (Validate) or change it and write the changed .blend for the steps after them (Transform, GN Variant, Bake).
 */
import { basename, join } from 'node:path';
import {
  CHECK_NAMES,
  variantValues,
  type BakeSettings,
  type CheckName,
  type GnVariantSettings,
  type SourceSettings,
  type TransformSettings,
  type ValidateSettings,
} from '../nodes.js';
import { fileSafe, fillTemplate } from '../template.js';
import { deps, type Branch, type Flow, type Inspection, type NodeContext, type PlanContext } from './model.js';

/** A Source starts the branches: the file, some objects, a collection, or one per top-level collection. */
export function planSource({ n, file, ctx, fail }: NodeContext): Flow[] {
  return sourceFlows(n.settings as SourceSettings, file, ctx, fail);
}

/** One check step per branch; the steps after it wait for it, so a failed check stops its branch. */
export function planValidate({ n, input, add, label }: NodeContext): Flow[] {
  const checks: Partial<Record<CheckName, 'fail' | 'warn'>> = {};
  const settings = n.settings as ValidateSettings;
  for (const c of CHECK_NAMES) if (settings.checks[c] !== 'off') checks[c] = settings.checks[c] as 'fail' | 'warn';
  return input.map((f) => {
    const key = add({
      kind: 'validate',
      label: label('Validate', f.branch),
      branch: f.branch,
      open: f.open,
      dependsOn: deps(f),
      scope: f.scope,
      checks,
    });
    return { ...f, after: key };
  });
}

export function planTransform({ n, input, ctx, steps, add, label }: NodeContext): Flow[] {
  return input.map((f) => {
    const key = steps.length;
    const output = join(ctx.workDir, `${key}-${fileSafe(n.id)}.blend`);
    add({
      kind: 'transform',
      label: label('Transform', f.branch),
      branch: f.branch,
      open: f.open,
      dependsOn: deps(f),
      scope: f.scope,
      settings: n.settings as TransformSettings,
      output,
    });
    return { ...f, open: output, after: key };
  });
}

/** Each branch times each value: the input set to it, the file written for the steps after. */
export function planGnVariant({ n, input, file, ctx, steps, add, fail, label }: NodeContext): Flow[] {
  const s = n.settings as GnVariantSettings;
  const target = checkVariant(s, file, fail);
  if (!target) return [];
  const values = variantValues(s);
  const out: Flow[] = [];
  for (const f of input) {
    values.forEach((value, i) => {
      const key = steps.length;
      const branch: Branch = {
        name: f.branch.name,
        label: [f.branch.label, `${s.input}=${shown(value)}`].filter(Boolean).join(', '),
        variant: value,
        variantIndex: i,
      };
      const output = join(ctx.workDir, `${key}-${fileSafe(n.id)}.blend`);
      add({
        kind: 'variant',
        label: label('GN Variant', branch),
        branch,
        open: f.open,
        dependsOn: deps(f),
        scope: f.scope,
        object: s.object,
        modifier: target.modifier,
        input: s.input,
        value,
        output,
      });
      out.push({ ...f, branch, open: output, after: key });
    });
  }
  return out;
}

export function planBake({ n, input, ctx, steps, add, label }: NodeContext): Flow[] {
  const s = n.settings as BakeSettings;
  return input.map((f) => {
    const key = steps.length;
    const folder = fillTemplate(
      s.output,
      { name: f.branch.name, variant: f.branch.variant, variant_index: f.branch.variantIndex, date: ctx.date, node: n.id },
      ctx.baseDir,
    ).replace(/\/$/, '');
    const output = join(ctx.workDir, `${key}-${fileSafe(n.id)}.blend`);
    add({
      kind: 'bake',
      label: label('Bake', f.branch),
      branch: f.branch,
      open: f.open,
      dependsOn: deps(f),
      scope: f.scope,
      settings: s,
      folder,
      output,
    });
    return { ...f, open: output, after: key };
  });
}

function shown(value: unknown): string {
  return Array.isArray(value) ? `(${value.join(', ')})` : String(value);
}

function sourceFlows(s: SourceSettings, file: Inspection, ctx: PlanContext, fail: (m: string) => void): Flow[] {
  const open = ctx.blendFile;
  const collections = new Map(file.collections.map((c) => [c.name, c]));
  const known = (names: string[]) => names.slice(0, 20).join(', ') || 'none';
  switch (s.mode) {
    case 'file':
      return [{ branch: { name: s.name ?? basename(ctx.blendFile).replace(/\.blend\d*$/i, ''), label: '' }, open, scope: {} }];
    case 'objects': {
      const byName = new Map(file.objects.map((o) => [o.name, o]));
      const missing = s.objects!.filter((o) => !byName.has(o));
      if (missing.length) {
        fail(
          `the file has no object named ${missing.map((m) => `'${m}'`).join(', ')}; its objects include: ${known(file.objects.map((o) => o.name))}`,
        );
        return [];
      }
      const hidden = s.objects!.filter((o) => !byName.get(o)!.inViewLayer);
      if (hidden.length)
        fail(
          `${hidden.map((m) => `'${m}'`).join(', ')} ${hidden.length === 1 ? 'is' : 'are'} not in the view layer (an excluded collection)`,
        );
      const name = s.name ?? (s.objects!.length === 1 ? s.objects![0]! : 'objects');
      return [{ branch: { name, label: '' }, open, scope: { objects: s.objects } }];
    }
    case 'collection': {
      const c = collections.get(s.collection!);
      if (!c) {
        fail(`the scene has no collection named '${s.collection}'; its collections: ${known([...collections.keys()])}`);
        return [];
      }
      if (c.objects === 0) fail(`collection '${c.name}' has no objects`);
      return [{ branch: { name: s.name ?? c.name, label: '' }, open, scope: { collection: c.name } }];
    }
    case 'collections': {
      const unknown = (s.exclude ?? []).filter((e) => !collections.has(e));
      if (unknown.length)
        fail(
          `exclude names ${unknown.map((u) => `'${u}'`).join(', ')}, which the scene does not have; its collections: ${known([...collections.keys()])}`,
        );
      const chosen = file.collections.filter((c) => c.top && c.objects > 0 && !(s.exclude ?? []).includes(c.name));
      if (chosen.length === 0)
        fail(
          'the scene has no collection with objects directly under its own collection (mode collections makes a branch per such collection)',
        );
      return chosen.map((c) => ({ branch: { name: c.name, label: c.name }, open, scope: { collection: c.name } }));
    }
  }
}

const VALUE_KINDS: Record<string, (v: unknown) => boolean> = {
  int: (v) => Number.isInteger(v),
  float: (v) => typeof v === 'number',
  bool: (v) => typeof v === 'boolean',
  string: (v) => typeof v === 'string',
  object: (v) => typeof v === 'string',
  material: (v) => typeof v === 'string',
  collection: (v) => typeof v === 'string',
  image: (v) => typeof v === 'string',
  texture: (v) => typeof v === 'string',
  vector: (v) => Array.isArray(v) && v.length === 3,
  color: (v) => Array.isArray(v) && v.length === 4,
};

function checkVariant(s: GnVariantSettings, file: Inspection, fail: (m: string) => void): { modifier: string } | undefined {
  const obj = file.objects.find((o) => o.name === s.object);
  if (!obj) {
    fail(
      `the file has no object named '${s.object}'; its objects include: ${
        file.objects
          .slice(0, 20)
          .map((o) => o.name)
          .join(', ') || 'none'
      }`,
    );
    return undefined;
  }
  const mods = file.modifiers.filter((m) => m.object === s.object);
  const mod = s.modifier ? mods.find((m) => m.modifier === s.modifier) : mods[0];
  if (!mod) {
    const what = s.modifier ? `no Geometry Nodes modifier named '${s.modifier}'` : 'no Geometry Nodes modifier';
    fail(
      `object '${s.object}' has ${what}${mods.length ? `; its Geometry Nodes modifiers: ${mods.map((m) => m.modifier).join(', ')}` : ''}`,
    );
    return undefined;
  }
  const input = mod.inputs.find((i) => i.name === s.input);
  if (!input) {
    fail(
      `modifier '${mod.modifier}' on '${s.object}' has no input named '${s.input}'; its inputs: ${mod.inputs.map((i) => i.name).join(', ') || 'none'}`,
    );
    return undefined;
  }
  const fits = VALUE_KINDS[input.type];
  const bad = fits ? variantValues(s).filter((v) => !fits(v)) : [];
  if (bad.length) {
    fail(
      `input '${s.input}' is ${input.type === 'int' ? 'an' : 'a'} ${input.type}, which ${bad
        .slice(0, 5)
        .map((b) => JSON.stringify(b))
        .join(', ')} ${bad.length === 1 ? 'is' : 'are'} not`,
    );
    return undefined;
  }
  return { modifier: mod.modifier };
}
