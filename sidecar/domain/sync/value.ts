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
 * This module knows nothing of JSON-RPC; its errors are `InvalidInputError`s, which the protocol layer answers with
 * -32602.
 */
import { z } from 'zod';
import { InvalidInputError } from '../../errors.js';

/** Longest object, modifier, input or data-block name accepted (Blender's own limit is lower: 63 or 255 bytes). */
const MAX_NAME = 1024;
/** Longest string value accepted: entries are kept in memory and in the journal, with their history. */
export const MAX_STRING = 65_536;

const Name = z.string().min(1).max(MAX_NAME);

export const EntryKey = z.strictObject({
  object: Name.describe('The object\'s name, e.g. "Cube".'),
  modifier: Name.describe('The Geometry Nodes modifier\'s name on that object, e.g. "GeometryNodes".'),
  input: Name.describe('The group input\'s name (not its identifier, which differs across Blender versions).'),
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

/** A change as a caller gives it: `value` is checked against `type` by `parseChange`. */
export interface ChangeInput {
  key: EntryKey;
  type: ValueType;
  value: unknown;
}

/** A checked change: a key and a value of its type. */
export type SyncChange = { key: EntryKey } & TypedValue;

/** The schema of a change on the wire (`gn.setMany`'s `changes[i]`, a journal record's changes). */
export const ChangeSchema = z
  .strictObject({ key: EntryKey, type: ValueType, value: AnyValue })
  .superRefine((change, ctx) => refineTypedValue(change, ctx));

/**
 * For a zod `superRefine` on an object holding `type` and `value`: reports a value that does not fit its type as an
 * issue on `value`, so a -32602 names the field as the client wrote it (`changes[2].value`).
 */
export function refineTypedValue(v: { type: ValueType; value: unknown }, ctx: z.RefinementCtx): void {
  const problem = valueProblem(v.type, v.value);
  if (problem) ctx.addIssue({ code: 'custom', path: ['value'], message: problem });
}

/**
 * Checks that `value` fits `type` and returns it as a `TypedValue` holding its own copy of any array.
 * Throws `InvalidInputError` naming `field` (for example `changes[2].value`) when it does not fit.
 */
export function parseTypedValue(type: ValueType, value: unknown, field = 'value'): TypedValue {
  const problem = valueProblem(type, value);
  if (problem) throw new InvalidInputError(field, problem, { expectedType: type });
  if (type === 'vector' || type === 'color') return { type, value: [...(value as number[])] };
  return { type, value } as TypedValue;
}

/** Checks a whole change; `field` is where it sits in the caller's params ('' for top level, 'changes[2]'). */
export function parseChange(change: ChangeInput, field = ''): SyncChange {
  const at = (name: string) => (field ? `${field}.${name}` : name);
  const key = EntryKey.safeParse(change.key);
  if (!key.success) {
    const issue = key.error.issues[0]!;
    const sub = issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
    throw new InvalidInputError(`${at('key')}${sub}`, issue.message);
  }
  if (!(VALUE_TYPES as readonly string[]).includes(change.type)) {
    throw new InvalidInputError(at('type'), `unknown type ${JSON.stringify(change.type)}; accepted: ${VALUE_TYPES.join(', ')}`);
  }
  const { object, modifier, input } = key.data;
  return { key: { object, modifier, input }, ...parseTypedValue(change.type, change.value, at('value')) };
}

/**
 * A first write fixes an entry's type: a later write of another type is refused, naming the field and the type the
 * entry holds (a client that reads "expected int" knows what to send).
 */
export function checkTypeUnchanged(key: EntryKey, held: ValueType, given: ValueType, field = 'type'): void {
  if (held === given) return;
  throw new InvalidInputError(
    field,
    `${describeKey(key)} holds ${held} values (fixed by its first write); got ${given}`,
    { expectedType: held, key },
  );
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
