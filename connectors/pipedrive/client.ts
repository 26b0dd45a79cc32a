import { parseRetryAfter, sendJson, type Reply } from '../http';
import { throwOnStatus, type StatusRules } from '../kit/statuses';
import type { OAuth2Session } from '../oauth2';

// HTTP to Pipedrive. Whole-request failures become typed errors here (401 auth; 429, 5xx and network failures
// transient, see kit/statuses.ts); every other status goes back to the caller, which knows whether a 400, 403 or 404 is an answer,
// a per-contact failure or a configuration problem.
//
// No retry here: the engine's activity retry backs off and honours retryAfterMs (see connectors/http.ts).
// Messages name the method and path only, never the token or the query (v1 clients may put api_token there).

export interface PipedriveErrorBody {
  success?: false;
  error?: string;
  error_info?: string;
  errorCode?: number | string;
}

export type { Reply } from '../http';

export type PipedriveAuth = { kind: 'token'; apiToken: string } | { kind: 'oauth'; session: OAuth2Session };

const DEFAULT_TIMEOUT_MS = 30_000;

/** When a 429 may be retried: Retry-After when sent, otherwise the burst window's x-ratelimit-reset (seconds). */
export function retryAfterOf(headers: Headers): number | undefined {
  const retryAfter = parseRetryAfter(headers.get('retry-after'));
  if (retryAfter !== undefined) return retryAfter;
  const reset = Number(headers.get('x-ratelimit-reset'));
  return headers.get('x-ratelimit-reset') !== null && Number.isFinite(reset) && reset >= 0 ? Math.max(1000, reset * 1000) : undefined;
}

export const appMessage = (body: unknown, fallback: string): string => {
  const error = (body as PipedriveErrorBody | null)?.error;
  return typeof error === 'string' && error.trim() ? error : fallback;
};

export const appCode = (body: unknown): string | undefined => {
  const code = (body as PipedriveErrorBody | null)?.errorCode;
  return code === undefined || code === null ? undefined : String(code);
};

export const pipedriveStatusRules: StatusRules = {
  message: appMessage,
  code: appCode,
  rejected: 'Pipedrive rejected the credentials',
  wait: (verdict, reply) => (verdict === 'rate-limited' ? retryAfterOf(reply.headers) : parseRetryAfter(reply.headers.get('retry-after'))),
  rateLimitCode: () => 'rate_limited',
};

export class PipedriveClient {
  private readonly root: string;

  constructor(
    baseUrl: string,
    private readonly auth: PipedriveAuth,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.root = baseUrl.replace(/\/+$/, '');
  }

  async call<T>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    options: { query?: Record<string, string | number | undefined | null>; body?: unknown } = {},
  ): Promise<Reply<T>> {
    const url = new URL(this.root + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, String(value));
    }
    const what = `Pipedrive ${method} ${path}`;
    const response = await sendJson(url, {
      method,
      headers: this.auth.kind === 'token' ? { 'x-api-token': this.auth.apiToken } : {},
      body: options.body,
      timeoutMs: this.timeoutMs,
      what,
      fetchImpl: this.auth.kind === 'oauth' ? this.auth.session.fetch.bind(this.auth.session) : undefined,
    });
    throwOnStatus(response, what, pipedriveStatusRules);
    return { status: response.status, body: response.body as T, headers: response.headers };
  }
}
