/**
 * How a method is declared: one object carries its name, description, zod schemas for params and result, and the
 * errors it may answer with. The same declaration drives validation, the typed client, `rpc.discover` and docs/rpc.md.
 */
import type { z } from 'zod';
import type { ErrorKind } from '../domain/errors.js';

/** An error a method may answer with: its kind (the code is mapped from it, see error-codes.ts) and when. */
export interface ErrorSpec {
  kind: ErrorKind;
  message: string;
}

export interface MethodSpec<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  summary: string;
  description?: string;
  /** Named parameters only: an object schema. */
  params: P;
  result: R;
  errors?: ErrorSpec[];
  /** Example params, shown in the docs and validated by the tests. */
  example?: z.input<P>;
}

export function method<P extends z.ZodType, R extends z.ZodType>(spec: MethodSpec<P, R>): MethodSpec<P, R> {
  return spec;
}

/** A server-to-client notification: a topic a client subscribes to with `events.subscribe`. */
export interface NotificationSpec<P extends z.ZodType = z.ZodType> {
  summary: string;
  params: P;
}

export function notification<P extends z.ZodType>(spec: NotificationSpec<P>): NotificationSpec<P> {
  return spec;
}

export type MethodTable = Record<string, MethodSpec>;
export type NotificationTable = Record<string, NotificationSpec>;

export type ParamsOf<T extends MethodTable, M extends keyof T> = z.input<T[M]['params']>;
export type ResultOf<T extends MethodTable, M extends keyof T> = z.output<T[M]['result']>;
export type NotificationParamsOf<T extends NotificationTable, N extends keyof T> = z.output<T[N]['params']>;

/** What the server-side implementation of each method in a table looks like. */
export type Handlers<T extends MethodTable, Ctx> = {
  [M in keyof T]: (params: z.output<T[M]['params']>, ctx: Ctx) => Promise<z.input<T[M]['result']>> | z.input<T[M]['result']>;
};
