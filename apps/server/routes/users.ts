/**
 * The read side of one user, always within the key's tenant: users, memories, one memory with its
 * quoted sources and history, profile, entity neighbourhood, lessons, and the full export.
 */
import type { FastifyInstance } from 'fastify';
import { scopeOf } from '../../../core/scope.js';
import { defineRoute } from '../route.js';
import {
  DepthQuery,
  EntityParams,
  LessonsResponse,
  MemoriesQuery,
  MemoriesResponse,
  MemoryParams,
  MemoryResponse,
  Neighbourhood,
  ProfileResponse,
  UserExport,
  UserParams,
  UsersResponse,
} from '../schemas.js';
import { exportView, memoryView } from '../views.js';
import type { RouteContext } from './context.js';

/** Kinds that make up a user's profile. */
const PROFILE_KINDS = new Set(['fact', 'preference']);

/** Registers the user routes. */
export function userRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { service } = ctx;
  const tags = ['users'];

  defineRoute(
    app,
    { method: 'GET', url: '/v1/users', access: 'key', operationId: 'listUsers', summary: "The key's tenant's users with memories", tags, response: UsersResponse },
    async ({ principal }) => ({ users: await service.users(principal.tenantId) }),
    ctx,
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/users/:user/memories',
      access: 'key',
      operationId: 'listMemories',
      summary: "A user's memories (active ones unless all=true)",
      tags,
      params: UserParams,
      query: MemoriesQuery,
      response: MemoriesResponse,
    },
    async ({ params, query, principal }) => {
      const states = await service.memories(scopeOf(principal.tenantId, params.user), query.all);
      return { memories: states.map(memoryView) };
    },
    ctx,
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/users/:user/memories/:id',
      access: 'key',
      operationId: 'getMemory',
      summary: 'One memory with its source messages quoted and its version history',
      tags,
      params: MemoryParams,
      response: MemoryResponse,
      errors: [404],
    },
    async ({ params, principal }) => {
      const scope = scopeOf(principal.tenantId, params.user);
      const detail = await service.memory(scope, params.id);
      const sources = await service.sourceQuotes(scope, detail.state.memory.sources);
      return { memory: memoryView(detail.state), sources, history: [...detail.history] };
    },
    ctx,
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/users/:user/profile',
      access: 'key',
      operationId: 'getProfile',
      summary: "A user's current facts and preferences",
      tags,
      params: UserParams,
      response: ProfileResponse,
    },
    async ({ params, principal }) => {
      const states = await service.memories(scopeOf(principal.tenantId, params.user), false);
      return { facts: states.filter((s) => PROFILE_KINDS.has(s.memory.kind)).map(memoryView) };
    },
    ctx,
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/users/:user/entities/:name',
      access: 'key',
      operationId: 'getEntity',
      summary: 'The neighbourhood of an entity in the memory graph',
      tags,
      params: EntityParams,
      query: DepthQuery,
      response: Neighbourhood,
    },
    async ({ params, query, principal }) => {
      const n = await service.neighbourhood(scopeOf(principal.tenantId, params.user), params.name, query.depth);
      return { nodes: [...n.nodes], edges: [...n.edges] };
    },
    ctx,
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/users/:user/lessons',
      access: 'key',
      operationId: 'listLessons',
      summary: 'Lessons distilled from attacks on this user\'s memory',
      tags,
      params: UserParams,
      response: LessonsResponse,
    },
    async ({ params, principal }) => ({ lessons: await service.lessons(scopeOf(principal.tenantId, params.user)) }),
    ctx,
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/v1/users/:user/export',
      access: 'key',
      operationId: 'exportUser',
      summary: 'Everything held about a user, as JSON (right of access)',
      description: 'Every memory (every status but erased) with its full state and history, and the lessons. Embeddings are left out.',
      tags,
      params: UserParams,
      response: UserExport,
    },
    async ({ params, principal }) => exportView(await service.exportUser(scopeOf(principal.tenantId, params.user))),
    ctx,
  );
}
