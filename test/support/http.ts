/** A small HTTP client for tests: JSON in, status + headers + parsed body out. */
export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface Api {
  readonly baseUrl: string;
  /** The token this client sends (null: none). */
  readonly token: string | null;
  /** The same API, called with another token (null: without one). */
  as(token: string | null): Api;
  get<T = Record<string, unknown>>(path: string): Promise<ApiResponse<T>>;
  post<T = Record<string, unknown>>(path: string, body?: unknown): Promise<ApiResponse<T>>;
  /**
   * Sends exactly these bytes and headers (malformed JSON, wrong content types), plus
   * the client's token unless `headers` has an `authorization` of its own.
   */
  raw<T = Record<string, unknown>>(method: string, path: string, init: { body?: string; headers?: Record<string, string> }): Promise<ApiResponse<T>>;
}

export function apiClient(baseUrl: string, token: string | null = null): Api {
  const send = async <T>(method: string, path: string, init: { body?: string; headers?: Record<string, string> }) => {
    const given = init.headers ?? {};
    const hasOwn = Object.keys(given).some((name) => name.toLowerCase() === 'authorization');
    const headers = token === null || hasOwn ? given : { authorization: `Bearer ${token}`, ...given };
    const response = await fetch(`${baseUrl}${path}`, { method, body: init.body, headers });
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined; // not JSON: the test reads `text`
    }
    return { status: response.status, headers: response.headers, body: body as T, text };
  };
  return {
    baseUrl,
    token,
    as: (other) => apiClient(baseUrl, other),
    get: (path) => send('GET', path, {}),
    post: (path, body) => send('POST', path, body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    raw: (method, path, init) => send(method, path, init),
  };
}
