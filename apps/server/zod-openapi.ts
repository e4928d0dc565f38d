/**
 * Zod schemas as the one source of truth of each route: the same schema validates the request
 * (a route-level Fastify validator compiler) and, converted with `z.toJSONSchema`, describes it
 * in the OpenAPI document. Schemas registered with an `id` in `api` become shared components
 * (`#/components/schemas/<id>`), so the generated client has named types.
 */
import type { FastifySchemaCompiler } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../../core/errors.js';

/** Metadata of the API's schemas: `id` makes a component, `description` documents. */
export const api = z.registry<{ id?: string; description?: string; example?: unknown }>();

/** Documents a schema (for fields: `doc(z.string(), 'user id')`). */
export function doc<T extends z.ZodType>(schema: T, description: string): T {
  // A copy: the same base schema is documented differently where it is used.
  const { id: _named, ...meta } = api.get(schema) ?? {};
  const copy = schema.clone() as T;
  (copy as z.ZodType).register(api, { ...meta, description });
  return copy;
}

/** Names a schema as a shared component of the document. */
export function component<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  (schema as z.ZodType).register(api, { id, ...(description === undefined ? {} : { description }) });
  return schema;
}

type Json = Record<string, unknown>;

/** Component id → JSON schema, filled as route schemas are converted. */
const components = new Map<string, Json>();
/** JSON schema object handed to Fastify → the zod schema it came from (for validation). */
const zodOf = new WeakMap<object, z.ZodType>();

/** Rewrites `#/$defs/X` references to `#/components/schemas/X`. */
function relink(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(relink);
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === '$ref' && typeof v === 'string' ? v.replace(/^#\/\$defs\//, '#/components/schemas/') : relink(v);
  }
  return out;
}

/**
 * The JSON schema of a zod schema (`input` for requests, `output` for responses), with its named
 * parts moved to the shared components, plus `extra` keys (a response's description).
 * Remembers the zod schema for validation and serialisation.
 */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output', extra: Json = {}): Json {
  const raw = z.toJSONSchema(schema, { io, metadata: api, unrepresentable: 'any' }) as Json;
  const { $schema: _ignored, $defs, ...rest } = raw;
  for (const [id, def] of Object.entries(($defs ?? {}) as Record<string, unknown>)) {
    const linked = relink(def) as Json;
    const known = components.get(id);
    // A component used by requests and responses must read the same both ways (no defaults or
    // transforms inside named request parts): a clash is a programming error, found at start-up.
    if (known && JSON.stringify(known) !== JSON.stringify(linked)) throw new Error(`schema component ${id} has two different shapes (${io})`);
    components.set(id, linked);
  }
  const out = { ...extra, ...(relink(rest) as Json) };
  zodOf.set(out, schema);
  return out;
}

/** Every shared component converted so far (for the document's `components.schemas`). */
export function componentSchemas(): Record<string, Json> {
  return Object.fromEntries([...components.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

type Issue = z.core.$ZodIssue;

/** Deepest path among issues (how far a union branch got before failing). */
const depthOf = (issues: readonly Issue[]): number => Math.max(0, ...issues.map((i) => i.path.length));

/**
 * Issues with unions resolved to the branch that got furthest (the one the caller meant), so a
 * batch with one bad event says which field of which event, not "Invalid input".
 */
function flatten(issues: readonly Issue[], base: readonly PropertyKey[]): { path: PropertyKey[]; message: string }[] {
  return issues.flatMap((i) => {
    const path = [...base, ...i.path];
    if (i.code === 'unrecognized_keys') return [{ path, message: `unknown field(s) ${i.keys.join(', ')}` }];
    if (i.code !== 'invalid_union' || i.errors.length === 0) return [{ path, message: i.message }];
    const ranked = [...i.errors].sort((a, b) => depthOf(b) - depthOf(a) || a.length - b.length);
    const best = ranked[0] ?? [];
    if (depthOf(best) === 0) {
      // No branch got inside the value: say what each would have wanted.
      const wanted = [...new Set(i.errors.flatMap((e) => e.map((x) => x.message)))];
      return [{ path, message: wanted.join(' or ') }];
    }
    return flatten(best, path);
  });
}

/** `query.k: Too big…; body.events.3.payload.text: Invalid input…` */
function describeIssues(part: string, error: z.ZodError): string {
  return flatten(error.issues, [])
    .map((i) => `${[part, ...i.path.map(String)].join('.')}: ${i.message}`)
    .join('; ');
}

/** Route-level validator compiler: validates (and coerces, defaults, transforms) with the zod schema. */
export const zodValidatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const zs = zodOf.get(schema as object);
  if (!zs) throw new Error(`no zod schema behind the ${httpPart ?? 'request'} schema of a zod route`);
  const part = httpPart === 'querystring' ? 'query' : (httpPart ?? 'request');
  return (data: unknown) => {
    const r = zs.safeParse(data);
    return r.success ? { value: r.data } : { error: new ValidationError(describeIssues(part, r.error)) };
  };
};

/** The zod schema behind a JSON schema made by `jsonSchemaOf`. */
export function zodSchemaOf(json: unknown): z.ZodType | undefined {
  return json !== null && typeof json === 'object' ? zodOf.get(json) : undefined;
}
