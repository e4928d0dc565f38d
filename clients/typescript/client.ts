/**
 * The Engram TypeScript client: typed from the API's OpenAPI document (`schema.d.ts`, generated)
 * over `openapi-fetch`. `raw` is the typed fetch client for every route; the methods unwrap
 * answers and throw `EngramApiError` (with the API's error code) on failure.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './schema.js';

type Schemas = components['schemas'];
export type MemoryView = Schemas['MemoryView'];
export type MemoryVersion = Schemas['MemoryVersion'];
export type SearchHit = Schemas['SearchHit'];
export type Lesson = Schemas['Lesson'];
export type FlaggedHit = Schemas['FlaggedHit'];
export type SourceQuote = Schemas['SourceQuote'];
export type QuarantineItem = Schemas['QuarantineItem'];
export type Neighbourhood = Schemas['Neighbourhood'];
export type UserExport = Schemas['UserExport'];
export type Watermarks = Schemas['Watermarks'];
export type LogPosition = Schemas['LogPosition'];
export type ConversationEventInput = Schemas['ConversationEventInput'];
export type MemoryKind = Schemas['MemoryKind'];
export type Granularity = Schemas['Granularity'];
export type { components, paths };

/** An error answer of the API (or a transport failure, code `network`). */
export class EngramApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'EngramApiError';
  }
}

export interface EngramClientOptions {
  /** e.g. `http://127.0.0.1:8080` */
  readonly baseUrl: string;
  /** An API key (`egk_…`) from `engram keys create`. */
  readonly apiKey?: string;
  /** Another fetch (tests, proxies). */
  readonly fetch?: (input: Request) => Promise<Response>;
  /** Per-request timeout (default 30 s). */
  readonly timeoutMs?: number;
}

export interface SearchParams {
  readonly user: string;
  readonly q: string;
  readonly k?: number;
  readonly kinds?: readonly MemoryKind[];
  readonly granularities?: readonly Granularity[];
  /** World time: ISO-8601 or epoch ms. */
  readonly asOf?: string | number;
  readonly includeInvalid?: boolean;
  readonly includeArchived?: boolean;
  /** Read your own writes: the offset `publish` returned for this user. */
  readonly minOffset?: number;
  readonly waitMs?: number;
}

export type SearchAnswer = paths['/v1/search']['get']['responses'][200]['content']['application/json'];
export type MemoryAnswer = paths['/v1/users/{user}/memories/{id}']['get']['responses'][200]['content']['application/json'];
export type PublishAnswer = paths['/v1/events']['post']['responses'][202]['content']['application/json'];
export type ForgetAnswer = paths['/v1/forget']['post']['responses'][202]['content']['application/json'];

export interface ForgetRequest {
  readonly user: string;
  readonly scope: 'memory' | 'message' | 'user';
  readonly targetId?: string;
  readonly reason?: string;
  readonly requestId?: string;
}

/** What `fetch` answered: data, or an error body. */
interface Answer<T> {
  readonly data?: T;
  readonly error?: unknown;
  readonly response: Response;
}

/** The data of an answer, or an EngramApiError from its error body. */
function unwrap<T>(answer: Answer<T>): T {
  if (answer.error === undefined && answer.data !== undefined) return answer.data;
  const body = answer.error as { error?: { code?: unknown; message?: unknown } } | undefined;
  const code = typeof body?.error?.code === 'string' ? body.error.code : `http_${answer.response.status}`;
  const message = typeof body?.error?.message === 'string' ? body.error.message : answer.response.statusText || 'request failed';
  throw new EngramApiError(answer.response.status, code, message);
}

/** Runs a request, turning transport failures into EngramApiError `network`. */
async function call<T>(request: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await request;
  } catch (err) {
    throw new EngramApiError(0, 'network', err instanceof Error ? err.message : String(err));
  }
  return unwrap(answer);
}

const flag = (b: boolean | undefined): 'true' | undefined => (b ? 'true' : undefined);

/** A client for one Engram server and key. */
export function createEngramClient(opts: EngramClientOptions) {
  const baseFetch = opts.fetch ?? ((req: Request) => globalThis.fetch(req));
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const raw: Client<paths> = createClient<paths>({
    baseUrl: opts.baseUrl.replace(/\/+$/, ''),
    headers: opts.apiKey ? { Authorization: `Bearer ${opts.apiKey}` } : {},
    fetch: (req) => baseFetch(new Request(req, { signal: AbortSignal.timeout(timeoutMs) })),
  });
  const user = (u: string) => ({ path: { user: u } });

  return {
    raw,
    /** Publishes events (idempotent by eventId); the positions let a later search wait for them. */
    publish: (events: ConversationEventInput | readonly ConversationEventInput[]): Promise<PublishAnswer> =>
      call(raw.POST('/v1/events', { body: Array.isArray(events) ? { events: [...(events as ConversationEventInput[])] } : (events as ConversationEventInput) })),
    search: (p: SearchParams): Promise<SearchAnswer> =>
      call(
        raw.GET('/v1/search', {
          params: {
            query: {
              user: p.user,
              q: p.q,
              k: p.k,
              kind: p.kinds ? [...p.kinds] : undefined,
              granularity: p.granularities ? [...p.granularities] : undefined,
              asOf: p.asOf === undefined ? undefined : String(p.asOf),
              includeInvalid: flag(p.includeInvalid),
              includeArchived: flag(p.includeArchived),
              minOffset: p.minOffset,
              waitMs: p.waitMs,
            },
          },
        }),
      ),
    users: async (): Promise<readonly string[]> => (await call(raw.GET('/v1/users'))).users,
    memories: async (u: string, o: { all?: boolean } = {}): Promise<readonly MemoryView[]> =>
      (await call(raw.GET('/v1/users/{user}/memories', { params: { ...user(u), query: { all: flag(o.all) } } }))).memories,
    memory: (u: string, id: string): Promise<MemoryAnswer> => call(raw.GET('/v1/users/{user}/memories/{id}', { params: { path: { user: u, id } } })),
    profile: async (u: string): Promise<readonly MemoryView[]> => (await call(raw.GET('/v1/users/{user}/profile', { params: user(u) }))).facts,
    entity: (u: string, name: string, depth = 1): Promise<Neighbourhood> =>
      call(raw.GET('/v1/users/{user}/entities/{name}', { params: { path: { user: u, name }, query: { depth } } })),
    lessons: async (u: string): Promise<readonly Lesson[]> => (await call(raw.GET('/v1/users/{user}/lessons', { params: user(u) }))).lessons,
    exportUser: (u: string): Promise<UserExport> => call(raw.GET('/v1/users/{user}/export', { params: user(u) })),
    quarantine: async (u?: string): Promise<readonly QuarantineItem[]> => (await call(raw.GET('/v1/quarantine', { params: { query: { user: u } } }))).items,
    /** Releases a quarantined memory (admin key). */
    approve: async (id: string, u: string, reason: string): Promise<MemoryView> =>
      (await call(raw.POST('/v1/quarantine/{id}/approve', { params: { path: { id } }, body: { user: u, reason } }))).memory,
    /** Rejects a quarantined memory (admin key). */
    reject: async (id: string, u: string, reason: string): Promise<MemoryView> =>
      (await call(raw.POST('/v1/quarantine/{id}/reject', { params: { path: { id } }, body: { user: u, reason } }))).memory,
    forget: (r: ForgetRequest): Promise<ForgetAnswer> => call(raw.POST('/v1/forget', { body: { ...r } })),
    /** Processing watermarks (admin key). */
    watermarks: (): Promise<Watermarks> => call(raw.GET('/v1/watermarks')),
  };
}

/** The client `createEngramClient` returns. */
export type EngramClient = ReturnType<typeof createEngramClient>;
