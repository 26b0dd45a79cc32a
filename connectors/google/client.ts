import { AuthError } from '../errors';
import { sendJson } from '../http';
import { throwOnStatus, type StatusRules } from '../kit/statuses';
import type { OAuth2Session } from '../oauth2';

// HTTP to the People API through an OAuth2 session (which refreshes the access token on expiry and on a 401,
// and turns a refused refresh into AuthError). Whole-request failures become typed errors here: 429, 5xx and
// network failures are transient (see kit/statuses.ts), a 403 that names a rate limit is one too, and a token
// without the contacts scope is an auth failure. Every other status
// goes back to the caller, which knows whether a 400 is a stale etag, an expired sync token or a bad value.
//
// No retry here: the engine's activity retry backs off and honours retryAfterMs (see connectors/http.ts).
// Messages name the method and path only, never the token or the full URL.

export interface GoogleErrorBody {
  error?: {
    code?: number;
    message?: string;
    status?: string;
    details?: { '@type'?: string; reason?: string; fieldViolations?: { field?: string; description?: string }[] }[];
  };
}

export interface Reply<T> {
  status: number;
  body: T;
}

type Query = Record<string, string | number | boolean | string[] | undefined | null>;

const DEFAULT_TIMEOUT_MS = 30_000;

export const googleStatus = (body: unknown): string | undefined => (body as GoogleErrorBody | null)?.error?.status;

export const googleReason = (body: unknown): string | undefined =>
  (body as GoogleErrorBody | null)?.error?.details?.find((d) => typeof d.reason === 'string')?.reason;

/** Google's message, with the field violations it lists (a generic "invalid argument" says little alone). */
export function googleMessage(body: unknown, fallback: string): string {
  const error = (body as GoogleErrorBody | null)?.error;
  const message = error?.message ?? fallback;
  const violations = (error?.details ?? [])
    .flatMap((d) => d.fieldViolations ?? [])
    .map((v) => [v.field, v.description].filter(Boolean).join(': '))
    .filter((v) => v && !message.includes(v));
  return violations.length ? `${message} (${violations.join('; ')})` : message;
}

/** The field a validation error names, as the People API spells it (e.g. person.birthdays[0].date). */
export const googleField = (body: unknown): string | undefined =>
  (body as GoogleErrorBody | null)?.error?.details?.flatMap((d) => d.fieldViolations ?? []).find((v) => v.field)?.field;

export const googleStatusRules: StatusRules = {
  message: googleMessage,
  code: googleStatus,
  special({ status, body }, what) {
    if (status !== 403) return undefined;
    const reason = googleReason(body);
    if (reason === 'RATE_LIMIT_EXCEEDED' || reason === 'rateLimitExceeded') return 'rate-limited';
    if (reason === 'ACCESS_TOKEN_SCOPE_INSUFFICIENT') {
      return new AuthError(`${what}: the authorization lacks the contacts scope; authorize Rapport again`, status, reason);
    }
    return undefined;
  },
  rateLimitCode: (body) => googleReason(body) ?? googleStatus(body),
  unexpectedWords: (what, { status, body }) => `${what}: Google answered ${status} (${googleMessage(body, 'unexpected status')})`,
  words: { 'rate-limited': (what, { body }) => `${what}: quota exceeded (${googleMessage(body, 'too many requests')})` },
};

export class GoogleClient {
  private readonly root: string;

  constructor(
    private readonly session: OAuth2Session,
    baseUrl: string,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.root = `${baseUrl.replace(/\/+$/, '')}/v1`;
  }

  async call<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, options: { query?: Query; body?: unknown } = {}): Promise<Reply<T>> {
    const url = new URL(this.root + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value === undefined || value === null) continue;
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(v));
    }
    const what = `Google ${method} ${path}`;
    const response = await sendJson(url, {
      method,
      body: options.body,
      timeoutMs: this.timeoutMs,
      what,
      fetchImpl: this.session.fetch.bind(this.session),
    });
    throwOnStatus(response, what, googleStatusRules);
    return { status: response.status, body: response.body as T };
  }
}
