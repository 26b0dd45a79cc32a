import { davRequest, getDAVAttribute, propfind, syncCollection, type DAVResponse } from 'tsdav';
import { TransientError } from '../errors';
import { statusVerdict, verdictError, type StatusRules } from '../kit/statuses';

// WebDAV transport for one CardDAV account, on tsdav's request builders and XML parsing. Every request goes
// through `send`, which adds Basic auth and a timeout and turns whole-request failures into typed errors
// (401 auth; 408, 429, 5xx and network failures transient, see kit/statuses.ts). Other statuses go back to the caller, which knows
// whether a 404 or 412 is an answer or a per-contact failure.
//
// No internal retry: the engine's activity retry backs off and honours retryAfterMs.
// Messages name the method and path only, never the password or a URL with user info.

const DEFAULT_TIMEOUT_MS = 30_000;
const NS = ['DAV:', 'urn:ietf:params:xml:ns:carddav'];

/** A WebDAV server's error body is text (Radicale's plain sentences, or XML): its start is the message. */
export const carddavStatusRules: StatusRules = {
  message: (body, fallback) => (typeof body === 'string' && body ? body : fallback),
  code: () => undefined,
  rejected: 'the server rejected the user name or password',
  words: {
    auth: (what, _reply, rules) => `${what}: ${rules.rejected}`,
    'rate-limited': (what, { status, statusText, body }, rules) => `${what}: ${status} ${rules.message(body, statusText)}`,
  },
};

/** tsdav hands back XML text as numbers when it looks like one, and text nodes as objects now and then. */
export function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'object') {
    const v = value as { _text?: unknown; _cdata?: unknown };
    if (v._cdata !== undefined) return text(v._cdata);
    if (v._text !== undefined) return text(v._text);
    return null;
  }
  return String(value);
}

export interface Reply {
  status: number;
  text: string;
  headers: Headers;
}

export interface Member {
  href: string;
  status: number;
  etag: string | null;
  data: string | null;
}

export interface SyncReply {
  members: Member[];
  token: string;
  truncated: boolean;
}

export class CardDavClient {
  private readonly authorization: string;

  constructor(
    username: string,
    password: string,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.authorization = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
  }

  /** The fetch tsdav calls, and ours: auth, timeout, typed whole-request failures. */
  readonly send = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init.method ?? 'GET';
    const what = `CardDAV ${method} ${url.pathname}`;
    const headers = new Headers(init.headers);
    headers.set('authorization', this.authorization);
    let response: Response;
    try {
      response = await fetch(url, { ...init, headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      const reason = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : 'network error';
      throw new TransientError(`${what} failed: ${reason}`);
    }
    // The body is read only for a failure: tsdav reads every other answer itself.
    const reply = { status: response.status, statusText: response.statusText, headers: response.headers, body: null as unknown };
    const verdict = statusVerdict(reply, what, carddavStatusRules);
    if (verdict === undefined) return response;
    if (typeof verdict !== 'string') throw verdict;
    if (verdict === 'auth') await response.body?.cancel().catch(() => undefined);
    else reply.body = (await response.text().catch(() => '')).trim().slice(0, 200);
    throw verdictError(verdict, what, reply, carddavStatusRules);
  };

  async request(url: string, init: RequestInit): Promise<Reply> {
    const response = await this.send(url, init);
    return { status: response.status, text: await response.text(), headers: response.headers };
  }

  async propfind(url: string, props: Record<string, unknown>, depth: '0' | '1'): Promise<DAVResponse[]> {
    return propfind({ url, props, depth, fetch: this.send });
  }

  /** RFC 6578 sync-collection, Depth 0, following 507 truncation until the server has sent everything. */
  async syncCollection(bookUrl: string, token: string): Promise<SyncReply | { status: number; body: string }> {
    const members: Member[] = [];
    let at = token;
    let truncated = false;
    for (let round = 0; round < 1000; round++) {
      const responses = await syncCollection({ url: bookUrl, props: { 'd:getetag': {} }, syncLevel: 1, syncToken: at, fetch: this.send });
      const first = responses[0];
      const multistatus = (first?.raw as { multistatus?: { syncToken?: unknown } } | undefined)?.multistatus;
      if (!multistatus) return { status: first?.status ?? 0, body: typeof first?.raw === 'string' ? first.raw : '' };
      const next = text(multistatus.syncToken);
      if (next === null) return { status: first.status, body: 'the server sent no sync-token' };
      let more = false;
      for (const r of responses) {
        if (!r.href) continue;
        const href = text(r.href)!;
        // The collection itself: a 507 means "truncated, ask again from the token sent"; otherwise (iCloud lists
        // the address book among its members) it is not a card.
        if (sameResource(href, bookUrl) || href.endsWith('/')) {
          if (r.status === 507) more = true;
          continue;
        }
        members.push({ href, status: memberStatus(r), etag: text(r.props?.getetag), data: null });
      }
      at = next;
      if (!more) return { members, token: at, truncated };
      truncated = true;
    }
    throw new TransientError(`CardDAV sync-collection on ${new URL(bookUrl).pathname} kept reporting truncation`);
  }

  /** addressbook-multiget of some hrefs: their ETags and cards; a missing one comes back with status 404. */
  async multiget(bookUrl: string, hrefs: string[]): Promise<Member[]> {
    if (hrefs.length === 0) return [];
    const responses = await davRequest({
      url: bookUrl,
      init: {
        method: 'REPORT',
        namespace: 'card',
        headers: { depth: '1' },
        body: {
          'addressbook-multiget': {
            _attributes: getDAVAttribute(NS as never),
            'd:prop': { 'd:getetag': {}, 'card:address-data': {} },
            'd:href': hrefs,
          },
        },
      },
      fetch: this.send,
    });
    return membersOf(responses, bookUrl);
  }

  /** addressbook-query for the cards with an EMAIL equal to `email`, case-insensitively. */
  async queryEmail(bookUrl: string, email: string): Promise<Member[]> {
    const responses = await davRequest({
      url: bookUrl,
      init: {
        method: 'REPORT',
        namespace: 'card',
        headers: { depth: '1' },
        body: {
          'addressbook-query': {
            _attributes: getDAVAttribute(NS as never),
            'd:prop': { 'd:getetag': {}, 'card:address-data': {} },
            filter: {
              'prop-filter': {
                _attributes: { name: 'EMAIL' },
                'text-match': { _attributes: { collation: 'i;unicode-casemap', 'match-type': 'equals' }, _text: email },
              },
            },
          },
        },
      },
      fetch: this.send,
    });
    return membersOf(responses, bookUrl);
  }
}

/** Two hrefs or URLs naming one resource, whatever the trailing slash and encoding. */
export function sameResource(a: string, b: string): boolean {
  const path = (s: string) => {
    const p = new URL(s, 'http://x').pathname.replace(/\/+$/, '');
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  };
  return path(a) === path(b);
}

/** A member with propstats and no status of its own is there (tsdav reports the 207 of the whole answer). */
const memberStatus = (r: DAVResponse): number => (r.status === 207 ? 200 : r.status);

/** Members of a 207 answer; a non-207 answer is returned as one member carrying its status and body. */
function membersOf(responses: DAVResponse[], bookUrl: string): Member[] {
  const first = responses[0];
  const multistatus = (first?.raw as { multistatus?: unknown } | undefined)?.multistatus;
  if (!multistatus) {
    return [{ href: '', status: first?.status ?? 0, etag: null, data: typeof first?.raw === 'string' ? first.raw : null }];
  }
  return responses.flatMap((r) => {
    const href = text(r.href);
    if (!href || sameResource(href, bookUrl) || href.endsWith('/')) return [];
    return [{ href, status: memberStatus(r), etag: text(r.props?.getetag), data: text(r.props?.addressData) }];
  });
}
