/**
 * The OpenAPI document: valid OpenAPI 3.1 (Redocly's recommended rules, as openapi-typescript
 * uses), listing every route the server has with its security and errors; the documented event
 * schema accepts the shipped example conversations; `/docs` serves the interactive docs.
 */
import test from 'ava';
import type { RouteOptions } from 'fastify';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { buildServer } from '../../apps/server/http.js';
import { ConversationEventInput } from '../../apps/server/schemas.js';
import type { MemoryService } from '../../apps/service.js';
import { exampleEvents } from '../helpers/engine.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXAMPLES_DIR } from '../../apps/cli/demo.js';

type Json = Record<string, unknown>;
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** A server over no service (the document needs only the routes) and the routes it registered. */
async function documented(): Promise<{ doc: Json; routes: RouteOptions[]; close(): Promise<void>; inject: ReturnType<typeof buildServer>['app']['inject'] }> {
  const server = buildServer({} as MemoryService, { keys: { verify: () => null } });
  const routes: RouteOptions[] = [];
  server.app.addHook('onRoute', (r) => {
    routes.push(r);
  });
  const res = await server.app.inject({ method: 'GET', url: '/openapi.json' });
  return { doc: res.json<Json>(), routes, close: () => server.app.close(), inject: server.app.inject.bind(server.app) };
}

test('the document is valid OpenAPI 3.1 (no errors under the recommended rules)', async (t) => {
  const { doc, close } = await documented();
  try {
    t.is(doc.openapi, '3.1.0');
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: 'openapi.json', config });
    const errors = problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? ''}`);
    t.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('it lists every route of the server, with its security and error answers', async (t) => {
  const { doc, routes, close } = await documented();
  try {
    const paths = doc.paths as Record<string, Record<string, Json>>;
    const listed = new Set(Object.entries(paths).flatMap(([p, item]) => Object.keys(item).filter((m) => METHODS.includes(m)).map((m) => `${m.toUpperCase()} ${p}`)));
    // Every route but the documentation's own and HEAD twins.
    const served = routes
      .flatMap((r) => (Array.isArray(r.method) ? r.method : [r.method]).map((m) => ({ method: String(m), url: r.url, hidden: (r.schema as Json | undefined)?.hide === true })))
      .filter((r) => r.method !== 'HEAD' && !r.hidden && !r.url.startsWith('/docs'))
      .map((r) => `${r.method} ${r.url.replace(/:([A-Za-z]+)/g, '{$1}')}`);
    t.true(served.length >= 16);
    t.deepEqual([...listed].sort(), [...new Set(served)].sort());

    const contract = [
      'POST /v1/events',
      'GET /v1/search',
      'GET /v1/users',
      'GET /v1/users/{user}/memories',
      'GET /v1/users/{user}/memories/{id}',
      'GET /v1/users/{user}/profile',
      'GET /v1/users/{user}/entities/{name}',
      'GET /v1/users/{user}/lessons',
      'GET /v1/users/{user}/export',
      'GET /v1/quarantine',
      'POST /v1/quarantine/{id}/approve',
      'POST /v1/quarantine/{id}/reject',
      'POST /v1/forget',
      'GET /v1/watermarks',
      'GET /healthz',
      'GET /readyz',
    ];
    for (const route of contract) t.true(listed.has(route), route);

    for (const [path, item] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(item)) {
        const responses = op.responses as Record<string, unknown>;
        const security = op.security as unknown[];
        if (path.startsWith('/v1/')) {
          t.deepEqual(security, [{ bearerAuth: [] }, { apiKeyHeader: [] }], `${method} ${path} needs a key`);
          t.truthy(responses['401'], `${method} ${path} documents 401`);
          t.truthy(responses['429'], `${method} ${path} documents 429`);
        } else {
          t.deepEqual(security, [], `${method} ${path} is public`);
        }
        t.true(typeof op.operationId === 'string' && typeof op.summary === 'string', `${method} ${path} has an id and a summary`);
      }
    }
    const schemes = (doc.components as { securitySchemes: Json }).securitySchemes;
    t.deepEqual(Object.keys(schemes).sort(), ['apiKeyHeader', 'bearerAuth']);
  } finally {
    await close();
  }
});

test('the documented event schema accepts every shipped example event', (t) => {
  const lines = readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(EXAMPLES_DIR, f), 'utf8').split('\n').filter((l) => l.trim() !== ''));
  t.true(lines.length > 0);
  t.is(lines.length, exampleEvents().length);
  for (const line of lines) {
    const r = ConversationEventInput.safeParse(JSON.parse(line));
    t.true(r.success, r.success ? '' : `${line.slice(0, 80)}: ${r.error.message}`);
  }
});

test('/docs serves the interactive documentation', async (t) => {
  const { inject, close } = await documented();
  try {
    const res = await inject({ method: 'GET', url: '/docs' });
    t.is(res.statusCode, 200);
    t.regex(res.body, /swagger-ui/i);
    t.regex(String(res.headers['content-type']), /text\/html/);
  } finally {
    await close();
  }
});
