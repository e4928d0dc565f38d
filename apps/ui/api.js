// The explorer's calls to the Engram HTTP API (same origin). Every call carries the API key as a
// bearer token; errors arrive as `{ error: { code, message } }` and are thrown as ApiError.

/** An error answer of the API, with its HTTP status and error code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Builds the API client; `getKey` is read on every call so a new key takes effect at once. */
export function createApi(getKey) {
  async function call(method, path, body) {
    const headers = { authorization: `Bearer ${getKey()}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      const err = data && data.error ? data.error : { code: `http_${res.status}`, message: res.statusText };
      throw new ApiError(res.status, err.code, err.message);
    }
    return data;
  }
  const u = (user) => `/v1/users/${encodeURIComponent(user)}`;
  return {
    users: async () => (await call('GET', '/v1/users')).users,
    memories: async (user) => (await call('GET', `${u(user)}/memories?all=true`)).memories,
    memory: (user, id) => call('GET', `${u(user)}/memories/${encodeURIComponent(id)}`),
    neighbourhood: (user, entity, depth = 1) => call('GET', `${u(user)}/entities/${encodeURIComponent(entity)}?depth=${depth}`),
    quarantine: async (user) => (await call('GET', `/v1/quarantine${user ? `?user=${encodeURIComponent(user)}` : ''}`)).items,
    review: (id, user, approve, reason) =>
      call('POST', `/v1/quarantine/${encodeURIComponent(id)}/${approve ? 'approve' : 'reject'}`, { user, reason }),
  };
}
