import { AuthError, TransientError } from '../errors';

// HTTP to one Pipeliner space ({serviceUrl}/api/v100/rest/spaces/{spaceId}) with HTTP Basic auth by the space's
// API token and password. Whole-request failures become typed errors here (401 auth; 429, 5xx, 408 and network
// failures transient); every other status goes back to the caller, which knows whether a 404, 403 or 422 is an
// answer, a per-contact failure or a misconfiguration.
//
// No retry here: the engine's activity retry backs off and honours retryAfterMs; a second layer would multiply
// attempts and hide throttling from it. Messages name the method and path only, never the credentials.

/** Pipeliner's error body: `{ code, name, message, http_status, success: false, field_errors? }`. */
export interface PipelinerErrorBody {
  code?: number;
  name?: string;
  message?: string;
  field_errors?: { field_name?: string; errors?: { message?: string }[] }[];
  /** the shape of the server's own 404 for an unknown URL */
  status?: number;
}

export interface Reply<T> {
  status: number;
  body: T;
  headers: Headers;
}

export type QueryValue = string | number | boolean | undefined | null;

const DEFAULT_TIMEOUT_MS = 30_000;

/** Retry-After is seconds or an HTTP date; both become milliseconds from now. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Pipeliner's message on one line: validation messages come as several lines, each starting with "\n". */
export function pipelinerMessage(body: unknown, fallback: string): string {
  const message = (body as PipelinerErrorBody | null)?.message;
  if (typeof message !== 'string' || message.trim() === '') return fallback;
  return message
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ');
}

export const pipelinerCode = (body: unknown): string | undefined => {
  const name = (body as PipelinerErrorBody | null)?.name;
  return typeof name === 'string' ? name : undefined;
};

export class PipelinerClient {
  private readonly root: string;
  private readonly authorization: string;

  constructor(
    serviceUrl: string,
    spaceId: string,
    apiToken: string,
    apiPassword: string,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.root = `${serviceUrl.replace(/\/+$/, '')}/api/v100/rest/spaces/${encodeURIComponent(spaceId)}`;
    this.authorization = `Basic ${Buffer.from(`${apiToken}:${apiPassword}`).toString('base64')}`;
  }

  async call<T>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    options: { query?: Record<string, QueryValue>; body?: unknown } = {},
  ): Promise<Reply<T>> {
    const url = new URL(this.root + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    }
    const what = `Pipeliner ${method} ${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: this.authorization,
          accept: 'application/json',
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const reason = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : 'network error';
      throw new TransientError(`${what} failed: ${reason}`);
    }

    const text = await response.text().catch(() => '');
    let body: unknown = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        if (response.ok) throw new TransientError(`${what} returned a body that is not JSON`, response.status);
      }
    }
    const { status } = response;
    if (status === 401) {
      throw new AuthError(`${what}: Pipeliner rejected the API token and password (${pipelinerMessage(body, 'unauthorized')})`, status, pipelinerCode(body));
    }
    if (status === 429) {
      throw new TransientError(
        `${what}: rate limited (${pipelinerMessage(body, 'too many requests')})`,
        status,
        parseRetryAfter(response.headers.get('retry-after')),
        pipelinerCode(body) ?? 'rate_limited',
      );
    }
    if (status >= 500 || status === 408) {
      throw new TransientError(
        `${what}: ${status} ${pipelinerMessage(body, response.statusText)}`,
        status,
        parseRetryAfter(response.headers.get('retry-after')),
        pipelinerCode(body),
      );
    }
    return { status, body: body as T, headers: response.headers };
  }
}
