/** Health (`/healthz`), readiness (`/readyz`) and processing watermarks (admin). */
import type { FastifyInstance } from 'fastify';
import { defineRoute } from '../route.js';
import { HealthResponse, ReadyResponse, Watermarks } from '../schemas.js';
import type { RouteContext } from './context.js';

/** Registers the operations routes. */
export function operationRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const tags = ['operations'];
  defineRoute(
    app,
    { method: 'GET', url: '/healthz', access: 'public', operationId: 'health', summary: 'The process is up', tags, response: HealthResponse },
    async () => ({ status: 'ok' as const }),
    ctx,
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/readyz',
      access: 'public',
      operationId: 'ready',
      summary: 'Every backing store answers (503 with the failing checks otherwise)',
      tags,
      response: ReadyResponse,
      responses: { 503: ReadyResponse },
    },
    async ({ reply }) => {
      const report = await ctx.service.ready();
      reply.status(report.ok ? 200 : 503);
      return { status: report.ok ? ('ready' as const) : ('not_ready' as const), checks: { ...report.checks } };
    },
    ctx,
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/watermarks',
      access: 'admin',
      operationId: 'getWatermarks',
      summary: 'How far processing has come, per partition (admin)',
      tags,
      response: Watermarks,
    },
    async () => {
      const w = await ctx.service.watermarks();
      return {
        conversationEnd: [...w.conversationEnd],
        memoryEnd: [...w.memoryEnd],
        projected: Object.fromEntries(Object.entries(w.projected).map(([k, v]) => [k, [...v]])),
      };
    },
    ctx,
  );
}
