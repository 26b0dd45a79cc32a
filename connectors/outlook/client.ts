import { ConfigError, TransientError } from '../errors';
import { parseRetryAfter, sendJson, withQuery, type Reply } from '../http';
import { throwOnStatus, type StatusRules } from '../kit/statuses';
import type { OAuth2Session } from '../oauth2';

// HTTP to Microsoft Graph for one mailbox. Whole-request failures become typed errors here (401 after one
// refresh: auth; 429, 5xx, network: transient, see kit/statuses.ts); every other status goes back to the caller, which knows whether
// a 404 or 400 is an answer or a per-contact failure.
//
// No internal retry: the engine's activity retry backs off and honours retryAfterMs, and a second layer here
// would multiply attempts against Outlook's per-mailbox limits and hide throttling from it.
//
// Messages name the method and path only, never a token or a full link.

export interface GraphErrorBody {
  error?: { code?: string; message?: string; innerError?: Record<string, unknown> };
}

export type { Reply } from '../http';

export interface BatchRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** relative to the API root, e.g. /me/contacts/{id} */
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface BatchResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/** Graph's JSON batching limit. */
export const MAX_BATCH = 20;
const DEFAULT_TIMEOUT_MS = 30_000;

export const graphMessage = (body: unknown, fallback: string): string =>
  (body as GraphErrorBody | null)?.error?.message || fallback;

export const graphCode = (body: unknown): string | undefined => (body as GraphErrorBody | null)?.error?.code || undefined;

export const graphStatusRules: StatusRules = {
  message: graphMessage,
  code: graphCode,
  rejected: 'Microsoft Graph rejected the access token',
  rateLimitCode: graphCode,
  words: {
    'rate-limited': (what, { statusText, body }) => `${what}: throttled (${graphMessage(body, statusText)})`,
    transient: (what, { status, statusText, body }) => `${what}: ${status} (${graphMessage(body, statusText)})`,
  },
};

const headerOf = (headers: Record<string, string> | undefined, name: string): string | undefined =>
  Object.entries(headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1];

export class GraphClient {
  readonly root: string;

  constructor(
    baseUrl: string,
    private readonly session: OAuth2Session,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.root = baseUrl.replace(/\/+$/, '');
  }

  /** Whether a link (a nextLink or deltaLink the app gave) points at this account's API, so the token may go there. */
  ownsLink(link: string): boolean {
    return link.startsWith(`${this.root}/`);
  }

  /** `target` is a path under the API root, or a full link the app gave earlier (checked with ownsLink first). */
  async call<T>(
    method: BatchRequest['method'],
    target: string,
    options: { query?: Record<string, string | number | undefined | null>; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Reply<T>> {
    const isLink = /^https?:\/\//.test(target);
    if (isLink && !this.ownsLink(target)) throw new ConfigError('a paging link points outside the configured Graph base URL');
    const url = new URL(isLink ? target : this.root + target);
    withQuery(url, options.query);
    const what = `Graph ${method} ${isLink ? url.pathname.replace(/^.*?(\/me\/)/, '$1') : target}`;
    const response = await sendJson(url, {
      method,
      headers: options.headers,
      body: options.body,
      timeoutMs: this.timeoutMs,
      what,
      fetchImpl: this.session.fetch.bind(this.session),
    });
    throwOnStatus(response, what, graphStatusRules);
    return { status: response.status, body: response.body as T, headers: response.headers };
  }

  /**
   * Up to 20 requests in one $batch. They run in sequence (each depends on the one before): Outlook serves a
   * mailbox at most 4 requests at a time, so a parallel batch of 20 would be throttled in part. A failure in a
   * sequential batch fails the requests after it with 424 without running them; those are sent again in the
   * next batch, so every request gets its own answer.
   */
  async batch(requests: BatchRequest[]): Promise<BatchResponse[]> {
    if (requests.length > MAX_BATCH) throw new Error(`a Graph batch holds at most ${MAX_BATCH} requests`);
    const answers: BatchResponse[] = new Array(requests.length);
    let todo = requests.map((_, i) => i);
    while (todo.length > 0) {
      const body = {
        requests: todo.map((index, k) => {
          const r = requests[index];
          return {
            id: String(index + 1),
            method: r.method,
            url: r.url,
            ...(k > 0 ? { dependsOn: [String(todo[k - 1] + 1)] } : {}),
            ...(r.body !== undefined || r.headers ? { headers: { ...(r.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...r.headers } } : {}),
            ...(r.body !== undefined ? { body: r.body } : {}),
          };
        }),
      };
      const reply = await this.call<{ responses?: { id: string; status: number; body?: unknown; headers?: Record<string, string> }[] }>(
        'POST',
        '/$batch',
        { body },
      );
      if (reply.status !== 200 || !Array.isArray(reply.body?.responses)) {
        throw new TransientError(`Graph POST /$batch: unexpected answer ${reply.status} (${graphMessage(reply.body, 'no responses')})`, reply.status);
      }
      const again: number[] = [];
      for (const index of todo) {
        const answer = reply.body.responses.find((r) => r.id === String(index + 1));
        if (!answer || answer.status === 424) again.push(index);
        else answers[index] = { status: answer.status, body: answer.body ?? null, headers: answer.headers ?? {} };
      }
      // A batch that ran nothing at all would loop forever: report it as the app's hiccup instead.
      if (again.length === todo.length) throw new TransientError('Graph POST /$batch: no request of the batch was run', 424);
      todo = again;
    }
    return answers;
  }
}

/** Retry-After of one batch item, in milliseconds. */
export const itemRetryAfter = (answer: BatchResponse): number | undefined => parseRetryAfter(headerOf(answer.headers, 'retry-after'));
