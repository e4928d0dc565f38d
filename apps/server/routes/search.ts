/** `GET /v1/search`: hybrid search over one user's memories, with the read-time guard's findings. */
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../../core/errors.js';
import { scopeOf } from '../../../core/scope.js';
import { waitForOffset } from '../read-your-writes.js';
import { defineRoute } from '../route.js';
import { SearchQuery, SearchResponse } from '../schemas.js';
import type { RouteContext } from './context.js';

/** ISO-8601 or epoch milliseconds. */
function parseAsOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(t)) throw new ValidationError('query.asOf: not an ISO-8601 time or epoch milliseconds');
  return t;
}

/** Registers the search route. */
export function searchRoutes(app: FastifyInstance, ctx: RouteContext): void {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/search',
      access: 'key',
      operationId: 'search',
      summary: "Search a user's memories",
      description:
        'Hybrid search (dense + BM25) with as-of filters. `lessons` are the lessons about attacks that touch the results; `flagged` are retrieved ' +
        'memories the read-time guard held back. With `minOffset`, waits up to `waitMs` for the write path to catch up first.',
      tags: ['search'],
      query: SearchQuery,
      response: SearchResponse,
    },
    async ({ query, principal }) => {
      const scope = scopeOf(principal.tenantId, query.user);
      const asOf = parseAsOf(query.asOf);
      const caughtUp = query.minOffset === undefined ? undefined : await waitForOffset(ctx, scope, query.minOffset, query.waitMs);
      const r = await ctx.service.searchResult(scope, query.q, {
        k: query.k,
        asOf,
        includeInvalid: query.includeInvalid,
        includeArchived: query.includeArchived,
        kinds: query.kind,
        granularities: query.granularity,
      });
      return { results: r.hits, lessons: r.lessons, flagged: r.flagged, ...(caughtUp === undefined ? {} : { caughtUp }) };
    },
    ctx,
  );
}
