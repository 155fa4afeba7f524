/**
 * What a Geometry Nodes sync entry is: a key naming one modifier input, and a typed value.
 *
 * Wire form, the same everywhere a value appears (a change sent with `gn.set`, an entry in a snapshot, a change in
 * `gn.changed`, the `current` of a revision conflict): `type` sits beside `value`, flat, never nested:
 *
 *     {"key": {"object": "Cube", "modifier": "GeometryNodes", "input": "Count"}, "type": "int", "value": 12}
 *
 * | type                                  | value                                                    |
 * | ------------------------------------- | -------------------------------------------------------- |
 * | `float`                               | a finite number                                          |
 * | `int`                                 | a 32-bit signed integer (what a Geometry Nodes socket holds) |
 * | `bool`                                | true or false                                            |
 * | `vector`                              | 2 to 4 numbers                                           |
 * | `color`                               | 3 or 4 numbers (RGB or RGBA)                             |
 * | `string`                              | a string                                                 |
 * | `object`, `material`, `collection`    | the data-block's name, or null for none                  |
 *
 * The input is named by its name, not its identifier: identifiers differ across Blender versions (`Input_2` in 3.x,
 * `Socket_2` in 4.x and 5.x). The first write to an entry fixes its type; see `checkTypeUnchanged`.
 *
 * A writer may leave `type` out (`gn.set {key, value, baseRevision}`, as the sync contract first named it): an
 * existing entry keeps its type and the value must fit it; a new entry's type is read from the value (see
 * `inferType`). Blender converts on apply where the socket differs (an int socket given 2.0 takes 2).
 *
 * This module knows nothing of JSON-RPC; its errors are `InvalidInputError`s (bad input), which the protocol layer
 * answers with invalid params.
 */
import { z } from 'zod';
import { InvalidInputError } from '../errors.js';

/** Longest object, modifier, input or data-block name accepted (Blender's own limit is lower: 63 or 255 bytes). */
const MAX_NAME = 1024;
/** Longest string value accepted: entries are kept in memory and in the journal, with their history. */
const MAX_STRING = 65_536;

const Name = z.string().min(1).max(MAX_NAME);

export const EntryKey = z.strictObject({
  object: Name.describe('The object\'s name, e.g. "Cube".'),
  modifier: Name.describe('The Geometry Nodes modifier\'s name on that object, e.g. "GeometryNodes".'),
  input: Name.describe("The group input's name (not its identifier, which differs across Blender versions)."),
});
export type EntryKey = z.output<typeof EntryKey>;

export const VALUE_TYPES = ['float', 'int', 'bool', 'vector', 'color', 'string', 'object', 'material', 'collection'] as const;
export const ValueType = z.enum(VALUE_TYPES);
export type ValueType = (typeof VALUE_TYPES)[number];

/** A value of the right type for `type`. A discriminated union: narrowing on `type` narrows `value`. */
export type TypedValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'vector'; value: number[] }
  | { type: 'color'; value: number[] }
  | { type: 'string'; value: string }
  | { type: 'object' | 'material' | 'collection'; value: string | null };

/** Every JSON a value may be; which one fits is decided by `type` (see `parseTypedValue`). */
export const AnyValue = z
  .union([z.number(), z.boolean(), z.string(), z.array(z.number()), z.null()])
  .describe(
    'Its form follows `type`: float: number; int: 32-bit integer; bool: boolean; vector: 2-4 numbers; ' +
      'color: 3 or 4 numbers; string: string; object, material, collection: a name, or null for none.',
  );

/** A change as a caller gives it: `value` is checked against `type` by `parseChange`; `type` may be left out. */
export interface ChangeInput {
  key: EntryKey;
  type?: ValueType | undefined;
  value: unknown;
}

/** A checked change: a key and a value of its type. */
export type SyncChange = { key: EntryKey } & TypedValue;

/** The schema of a change on the wire (`gn.setMany`'s `changes[i]`, a journal record's changes). */
export const ChangeSchema = z
  .strictObject({
    key: EntryKey,
    type: ValueType.optional().describe(
      'Optional. Left out, an existing entry keeps its type; a new one takes it from the value (see gn.set).',
    ),
    value: AnyValue,
  })
  .superRefine((change, ctx) => refineTypedValue(change, ctx));

/** What a value left without a type is taken to be, in the words of the API reference. */
const INFERRED_TYPES =
  'true/false: bool; a string: string; a whole number: int; any other number: float; 2 or 3 numbers: vector; ' +
  '4 numbers: color; null (an object, material or collection) needs its type';

/**
 * For a zod `superRefine` on an object holding `type` and `value`: reports a value that does not fit its type as an
 * issue on `value`, so the bad-input error names the field as the client wrote it (`changes[2].value`).
 */
export function refineTypedValue(v: { type?: ValueType | undefined; value: unknown }, ctx: z.RefinementCtx): void {
  if (v.type === undefined) return; // Checked against the entry's type, or inferred, by parseChange.
  const problem = valueProblem(v.type, v.value);
  if (problem) ctx.addIssue({ code: 'custom', path: ['value'], message: problem });
}

/**
 * Checks that `value` fits `type` and returns it as a `TypedValue` holding its own copy of any array.
 * Throws `InvalidInputError` naming `field` (for example `changes[2].value`) when it does not fit.
 */
function parseTypedValue(type: ValueType, value: unknown, field = 'value'): TypedValue {
  const problem = valueProblem(type, value);
  if (problem) throw new InvalidInputError(field, problem, { expectedType: type });
  if (type === 'vector' || type === 'color') return { type, value: [...(value as number[])] };
  return { type, value } as TypedValue;
}

/**
 * The type a value written without one is taken to be, for a new entry. Throws `InvalidInputError` on `field` for a
 * value whose type cannot be told (null, which may be an object, a material or a collection) or that fits none.
 */
function inferType(value: unknown, field = 'value'): ValueType {
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return 'string';
  if (isFiniteNumber(value)) return Number.isInteger(value) && Math.abs(value) <= 2147483647 ? 'int' : 'float';
  if (isNumberArray(value, 2, 4)) return value.length === 4 ? 'color' : 'vector';
  const what = value === null ? 'null names no data-block type' : 'this value fits no type';
  throw new InvalidInputError(field, `${what}: give "type" with it (without one, ${INFERRED_TYPES})`);
}

/**
 * Checks a whole change; `field` is where it sits in the caller's params ('' for top level, 'changes[2]').
 * `heldType` is the type the entry already holds, if any: a change without `type` takes it (and a value that does not
 * fit it is refused, naming both); a change without `type` for a new entry takes `inferType`'s.
 */
export function parseChange(change: ChangeInput, field = '', heldType?: (key: EntryKey) => ValueType | undefined): SyncChange {
  const at = (name: string) => (field ? `${field}.${name}` : name);
  const key = EntryKey.safeParse(change.key);
  if (!key.success) {
    const issue = key.error.issues[0]!;
    const sub = issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
    throw new InvalidInputError(`${at('key')}${sub}`, issue.message);
  }
  const { object, modifier, input } = key.data;
  const cleanKey = { object, modifier, input };
  if (change.type === undefined) {
    const held = heldType?.(cleanKey);
    if (held === undefined) return { key: cleanKey, ...parseTypedValue(inferType(change.value, at('value')), change.value, at('value')) };
    const problem = valueProblem(held, change.value);
    if (problem) {
      throw new InvalidInputError(
        at('value'),
        `${JSON.stringify(change.value)} does not fit ${describeKey(cleanKey)}, which holds ${held} values: ${problem}`,
        { expectedType: held, key: cleanKey },
      );
    }
    return { key: cleanKey, ...parseTypedValue(held, change.value, at('value')) };
  }
  if (!(VALUE_TYPES as readonly string[]).includes(change.type)) {
    throw new InvalidInputError(at('type'), `unknown type ${JSON.stringify(change.type)}; accepted: ${VALUE_TYPES.join(', ')}`);
  }
  return { key: cleanKey, ...parseTypedValue(change.type, change.value, at('value')) };
}

/**
 * A first write fixes an entry's type: a later write of another type is refused, naming the field and the type the
 * entry holds (a client that reads "expected int" knows what to send).
 */
export function checkTypeUnchanged(key: EntryKey, held: ValueType, given: ValueType, field = 'type'): void {
  if (held === given) return;
  throw new InvalidInputError(field, `${describeKey(key)} holds ${held} values (fixed by its first write); got ${given}`, {
    expectedType: held,
    key,
  });
}

export function sameValue(a: TypedValue['value'], b: TypedValue['value']): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}

/** One string per key, for maps: names may hold any character, so they are JSON-encoded, not joined. */
export function keyId(key: EntryKey): string {
  return JSON.stringify([key.object, key.modifier, key.input]);
}

/** How a key reads in a message: `"Cube" > "GeometryNodes" > "Count"`. */
export function describeKey(key: EntryKey): string {
  return `${JSON.stringify(key.object)} > ${JSON.stringify(key.modifier)} > ${JSON.stringify(key.input)}`;
}

/** Why `value` does not fit `type`, or undefined when it does. Hand-written: it runs on every write. */
function valueProblem(type: ValueType, value: unknown): string | undefined {
  switch (type) {
    case 'float':
      return isFiniteNumber(value) ? undefined : 'expected a finite number (float)';
    case 'int':
      return Number.isInteger(value) && (value as number) >= -2147483648 && (value as number) <= 2147483647
        ? undefined
        : 'expected a 32-bit integer (int)';
    case 'bool':
      return typeof value === 'boolean' ? undefined : 'expected true or false (bool)';
    case 'vector':
      return isNumberArray(value, 2, 4) ? undefined : 'expected an array of 2 to 4 numbers (vector)';
    case 'color':
      return isNumberArray(value, 3, 4) ? undefined : 'expected an array of 3 or 4 numbers (color)';
    case 'string':
      if (typeof value !== 'string') return 'expected a string (string)';
      return value.length <= MAX_STRING ? undefined : `expected at most ${MAX_STRING} characters (string)`;
    case 'object':
    case 'material':
    case 'collection':
      if (value === null) return undefined;
      return typeof value === 'string' && value.length >= 1 && value.length <= MAX_NAME
        ? undefined
        : `expected the ${type}'s name (1 to ${MAX_NAME} characters) or null (${type})`;
    default:
      return `unknown type ${JSON.stringify(type)}; accepted: ${VALUE_TYPES.join(', ')}`;
  }
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function isNumberArray(v: unknown, min: number, max: number): v is number[] {
  return Array.isArray(v) && v.length >= min && v.length <= max && v.every(isFiniteNumber);
}
