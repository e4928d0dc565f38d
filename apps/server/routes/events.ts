/** `POST /v1/events`: publish conversation events of the key's tenant (idempotent by eventId). */
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../../core/errors.js';
import type { ConversationEvent } from '../../../core/model.js';
import { parseConversationEvent } from '../../../schemas/conversation-input.js';
import { requireTenant } from '../auth.js';
import { defineRoute } from '../route.js';
import { PublishBody, PublishResponse } from '../schemas.js';
import type { RouteContext } from './context.js';

/** Registers the publish route. */
export function eventRoutes(app: FastifyInstance, ctx: RouteContext): void {
  defineRoute(
    app,
    {
      method: 'POST',
      url: '/v1/events',
      access: 'key',
      operationId: 'publishEvents',
      summary: 'Publish conversation events',
      description:
        "One event, an array, or {events: [...]}. Every event's tenantId must be the key's tenant (403 otherwise, and nothing is written). " +
        'All or nothing: one invalid event rejects the batch. Publishing an eventId again is a no-op. Returns the log positions; ' +
        'pass the largest offset as `minOffset` to a search to read your own writes.',
      tags: ['events'],
      body: PublishBody,
      status: 202,
      response: PublishResponse,
      errors: [403],
    },
    async ({ body, principal }) => {
      const items: readonly unknown[] = Array.isArray(body) ? body : 'events' in body ? body.events : [body];
      const problems: string[] = [];
      const events: ConversationEvent[] = [];
      items.forEach((item, i) => {
        try {
          events.push(parseConversationEvent(item));
        } catch (err) {
          problems.push(`events[${i}]: ${(err as Error).message}`);
        }
      });
      if (problems.length > 0) throw new ValidationError(`${problems.length} invalid event(s): ${problems.join('; ')}`);
      // Checked for the whole batch before anything is written.
      for (const e of events) requireTenant(principal, e.tenantId);
      const positions = await ctx.service.publish(events);
      ctx.kick();
      return { accepted: positions.length, positions };
    },
    ctx,
  );
}
