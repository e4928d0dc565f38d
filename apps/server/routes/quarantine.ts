/** The quarantine review queue: list (any key of the tenant), approve and reject (admin keys). */
import type { FastifyInstance } from 'fastify';
import { scopeOf } from '../../../core/scope.js';
import { defineRoute } from '../route.js';
import { QuarantineQuery, QuarantineResponse, ReviewBody, ReviewParams, ReviewResponse } from '../schemas.js';
import { memoryView } from '../views.js';
import type { RouteContext } from './context.js';

/** Registers the quarantine routes. */
export function quarantineRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { service } = ctx;
  const tags = ['quarantine'];

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/quarantine',
      access: 'key',
      operationId: 'listQuarantine',
      summary: 'Memories held back by the guard, with reasons and sources',
      tags,
      query: QuarantineQuery,
      response: QuarantineResponse,
    },
    async ({ query, principal }) => {
      // Validates the user id (when given) the same way as everywhere else.
      const userId = query.user === undefined ? undefined : scopeOf(principal.tenantId, query.user).userId;
      return { items: await service.quarantine(principal.tenantId, userId) };
    },
    ctx,
  );

  for (const verdict of ['approve', 'reject'] as const) {
    defineRoute(
      app,
      {
        method: 'POST',
        url: `/v1/quarantine/:id/${verdict}`,
        access: 'admin',
        operationId: `${verdict}Quarantined`,
        summary: verdict === 'approve' ? 'Release a quarantined memory (admin)' : 'Reject a quarantined memory for good (admin)',
        description: 'The verdict goes through the user\'s memory workflow; the answer is the memory once the verdict is projected. 400 when the memory is not quarantined.',
        tags,
        params: ReviewParams,
        body: ReviewBody,
        response: ReviewResponse,
        errors: [404],
      },
      async ({ params, body, principal }) => {
        const state = await service.review(scopeOf(principal.tenantId, body.user), params.id, {
          approve: verdict === 'approve',
          reason: body.reason,
          reviewer: principal.keyId,
        });
        return { memory: memoryView(state) };
      },
      ctx,
    );
  }
}
