import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { FaultQueue } from '../kit/faults';
import { gate } from '../kit/gate';
import { listen } from '../kit/listen';
import { InFlight } from '../kit/rate-limit';
import { TokenService, type IssuedTokens, type OAuthClientConfig } from '../kit/oauth';
import { GraphError, Mailbox, etagOf, notFound, type ContactInput, type MailboxConfig, type StoredContact } from './store';

// A local stand-in for Microsoft Graph's Outlook contacts API (v1.0): the paths, JSON shapes, paging links,
// delta rounds with @removed tombstones and expiring tokens (410 SyncStateNotFound), JSON batching with
// dependsOn and 424, If-Match with 412 ErrorIrresolvableConflict, Graph's error bodies, throttling with 429 and
// Retry-After, and the Microsoft identity platform's token endpoint (refresh_token grant) for any tenant.
//
// Every request is answered by one dispatcher, so a $batch item behaves exactly like the same request on its own.

export interface GraphSandboxOptions {
  port?: number;
  host?: '127.0.0.1' | string;
  /** OAuth clients the token endpoint knows; one demo client by default. */
  clients?: OAuthClientConfig[];
  accessTtlSeconds?: number;
  /** Mailboxes that exist from the start (more are made on first use). */
  mailboxes?: string[];
  /** Requests one mailbox may have in flight at once; Outlook's limit is 4, beyond which it answers 429. */
  maxConcurrentPerMailbox?: number;
}

export interface FaultSpec {
  status: number;
  retryAfterSeconds?: number;
  code?: string;
  message?: string;
}

export interface GraphSandbox {
  /** Root of the server: the token endpoint is under it, Graph under /v1.0. */
  url: string;
  /** What a connector's baseUrl should be: the stand-in for https://graph.microsoft.com/v1.0. */
  graphUrl: string;
  /** The token endpoint of the "common" tenant (any tenant name works). */
  tokenUrl: string;
  /** The default OAuth client. */
  client: OAuthClientConfig;
  tokens: TokenService;
  /** The mailbox of that user, created on first use. */
  mailbox(name: string): Mailbox;
  /** A user's consent: tokens for the mailbox. */
  grant(mailbox: string, clientId?: string): IssuedTokens;
  expireAccessTokens(mailbox?: string): void;
  revoke(refreshToken: string): void;
  /** Makes every delta token of the mailbox unknown, as Exchange's sync-state cache does after a while. */
  expireDeltaTokens(mailbox: string): void;
  /** The mailbox's next API requests (batch items count one by one) fail with this status. */
  failNext(mailbox: string, fault: FaultSpec, count?: number): void;
  configure(mailbox: string, config: Partial<MailboxConfig>): void;
  /** API requests served per mailbox (batch items count one by one). */
  requestCount(mailbox: string): number;
  /** HTTP requests of the mailbox being served right now. */
  inFlight(mailbox: string): number;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const DEFAULT_CLIENT: OAuthClientConfig = { clientId: 'rapport-outlook-demo', clientSecret: 'outlook-demo-secret' };
const MAX_BATCH = 20;
const MAX_TOP = 1000;
const DEFAULT_TOP = 10;
const MAX_DELTA_PAGE = 200;
const DEFAULT_DELTA_PAGE = 100;
const CODES: Record<number, string> = { 429: 'ApplicationThrottled', 500: 'InternalServerError', 502: 'BadGateway', 503: 'ServiceUnavailable', 504: 'GatewayTimeout' };

function errorBody(code: string, message: string) {
  return { error: { code, message, innerError: { date: new Date().toISOString().slice(0, 19), 'request-id': randomUUID(), 'client-request-id': randomUUID() } } };
}
const fail = (err: GraphError): Answer => ({ status: err.status, body: errorBody(err.code, err.message), headers: err.headers });

interface DeltaToken {
  /** mailbox epoch */
  e: number;
  /** folder id */
  f: string;
  /** initial round (all contacts, keyset by id) or changes since `from` */
  m: 'i' | 's';
  from: number;
  upto: number;
  after?: string;
  off?: number;
}

const encodeToken = (t: DeltaToken) => Buffer.from(JSON.stringify(t)).toString('base64url');
function decodeToken(raw: string): DeltaToken | null {
  try {
    const t = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as DeltaToken;
    return typeof t.e === 'number' && typeof t.f === 'string' && (t.m === 'i' || t.m === 's') ? t : null;
  } catch {
    return null;
  }
}

/**
 * The OData system query options each kind of request takes: a listing the ones of
 * https://learn.microsoft.com/en-us/graph/api/user-list-contacts (via https://learn.microsoft.com/en-us/graph/query-parameters),
 * a single item $select and $expand, a delta round $select and its own state tokens
 * (https://learn.microsoft.com/en-us/graph/api/contact-delta; page size goes in the Prefer header, not $top).
 * Options without a "$" are OData custom query options, which Graph ignores, and so does the sandbox.
 */
const LIST_OPTIONS = ['$top', '$skip', '$filter', '$select', '$orderby', '$count', '$expand', '$search'];
const ITEM_OPTIONS = ['$select', '$expand'];
const DELTA_OPTIONS = ['$select', '$deltatoken', '$skiptoken'];

/** A system query option the request does not take is refused (the message is the sandbox's own). */
function checkOptions(q: URLSearchParams, allowed: readonly string[]): void {
  for (const name of q.keys()) {
    if (name.startsWith('$') && !allowed.includes(name)) throw new GraphError(400, 'BadRequest', `The query parameter '${name}' is not supported on this request.`);
  }
}

const syncStateNotFound = () =>
  new GraphError(410, 'SyncStateNotFound', 'The sync state generation is not found. Please restart the sync with a new initial delta request.');

/** What the sandbox's consent grants: the delegated permissions the Outlook connector asks for. */
export const GRANTED_SCOPES = ['Contacts.ReadWrite', 'offline_access', 'openid', 'profile', 'User.Read'];

export async function startGraphSandbox(options: GraphSandboxOptions = {}): Promise<GraphSandbox> {
  const clients = options.clients ?? [DEFAULT_CLIENT];
  // A refresh names its scopes, a subset of the consent's (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token,
  // where `scope` is marked required); without it, the AADSTS90014 answer of the identity platform.
  const tokens = new TokenService(clients, {
    accessTtlSeconds: options.accessTtlSeconds,
    rules: {
      refreshScope: GRANTED_SCOPES,
      missingScope: {
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: "AADSTS90014: The required field 'scope' is missing from the credential. Ensure that you have all the necessary parameters for the login request.",
          error_codes: [90014],
        },
      },
    },
  });
  const mailboxes = new Map<string, Mailbox>();
  const faults = new Map<string, FaultQueue<FaultSpec>>();
  const counts = new Map<string, number>();
  const inFlight = new InFlight();
  let graphUrl = '';

  const mailbox = (name: string): Mailbox => {
    let m = mailboxes.get(name);
    if (!m) {
      m = new Mailbox(name);
      mailboxes.set(name, m);
    }
    return m;
  };
  for (const name of options.mailboxes ?? []) mailbox(name);

  const toWire = (c: StoredContact) => ({ '@odata.etag': etagOf(c), ...c });

  /** One API request of one mailbox, on its own or as an item of a batch. */
  function dispatch(mb: Mailbox, method: string, rawUrl: string, headers: Record<string, string>, body: unknown): Answer {
    counts.set(mb.name, (counts.get(mb.name) ?? 0) + 1);
    const fault = faults.get(mb.name)?.take();
    if (fault) {
      const retry = fault.retryAfterSeconds ?? (fault.status === 429 || fault.status === 503 ? 1 : undefined);
      return {
        status: fault.status,
        body: errorBody(fault.code ?? CODES[fault.status] ?? 'ErrorInternalServerError', fault.message ?? (fault.status === 429 ? 'Application is over its MailboxConcurrency limit.' : 'The service is temporarily unavailable.')),
        headers: retry !== undefined ? { 'Retry-After': String(retry) } : {},
      };
    }
    try {
      return route(mb, method.toUpperCase(), rawUrl, headers, body);
    } catch (err) {
      if (err instanceof GraphError) return fail(err);
      throw err;
    }
  }

  function route(mb: Mailbox, method: string, rawUrl: string, headers: Record<string, string>, body: unknown): Answer {
    const url = new URL(rawUrl.startsWith('/') ? rawUrl : `/${rawUrl}`, 'http://graph.local');
    let path = decodeURIComponent(url.pathname).replace(/\/+$/, '');
    const users = /^\/users\/([^/]+)(\/.*)$/.exec(path);
    if (users) {
      if (users[1] !== mb.name) throw new GraphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
      path = `/me${users[2]}`;
    }
    const q = url.searchParams;
    const contactBody = () => {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new GraphError(400, 'RequestBodyRead', 'Empty Payload. JSON content expected.');
      return body as ContactInput;
    };
    const checkId = (id: string) => {
      if (!/^AAMk[A-Za-z0-9_=+/-]+$/.test(id)) throw new GraphError(400, 'ErrorInvalidIdMalformed', 'Id is malformed.');
    };
    const folderOf = (id: string) => {
      checkId(id);
      if (!mb.folder(id)) throw notFound();
      return id;
    };

    if (path === '/me/contactFolders') {
      if (method === 'GET') {
        checkOptions(q, LIST_OPTIONS);
        const folders = mb.listFolders().map((f) => ({ id: f.id, displayName: f.displayName, parentFolderId: f.parentFolderId }));
        return listing(folders, q, '/me/contactFolders', `${graphUrl}/$metadata#users('${mb.name}')/contactFolders`);
      }
      if (method === 'POST') {
        const name = (body as { displayName?: unknown } | null)?.displayName;
        if (typeof name !== 'string') throw new GraphError(400, 'ErrorInvalidRequest', 'The displayName property is required.');
        return { status: 201, body: mb.createFolder(name) };
      }
    }
    let m = /^\/me\/contactFolders\/([^/]+)$/.exec(path);
    if (m && method === 'GET') {
      const id = m[1] === 'contacts' ? mb.defaultFolderId : folderOf(m[1]);
      return { status: 200, body: mb.folder(id) };
    }

    let folderId: string | null = null;
    let rest: string | null = null;
    if ((m = /^\/me\/contacts(\/.*)?$/.exec(path))) {
      rest = m[1] ?? '';
    } else if ((m = /^\/me\/contactFolders\/([^/]+)\/contacts(\/.*)?$/.exec(path))) {
      folderId = m[1] === 'contacts' ? mb.defaultFolderId : folderOf(m[1]);
      rest = m[2] ?? '';
    }
    if (rest === null) throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${path.split('/').pop()}'.`);
    const collection = folderId ? `/me/contactFolders/${folderId}/contacts` : '/me/contacts';
    if (rest !== '/delta' && method === 'GET') checkOptions(q, rest === '' ? LIST_OPTIONS : ITEM_OPTIONS);

    if (rest === '') {
      if (method === 'GET') {
        const filter = q.get('$filter');
        let items = mb.all(folderId ?? mb.defaultFolderId);
        if (filter) {
          const f = /^emailAddresses\/any\((\w+):\s*\1\/address eq '((?:[^']|'')*)'\)$/i.exec(filter.trim());
          if (!f) throw new GraphError(400, 'ErrorInvalidUrlQueryFilter', 'The query filter contains one or more invalid nodes.');
          const wanted = f[2].replace(/''/g, "'").toLowerCase();
          items = items.filter((c) => c.emailAddresses.some((e) => e.address?.toLowerCase() === wanted));
        }
        return listing(items.map(toWire), q, collection, `${graphUrl}/$metadata#users('${mb.name}')/contacts`);
      }
      if (method === 'POST') return { status: 201, body: toWire(mb.create(contactBody(), folderId ?? mb.defaultFolderId)) };
    }
    if (rest === '/delta' && method === 'GET') {
      // Contact delta is documented per folder only (https://learn.microsoft.com/en-us/graph/api/contact-delta);
      // the real service also answers /me/contacts/delta, undocumented, which this sandbox refuses so that a
      // connector cannot come to rely on it.
      if (!folderId) throw new GraphError(400, 'BadRequest', "Resource not found for the segment 'delta'.");
      checkOptions(q, DELTA_OPTIONS);
      return delta(mb, folderId, collection, q, headers);
    }


    const item = /^\/([^/]+)$/.exec(rest);
    if (item) {
      const id = item[1];
      checkId(id);
      const found = mb.get(id);
      if (!found || (folderId && found.parentFolderId !== folderId)) throw notFound();
      if (method === 'GET') return { status: 200, body: toWire(found) };
      if (method === 'PATCH') return { status: 200, body: toWire(mb.update(id, contactBody(), headers['if-match'])) };
      if (method === 'DELETE') {
        mb.remove(id, headers['if-match']);
        return { status: 204 };
      }
    }
    throw new GraphError(405, 'ErrorInvalidRequest', 'The OData request is not supported.');
  }

  /** $top / $skip paging with an @odata.nextLink that carries the whole query. */
  function listing(items: unknown[], q: URLSearchParams, path: string, context: string): Answer {
    const top = Math.min(Math.max(1, Number(q.get('$top') ?? DEFAULT_TOP) || DEFAULT_TOP), MAX_TOP);
    const skip = Math.max(0, Number(q.get('$skip') ?? 0) || 0);
    const page = items.slice(skip, skip + top);
    const out: Record<string, unknown> = { '@odata.context': context, value: page };
    if (skip + top < items.length) {
      const next = new URLSearchParams(q);
      next.set('$top', String(top));
      next.set('$skip', String(skip + top));
      // Graph writes the OData options with a literal "$", as clients copy them.
      const query = [...next.entries()].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
      out['@odata.nextLink'] = `${graphUrl}${path}?${query}`;
    }
    return { status: 200, body: out };
  }

  function delta(mb: Mailbox, folderId: string, collection: string, q: URLSearchParams, headers: Record<string, string>): Answer {
    const prefer = /odata\.maxpagesize=(\d+)/.exec(headers.prefer ?? '');
    const size = Math.min(prefer ? Math.max(1, Number(prefer[1])) : DEFAULT_DELTA_PAGE, MAX_DELTA_PAGE);
    const raw = q.get('$skiptoken') ?? q.get('$deltatoken');
    let token: DeltaToken;
    if (raw === null) {
      token = { e: mb.epoch, f: folderId, m: 'i', from: 0, upto: mb.latestSeq, after: '' };
    } else {
      const t = decodeToken(raw);
      if (!t || t.e !== mb.epoch || t.f !== folderId || (t.m === 's' && t.from < mb.oldestSeq)) throw syncStateNotFound();
      token = t;
    }
    const link = (param: '$skiptoken' | '$deltatoken', t: DeltaToken) => `${graphUrl}${collection}/delta?${param}=${encodeToken(t)}`;
    const done = (value: unknown[], upto: number): Answer => ({
      status: 200,
      headers: prefer ? { 'Preference-Applied': `odata.maxpagesize=${size}` } : {},
      body: { '@odata.context': `${graphUrl}/$metadata#Collection(contact)`, value, '@odata.deltaLink': link('$deltatoken', { e: mb.epoch, f: folderId, m: 's', from: upto, upto }) },
    });
    const more = (value: unknown[], next: DeltaToken): Answer => ({
      status: 200,
      headers: prefer ? { 'Preference-Applied': `odata.maxpagesize=${size}` } : {},
      body: { '@odata.context': `${graphUrl}/$metadata#Collection(contact)`, value, '@odata.nextLink': link('$skiptoken', next) },
    });

    if (token.m === 'i') {
      const all = mb
        .all(folderId)
        .filter((c) => c.id > (token.after ?? ''))
        .sort((a, b) => (a.id < b.id ? -1 : 1));
      const page = all.slice(0, size);
      if (all.length > size) return more(page.map(toWire), { ...token, after: page[page.length - 1].id });
      return done(page.map(toWire), token.upto);
    }
    // A new round (from a deltaLink) sees everything up to now; its pages keep that horizon.
    const upto = raw !== null && q.has('$deltatoken') ? mb.latestSeq : token.upto;
    const ids = mb.changedBetween(token.from, upto);
    const off = token.off ?? 0;
    const page = ids.slice(off, off + size).map((id) => {
      const c = mb.get(id);
      if (c && c.parentFolderId === folderId) return toWire(c);
      return { '@odata.type': '#microsoft.graph.contact', id, '@removed': { reason: c ? 'changed' : 'deleted' } };
    });
    if (off + size < ids.length) return more(page, { e: mb.epoch, f: folderId, m: 's', from: token.from, upto, off: off + size });
    return done(page, upto);
  }

  function batch(mb: Mailbox, body: unknown): Answer {
    const requests = (body as { requests?: unknown } | null)?.requests;
    if (!Array.isArray(requests) || requests.length === 0) throw new GraphError(400, 'BadRequest', 'Invalid batch payload format.');
    if (requests.length > MAX_BATCH) throw new GraphError(400, 'BadRequest', `Number of batch requests exceeds the limit of ${MAX_BATCH}.`);
    const ids = new Set<string>();
    const statuses = new Map<string, number>();
    const responses: { id: string; status: number; headers: Record<string, string>; body?: unknown }[] = [];
    for (const r of requests as Record<string, unknown>[]) {
      const id = String(r.id ?? '');
      if (!id || ids.has(id.toLowerCase())) throw new GraphError(400, 'BadRequest', 'Batch request ids must be unique and not empty.');
      ids.add(id.toLowerCase());
      const dependsOn = Array.isArray(r.dependsOn) ? r.dependsOn.map(String) : [];
      if (dependsOn.some((d) => !statuses.has(d))) throw new GraphError(400, 'BadRequest', 'A request depends on a request that is not before it in the batch.');
      if (dependsOn.some((d) => (statuses.get(d) ?? 0) >= 300 || (statuses.get(d) ?? 0) < 200)) {
        statuses.set(id, 424);
        responses.push({ id, status: 424, headers: { 'Content-Type': 'application/json' }, body: errorBody('FailedDependency', 'The request was not run because a request it depends on failed.') });
        continue;
      }
      const headers = Object.fromEntries(Object.entries((r.headers as Record<string, string>) ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
      const answer = dispatch(mb, String(r.method ?? 'GET'), String(r.url ?? ''), headers, r.body);
      statuses.set(id, answer.status);
      responses.push({ id, status: answer.status, headers: { ...(answer.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...answer.headers }, ...(answer.body !== undefined ? { body: answer.body } : {}) });
    }
    return { status: 200, body: { responses } };
  }

  const app = express();
  app.disable('x-powered-by');
  app.post('/:tenant/oauth2/v2.0/token', ...tokens.tokenEndpoint());

  const unauthorized = (res: Response, reason: 'missing' | 'invalid' | 'expired') => {
    const message =
      reason === 'missing'
        ? 'Access token is empty.'
        : reason === 'expired'
          ? 'Lifetime validation failed, the token is expired.'
          : 'IDX14100: JWT is not well formed, there are no dots (.).';
    res.status(401).set('WWW-Authenticate', 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"').json(errorBody('InvalidAuthenticationToken', message));
  };
  const v1 = express.Router();
  v1.use(tokens.middleware(unauthorized));
  const maxConcurrent = options.maxConcurrentPerMailbox ?? 4;
  v1.use(
    gate((_req, res) => {
      if (inFlight.enter(res.locals.account as string, maxConcurrent, res)) return null;
      return { status: 429, headers: { 'Retry-After': '1' }, body: errorBody('ApplicationThrottled', 'Application is over its MailboxConcurrency limit.') };
    }),
  );
  v1.use(express.json({ limit: '4mb' }));
  v1.use((req: Request, res: Response) => {
    const mb = mailbox(res.locals.account as string);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v ?? '')]));
    let answer: Answer;
    if (req.path === '/$batch' && req.method === 'POST') {
      try {
        answer = batch(mb, req.body);
      } catch (err) {
        if (!(err instanceof GraphError)) throw err;
        answer = fail(err);
      }
    } else {
      answer = dispatch(mb, req.method, req.url, headers, req.body);
    }
    res.status(answer.status).set(answer.headers ?? {});
    if (answer.body === undefined) res.end();
    else res.json(answer.body);
  });
  app.use('/v1.0', v1);
  // Express's body parser reports bad JSON by throwing; Graph answers it as a body it could not read.
  app.use((err: Error & { status?: number }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
    res.status(status).json(errorBody(status === 500 ? 'InternalServerError' : 'RequestBodyRead', status === 500 ? 'An internal server error occurred.' : 'The request body could not be read as JSON.'));
  });

  const { url, close } = await listen(app, { port: options.port, host: options.host });
  graphUrl = `${url}/v1.0`;

  return {
    url,
    graphUrl,
    tokenUrl: `${url}/common/oauth2/v2.0/token`,
    client: clients[0],
    tokens,
    mailbox,
    grant: (name, clientId) => {
      mailbox(name);
      return tokens.grant(name, clientId);
    },
    expireAccessTokens: (name) => tokens.expireAccessTokens(name),
    revoke: (refreshToken) => tokens.revoke(refreshToken),
    expireDeltaTokens: (name) => mailbox(name).expireDeltaTokens(),
    failNext(name, fault, count = 1) {
      const queue = faults.get(name) ?? new FaultQueue<FaultSpec>();
      queue.add(fault, count);
      faults.set(name, queue);
    },
    configure(name, config) {
      Object.assign(mailbox(name).config, config);
    },
    requestCount: (name) => counts.get(name) ?? 0,
    inFlight: (name) => inFlight.count(name),
    close,
  };
}
