/**
 * Serves the memory explorer: the static page under `/ui/` and cytoscape's browser build under
 * `/ui/vendor/`. The page itself needs no key; it calls the keyed `/v1` API from the browser.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
// Brings in the `schema.hide` typing: the explorer's redirect is not part of the API document.
import type {} from '@fastify/swagger';

/** The page's own files: only these shapes are served (never plugin.ts or anything else here). */
const PAGE_FILE = /^\/(?:[\w-]+\.(?:html|js|css))?$/;
const CYTOSCAPE_FILE = 'cytoscape.esm.min.mjs';

/** Directory holding cytoscape's builds (its package.json is not exported, so go through main). */
function cytoscapeDist(): string {
  return dirname(createRequire(import.meta.url).resolve('cytoscape'));
}

/**
 * A server plugin (`ServerOptions.plugins`, or `app.register`) serving the explorer at `/ui/` and
 * redirecting `/ui` there. Its routes live in their own encapsulated context.
 */
export function uiPlugin(): (app: FastifyInstance) => Promise<void> {
  const root = dirname(fileURLToPath(import.meta.url));
  const vendor = cytoscapeDist();
  return async (app) => {
    await app.register(async (ui) => {
      // Relative URLs in index.html resolve against `/ui/`, so the bare path must redirect.
      ui.get('/ui', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/ui/'));
      await ui.register(fastifyStatic, {
        root,
        prefix: '/ui/',
        index: 'index.html',
        allowedPath: (pathName) => PAGE_FILE.test(pathName),
        // Other plugins (swagger-ui) register @fastify/static too: a second `sendFile` decorator would throw.
        decorateReply: false,
        cacheControl: false,
      });
      await ui.register(fastifyStatic, {
        root: vendor,
        prefix: '/ui/vendor/',
        decorateReply: false,
        allowedPath: (pathName) => pathName === `/${CYTOSCAPE_FILE}`,
        maxAge: '1d',
      });
    });
  };
}
