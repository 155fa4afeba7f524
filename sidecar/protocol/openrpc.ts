/**
 * The OpenRPC 1.3 document that `rpc.discover` answers with, generated from the method table so it cannot drift.
 */
import { z } from 'zod';
import { codeOf } from './error-codes.js';
import type { MethodTable, NotificationTable } from './method.js';

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-7' }) as JsonSchema;
  delete json.$schema;
  return json;
}

export interface OpenRpcInfo {
  title: string;
  version: string;
  description: string;
}

export function buildOpenRpcDocument(info: OpenRpcInfo, methods: MethodTable, notifications: NotificationTable) {
  return {
    openrpc: '1.3.2',
    info,
    methods: Object.entries(methods).map(([name, spec]) => {
      const params = schemaOf(spec.params, 'input');
      const props = (params.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((params.required as string[] | undefined) ?? []);
      return {
        name,
        summary: spec.summary,
        ...(spec.description ? { description: spec.description } : {}),
        paramStructure: 'by-name',
        params: Object.entries(props).map(([pname, pschema]) => ({
          name: pname,
          ...(typeof pschema.description === 'string' ? { description: pschema.description } : {}),
          required: required.has(pname),
          schema: pschema,
        })),
        result: { name: `${name}.result`, schema: schemaOf(spec.result, 'output') },
        ...(spec.errors?.length ? { errors: spec.errors.map((e) => ({ code: codeOf(e.kind), message: e.message })) } : {}),
        ...(spec.example !== undefined
          ? {
              examples: [
                {
                  name: `${name} example`,
                  params: Object.entries(spec.example as Record<string, unknown>).map(([n, value]) => ({ name: n, value })),
                  result: { name: `${name}.result`, value: null },
                },
              ],
            }
          : {}),
      };
    }),
    // Server-to-client notifications are not part of OpenRPC 1.3; they are described under an extension key.
    'x-notifications': Object.entries(notifications).map(([name, spec]) => ({
      name,
      summary: spec.summary,
      params: schemaOf(spec.params, 'output'),
    })),
  };
}
