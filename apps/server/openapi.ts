/**
 * The OpenAPI 3.1 document (`/openapi.json`) and interactive docs (`/docs`). The document is built
 * from the routes' own schemas (@fastify/swagger), so it lists every route, plugins' included.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { componentSchemas } from './zod-openapi.js';

/** The API's version, in the document (paths carry the major version: `/v1`). */
export const API_VERSION = '1.0.0';

const TAGS = [
  { name: 'events', description: 'Publish conversation events.' },
  { name: 'search', description: 'Search memories.' },
  { name: 'users', description: "A user's memories, profile, entity graph, lessons and export." },
  { name: 'quarantine', description: 'Memories held back by the guard, and their review.' },
  { name: 'forget', description: 'Erasure.' },
  { name: 'operations', description: 'Health, readiness, watermarks.' },
];

/** Registers the document generator, `/openapi.json` and `/docs` (call before any route). */
export function registerOpenApi(app: FastifyInstance): void {
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Engram API',
        version: API_VERSION,
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
        description:
          'Event-sourced memory for AI agents. Every `/v1` route needs an API key (`Authorization: Bearer <key>` or `x-api-key`), ' +
          "created with `engram keys create --tenant <id>`; the key's tenant scopes every request. " +
          'Errors are `{ "error": { "code", "message" } }`.',
      },
      // Relative: the document describes the server that serves it.
      servers: [{ url: '/', description: 'this server' }],
      tags: TAGS,
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An Engram API key (egk_…).' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        },
      },
    },
    // Named schemas are collected while routes register; they join the document when it is built.
    transformObject: (doc) => {
      const openapi = (doc as { openapiObject: Record<string, unknown> }).openapiObject;
      const components = (openapi.components ?? {}) as Record<string, unknown>;
      return { ...openapi, components: { ...components, schemas: { ...(components.schemas as object | undefined), ...componentSchemas() } } };
    },
  });
  app.register(swaggerUi, { routePrefix: '/docs' });
  app.register(async (scope) => {
    scope.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  });
}
