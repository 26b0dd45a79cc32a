import { sendJson, withQuery, type Reply } from '../http';
import { throwOnStatus, type StatusRules } from '../kit/statuses';

// HTTP to one Pipeliner space ({serviceUrl}/api/v100/rest/spaces/{spaceId}) with HTTP Basic auth by the space's
// API token and password. Whole-request failures become typed errors here (401 auth; 429, 5xx, 408 and network
// failures transient, see kit/statuses.ts); every other status goes back to the caller, which knows whether a 404, 403 or 422 is an
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

export type { Reply } from '../http';

export type QueryValue = string | number | boolean | undefined | null;

const DEFAULT_TIMEOUT_MS = 30_000;

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

export const pipelinerStatusRules: StatusRules = {
  message: pipelinerMessage,
  code: pipelinerCode,
  rejected: 'Pipeliner rejected the API token and password',
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
    const what = `Pipeliner ${method} ${path}`;
    const response = await sendJson(withQuery(new URL(this.root + path), options.query), {
      method,
      headers: { authorization: this.authorization },
      body: options.body,
      timeoutMs: this.timeoutMs,
      what,
    });
    throwOnStatus(response, what, pipelinerStatusRules);
    return { status: response.status, body: response.body as T, headers: response.headers };
  }
}
