import { sendJson, withQuery, type Reply } from '../http';
import { throwOnStatus, type StatusRules } from '../kit/statuses';

// HTTP to one Sandbox instance. Whole-request failures become typed errors here (401 auth, 429 and 5xx and
// network failures transient, see kit/statuses.ts); every other status goes back to the caller, which knows
// whether a 404 or 422 is an answer or a per-contact failure.
//
// No internal retry, not even for a short Retry-After: the engine's activity retry already backs off and
// honours retryAfterMs, and a second retry layer here would multiply attempts and hide throttling from it.
//
// Messages name the method and path only: the token travels in a header and the base URL could carry user
// info, so neither ever reaches an error message or a log.

export interface AppErrorBody {
  error?: { code?: string; message?: string; field?: string };
}

export type { Reply } from '../http';

const DEFAULT_TIMEOUT_MS = 30_000;

export const appMessage = (body: unknown, fallback: string): string =>
  (body as AppErrorBody | null)?.error?.message ?? fallback;

export const appCode = (body: unknown): string | undefined => (body as AppErrorBody | null)?.error?.code;

export const sandboxStatusRules: StatusRules = { message: appMessage, code: appCode, rejected: 'the Sandbox rejected the API token' };

export class SandboxClient {
  private readonly root: string;

  constructor(
    baseUrl: string,
    instance: string,
    private readonly token: string,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.root = `${baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(instance)}/v1`;
  }

  async call<T>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    options: { query?: Record<string, string | number | undefined | null>; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Reply<T>> {
    const what = `Sandbox ${method} ${path}`;
    const response = await sendJson(withQuery(new URL(this.root + path), options.query), {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...options.headers },
      body: options.body,
      timeoutMs: this.timeoutMs,
      what,
    });
    throwOnStatus(response, what, sandboxStatusRules);
    return { status: response.status, body: response.body as T, headers: response.headers };
  }
}
