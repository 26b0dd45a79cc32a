import { ConnectorError, TransientError } from './errors';

// The one JSON-over-HTTP exchange every REST connector makes: send with a timeout, turn a network failure or a
// timeout into TransientError, read the body and parse it as JSON (a 2xx whose body is not JSON is the app's
// hiccup: TransientError). What a status means (401, 403, 429, 5xx) is read from what this returns by
// kit/statuses.ts, with each app's own rules.
//
// No retry here: the engine's activity retry backs off and honours retryAfterMs; a second layer would multiply
// attempts and hide throttling from it. Messages carry only `what` (method and path), never a token or a URL.

/** What a client hands its connector: the status that was not a whole-request failure, and the parsed body. */
export interface Reply<T> {
  status: number;
  body: T;
  headers: Headers;
}

export interface JsonReply {
  status: number;
  statusText: string;
  /** the parsed JSON body, or null when there is none (or a non-2xx body is not JSON) */
  body: unknown;
  headers: Headers;
}

/** A fetch-like function: global fetch, or an OAuth2Session's fetch that adds and refreshes the bearer token. */
export type FetchImpl = (url: string, init: RequestInit) => Promise<Response>;

export interface SendJsonOptions {
  method: string;
  headers?: Record<string, string>;
  /** serialised as JSON when defined (and content-type set to application/json) */
  body?: unknown;
  timeoutMs: number;
  /** names the request in messages, e.g. "Sandbox GET /contacts" */
  what: string;
  fetchImpl?: FetchImpl;
}

const globalFetch: FetchImpl = (url, init) => fetch(url, init);

export async function sendJson(url: URL | string, options: SendJsonOptions): Promise<JsonReply> {
  const { method, body, timeoutMs, what, fetchImpl = globalFetch } = options;
  let response: Response;
  try {
    response = await fetchImpl(url.toString(), {
      method,
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    // An OAuth session's own verdicts (a refused refresh, an unreachable token endpoint) already carry their kind.
    if (err instanceof ConnectorError) throw err;
    const reason = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'network error';
    throw new TransientError(`${what} failed: ${reason}`);
  }

  const text = await response.text().catch(() => '');
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      if (response.ok) throw new TransientError(`${what} returned a body that is not JSON`, response.status);
    }
  }
  return { status: response.status, statusText: response.statusText, body: parsed, headers: response.headers };
}

/** Retry-After is seconds or an HTTP date; both become milliseconds from now. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Sets the query parameters that have a value (undefined and null are left out). */
export function withQuery(url: URL, query: Record<string, string | number | boolean | undefined | null> | undefined): URL {
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
  }
  return url;
}
