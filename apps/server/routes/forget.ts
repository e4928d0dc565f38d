/**
 * `POST /v1/forget`: asks the pipeline to erase a memory, everything from a message, or a whole
 * user, by publishing a `ForgetRequested` event with an id derived from the request (a retried
 * request is the same event, so it is processed once).
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ConversationEvent } from '../../../core/model.js';
import { scopeOf } from '../../../core/scope.js';
import { defineRoute } from '../route.js';
import { ForgetBody, ForgetResponse } from '../schemas.js';
import type { RouteContext } from './context.js';

/** The event id of a forget request: the same request always makes the same event. */
export function forgetEventId(tenantId: string, userId: string, scope: string, targetId: string | null, requestId: string | null): string {
  const digest = createHash('sha256').update(JSON.stringify([tenantId, userId, scope, targetId, requestId])).digest('hex');
  return `forget-${digest.slice(0, 40)}`;
}

/** Registers the forget route. */
export function forgetRoutes(app: FastifyInstance, ctx: RouteContext): void {
  defineRoute(
    app,
    {
      method: 'POST',
      url: '/v1/forget',
      access: 'key',
      operationId: 'forget',
      summary: 'Forget a memory, a message or a user',
      description:
        'Publishes a ForgetRequested event; erasure happens in the pipeline (poll with minOffset to wait for it). ' +
        'A memory must exist for the user (404 otherwise). The event id derives from the request: send a new requestId to repeat a request.',
      tags: ['forget'],
      body: ForgetBody,
      status: 202,
      response: ForgetResponse,
      errors: [404],
    },
    async ({ body, principal }) => {
      const scope = scopeOf(principal.tenantId, body.user);
      const targetId = body.scope === 'user' ? null : (body.targetId ?? null);
      // Throws not_found for a memory this user does not have (another tenant's ids included).
      if (body.scope === 'memory' && targetId !== null) await ctx.service.memory(scope, targetId);
      const eventId = forgetEventId(scope.tenantId, scope.userId, body.scope, targetId, body.requestId ?? null);
      const event: ConversationEvent = {
        eventId,
        tenantId: scope.tenantId,
        userId: scope.userId,
        conversationId: 'api',
        sessionId: 'api',
        occurredAt: ctx.clock.now(),
        payload: { type: 'ForgetRequested', scope: body.scope, targetId, reason: body.reason ?? null },
      };
      const positions = await ctx.service.publish([event]);
      ctx.kick();
      return { eventId, positions };
    },
    ctx,
  );
}
