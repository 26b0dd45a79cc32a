import { AuthError } from '../errors';
import { parseRetryAfter, sendJson, withQuery, type Reply } from '../http';
import { throwOnStatus, type StatusRules } from '../kit/statuses';
import type { OAuth2Session } from '../oauth2';

// HTTP to HubSpot's API. Whole-request failures become typed errors here: 401 (after the OAuth session's one
// refresh) and 403 for missing scopes are AuthErrors, since only a person re-authorizing can fix them; 429,
// 5xx and network failures are transient (see kit/statuses.ts). Every other status goes back to the caller, which knows whether a
// 404 is an answer and a 400 a per-contact failure.
//
// HubSpot rarely sends Retry-After. Its 429 body names the policy instead: the ten-second rolling window
// (X-HubSpot-RateLimit-Interval-Milliseconds says how long it is), the search API's one-second window, or the
// daily cap. retryAfterMs is derived from those so the engine's backoff waits long enough and no longer.
//
// Messages name the method and path only, never the token or a query string.

export interface HubSpotErrorBody {
  status?: string;
  message?: string;
  category?: string;
  correlationId?: string;
  errorType?: string;
  policyName?: string;
  errors?: { message?: string; code?: string; context?: Record<string, unknown> }[];
}

export type { Reply } from '../http';

export type HubSpotAuth = { kind: 'token'; token: string } | { kind: 'oauth'; session: OAuth2Session };

const DEFAULT_TIMEOUT_MS = 30_000;

export const hubspotMessage = (body: unknown, fallback: string): string => (body as HubSpotErrorBody | null)?.message ?? fallback;
export const hubspotCategory = (body: unknown): string | undefined => (body as HubSpotErrorBody | null)?.category;

/** Milliseconds until a 429 is worth retrying. */
export function retryAfterOf(headers: Headers, body: unknown, now = Date.now()): number {
  const retryAfter = parseRetryAfter(headers.get('retry-after'), now);
  if (retryAfter !== undefined) return Math.max(1000, retryAfter);
  const policy = (body as HubSpotErrorBody | null)?.policyName ?? '';
  if (policy === 'SECONDLY' || /secondly limit/i.test(hubspotMessage(body, ''))) return 1000;
  if (policy === 'DAILY') {
    const midnight = new Date(now);
    midnight.setUTCHours(24, 0, 0, 0);
    return midnight.getTime() - now;
  }
  const interval = Number(headers.get('x-hubspot-ratelimit-interval-milliseconds'));
  return Number.isFinite(interval) && interval > 0 ? interval : 10_000;
}

export const hubspotStatusRules: StatusRules = {
  message: hubspotMessage,
  code: hubspotCategory,
  rejected: 'HubSpot rejected the credentials',
  special({ status, body }, what) {
    if (status !== 403 || hubspotCategory(body) !== 'MISSING_SCOPES') return undefined;
    const scopes = (body as HubSpotErrorBody).errors?.flatMap((e) => (e.context?.requiredGranularScopes as string[] | undefined) ?? []) ?? [];
    return new AuthError(
      `${what}: the HubSpot app lacks a scope${scopes.length ? ` (${scopes.join(', ')})` : ''}; authorize it again with that scope`,
      status,
      'MISSING_SCOPES',
    );
  },
  wait: (verdict, reply) => (verdict === 'rate-limited' ? retryAfterOf(reply.headers, reply.body) : undefined),
  rateLimitCode: () => 'RATE_LIMIT',
};

export class HubSpotClient {
  private readonly root: string;

  constructor(
    baseUrl: string,
    private readonly auth: HubSpotAuth,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.root = baseUrl.replace(/\/+$/, '');
  }

  async call<T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    options: { query?: Record<string, string | number | boolean | undefined | null>; body?: unknown } = {},
  ): Promise<Reply<T>> {
    const what = `HubSpot ${method} ${path}`;
    const { auth } = this;
    const response = await sendJson(withQuery(new URL(this.root + path), options.query), {
      method,
      headers: auth.kind === 'token' ? { authorization: `Bearer ${auth.token}` } : {},
      body: options.body,
      timeoutMs: this.timeoutMs,
      what,
      // The session's AuthError (a 401 after its one refresh, a refused refresh) is told with the request it failed.
      fetchImpl:
        auth.kind === 'oauth'
          ? (url, init) =>
              auth.session.fetch(url, init).catch((err: unknown) => {
                throw err instanceof AuthError ? new AuthError(`${what}: ${err.message}`, err.status, err.code) : err;
              })
          : undefined,
    });
    throwOnStatus(response, what, hubspotStatusRules);
    return { status: response.status, body: response.body as T, headers: response.headers };
  }
}
