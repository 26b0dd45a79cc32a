import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { gate, retryAfter } from '../kit/gate';
import { listen } from '../kit/listen';
import { unknownParameter } from '../kit/query';
import {
  PipelinerError,
  PipelinerSpace,
  contactJson,
  errorBody,
  fieldValue,
  parseMicros,
  type SpaceConfig,
  type StoredContact,
} from './store';

// A local stand-in for Pipeliner CRM's REST API v100, under the real paths
// ({serviceUrl}/api/v100/rest/spaces/{spaceId}/entities/...), with HTTP Basic auth by the space's API token and
// password, cursor paging ({ success, total, page_info, data }), filter[...] / filter-op[...], include_deleted,
// soft deletes, validation-level, and Pipeliner's error bodies.

export interface PipelinerSandboxOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: '127.0.0.1' | string;
  spaces?: Record<string, SpaceConfig>;
}

export interface PipelinerSandbox {
  /** The service URL, what "Show API Access" calls the regional server, e.g. http://127.0.0.1:4020 */
  url: string;
  port: number;
  /** Creates a space with its API access, or reconfigures an existing one (its data is kept). */
  addSpace(spaceId: string, config: SpaceConfig): PipelinerSpace;
  space(spaceId: string): PipelinerSpace;
  spaces(): PipelinerSpace[];
  /** The base URL of one space's API, e.g. http://127.0.0.1:4020/api/v100/rest/spaces/nv1_demo */
  baseUrl(spaceId: string): string;
  close(): Promise<void>;
}

const NOT_FOUND_URL = {
  status: 404,
  message: 'The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.',
  errorcode: null,
  traceback: null,
};
const MAX_FIRST = 100;
const DEFAULT_FIRST = 30;

type Query = Record<string, unknown>;
type SpaceRequest = Request<Record<string, string>> & { space: PipelinerSpace };

const digest = (value: string) => createHash('sha256').update(value).digest();
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

function badParameter(message: string): PipelinerError {
  return new PipelinerError(400, errorBody(400, 117, 'ERROR_PARAMETER_INVALID', message));
}

function single(query: Query, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badParameter(`Parameter '${name}' must be given once.`);
  return v;
}

// ---- paging, filtering and ordering shared by every entity list ----

type Key = (string | number | boolean | null)[];
const encodeCursor = (key: Key) => Buffer.from(JSON.stringify(key)).toString('base64');
function decodeCursor(cursor: string): Key {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64').toString('utf8'));
    if (Array.isArray(key)) return key as Key;
  } catch {
    // reported below
  }
  throw badParameter(`Invalid cursor '${cursor}'.`);
}

function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return String(a).localeCompare(String(b), 'en');
}

interface Order {
  field: string;
  desc: boolean;
}

function parseOrder(query: Query, allowed: (field: string) => boolean): Order[] {
  const raw = single(query, 'order-by');
  const order: Order[] = [];
  for (const part of (raw ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const desc = part.startsWith('-');
    const field = desc ? part.slice(1) : part;
    if (!allowed(field)) throw badParameter(`Cannot order by unknown field '${field}'.`);
    order.push({ field, desc });
  }
  // The id breaks ties, so a cursor points at exactly one place in the ordering.
  order.push({ field: 'id', desc: false });
  return order;
}

interface Filter {
  field: string;
  op: string;
  value: string;
}

const FILTER_OPS = new Set(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'like', 'starts', 'null', 'notnull']);

function parseFilters(query: Query, allowed: (field: string) => boolean): Filter[] {
  const filters: Filter[] = [];
  for (const [key, raw] of Object.entries(query)) {
    const m = /^filter\[([a-z0-9_]+)\]$/.exec(key);
    if (!m) continue;
    const field = m[1];
    if (!allowed(field)) throw badParameter(`Cannot filter by unknown field '${field}'.`);
    if (typeof raw !== 'string') throw badParameter(`Filter '${field}' must be given once.`);
    const op = single(query, `filter-op[${field}]`) ?? 'eq';
    if (!FILTER_OPS.has(op)) throw badParameter(`Unknown filter operator '${op}'.`);
    filters.push({ field, op, value: raw });
  }
  return filters;
}

/** Text compares without regard to case (the database's collation); times and numbers by value. */
function matches(actual: string | number | boolean | null, f: Filter, field: string): boolean {
  if (f.op === 'null') return actual === null || actual === '';
  if (f.op === 'notnull') return !(actual === null || actual === '');
  let want: string | number | boolean = f.value;
  let have: string | number | boolean | null = actual;
  if (field === 'modified' || field === 'created') {
    const micros = parseMicros(f.value);
    if (micros === null) throw badParameter(`Invalid datetime '${f.value}' for field '${field}'.`);
    want = micros;
  } else if (typeof actual === 'number') {
    want = Number(f.value);
  } else if (typeof actual === 'boolean') {
    want = f.value === 'true';
  } else {
    want = f.value.toLowerCase();
    have = actual === null ? null : actual.toLowerCase();
  }
  if (f.op === 'like') return typeof have === 'string' && have.includes(String(want));
  if (f.op === 'starts') return typeof have === 'string' && have.startsWith(String(want));
  const c = compareValues(have, want);
  switch (f.op) {
    case 'eq':
      return c === 0;
    case 'ne':
      return c !== 0;
    case 'gt':
      return have !== null && c > 0;
    case 'gte':
      return have !== null && c >= 0;
    case 'lt':
      return have !== null && c < 0;
    default:
      return have !== null && c <= 0;
  }
}

function pageOf<T>(rows: T[], query: Query, keyOf: (row: T) => Key, order: Order[]) {
  const firstRaw = single(query, 'first');
  const first = firstRaw === undefined ? DEFAULT_FIRST : Number(firstRaw);
  if (!Number.isInteger(first) || first < 1) throw badParameter(`Parameter 'first' must be a positive integer.`);
  const compareKeys = (a: Key, b: Key) => {
    for (let i = 0; i < order.length; i++) {
      const c = compareValues(a[i], b[i]);
      if (c !== 0) return order[i].desc ? -c : c;
    }
    return 0;
  };
  const sorted = rows.map((row) => ({ row, key: keyOf(row) })).sort((a, b) => compareKeys(a.key, b.key));
  const after = single(query, 'after');
  const from = after ? decodeCursor(after) : null;
  const rest = from ? sorted.filter((r) => compareKeys(r.key, from) > 0) : sorted;
  const page = rest.slice(0, Math.min(first, MAX_FIRST));
  return {
    total: rows.length,
    page_info: {
      start_cursor: page.length ? encodeCursor(page[0].key) : null,
      end_cursor: page.length ? encodeCursor(page[page.length - 1].key) : null,
      has_previous_page: from !== null && sorted.length > rest.length,
      has_next_page: rest.length > page.length,
    },
    rows: page.map((p) => p.row),
  };
}

function loadOnly(query: Query, row: Record<string, unknown>): Record<string, unknown> {
  const raw = single(query, 'load-only');
  if (!raw) return row;
  const keep = new Set(raw.split(',').map((k) => k.trim()));
  return Object.fromEntries(Object.entries(row).filter(([k]) => keep.has(k)));
}

// Only the spelling the parameter table defines; its example URL's include-deleted is refused as unknown.
const includeDeleted = (query: Query) => single(query, 'include_deleted') === 'true';

/**
 * The query parameters of each kind of endpoint, from the table of
 * https://developers.pipelinersales.com/api-docs/core-api-concepts/api-parameters: listings take the paging,
 * filter, order and load-only parameters, a get expand and include_deleted, writes validation-level.
 */
const LIST_PARAMETERS = ['after', 'before', 'expand', 'first', 'include_deleted', 'last', 'load-only', 'order-by'];
const LIST_PATTERNS = [/^filter\[[^\]]+\]$/, /^filter-op\[[^\]]+\]$/];
const GET_PARAMETERS = ['expand', 'include_deleted'];
const WRITE_PARAMETERS = ['validation-level'];

/** A parameter the endpoint does not define is refused (the message is the sandbox's own; the code is Pipeliner's). */
const parameters =
  (allowed: readonly string[], patterns: readonly RegExp[] = []) =>
  (req: Request, _res: Response, next: NextFunction): void => {
    const unknown = unknownParameter(req.query as Query, allowed, patterns);
    next(unknown === undefined ? undefined : badParameter(`Unknown parameter '${unknown}'.`));
  };

function validationLevel(query: Query): number {
  const raw = single(query, 'validation-level');
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw badParameter(`Parameter 'validation-level' must be a non-negative integer.`);
  return n;
}

// ---- the server ----

export async function startPipelinerSandbox(options: PipelinerSandboxOptions = {}): Promise<PipelinerSandbox> {
  const registry = new Map<string, PipelinerSpace>();
  const addSpace = (spaceId: string, config: SpaceConfig): PipelinerSpace => {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(spaceId)) throw new Error(`space ids are letters, digits, "-" and "_", not "${spaceId}"`);
    const existing = registry.get(spaceId);
    if (existing) {
      existing.config = { ...existing.config, ...config };
      return existing;
    }
    const space = new PipelinerSpace(spaceId, config);
    registry.set(spaceId, space);
    return space;
  };
  for (const [id, config] of Object.entries(options.spaces ?? {})) addSpace(id, config);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Keeps "filter[modified]" a literal key, the way the API spells its parameters.
  app.set('query parser', 'simple');

  const prefix = '/api/v100/rest/spaces/:space';
  const base = (req: Request) => `${req.protocol}://${req.get('host')}/api/v100/rest/spaces/${(req as SpaceRequest).space.spaceId}`;

  const authenticate = (req: Request<Record<string, string>>, res: Response, next: NextFunction): void => {
    const space = registry.get(req.params.space);
    if (!space) {
      res.status(404).json(NOT_FOUND_URL);
      return;
    }
    const header = req.headers.authorization ?? '';
    const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
    const decoded = m ? Buffer.from(m[1], 'base64').toString('utf8') : null;
    const at = decoded?.indexOf(':') ?? -1;
    const ok =
      decoded !== null && at > 0 && same(decoded.slice(0, at), space.config.apiToken) && same(decoded.slice(at + 1), space.config.apiPassword);
    if (!ok) {
      res.setHeader('WWW-Authenticate', 'Basic realm="restapi"');
      res.status(401).json(errorBody(401, 401, 'ERROR_UNAUTHORIZED', m ? 'Unauthorized: invalid API token or password.' : 'Unauthorized: missing Authorization header.'));
      return;
    }
    (req as SpaceRequest).space = space;
    next();
  };

  /** Injected faults and the space's rate limit, after the credentials are known good. */
  const admit = gate((req) => {
    const refused = (req as SpaceRequest).space.admit();
    if (!refused) return null;
    const headers = { ...retryAfter(refused.retryAfterSeconds), ...(refused.status === 401 ? { 'WWW-Authenticate': 'Basic realm="restapi"' } : {}) };
    return { status: refused.status, headers, body: refused.body };
  });
  const api = [authenticate, admit];

  const json = express.json({ limit: '5mb' });
  const sp = (req: Request) => (req as SpaceRequest).space;

  const contactFields = (space: PipelinerSpace) => {
    const known = new Set(['id', 'modified', 'created', 'revision', 'is_deleted', 'owner_id', 'unit_id', ...space.fields().map((f) => String(f.api_name))]);
    return (field: string) => known.has(field);
  };

  app.get(`${prefix}/entities/Contacts`, ...api, parameters(LIST_PARAMETERS, LIST_PATTERNS), (req, res) => {
    const space = sp(req);
    const query = req.query as Query;
    const allowed = contactFields(space);
    const filters = parseFilters(query, allowed);
    const order = parseOrder(query, allowed);
    const rows = space.all(includeDeleted(query)).filter((c) => filters.every((f) => matches(fieldValue(c, f.field), f, f.field)));
    const page = pageOf<StoredContact>(rows, query, (c) => order.map((o) => fieldValue(c, o.field)), order);
    res.json({ success: true, total: page.total, page_info: page.page_info, data: page.rows.map((c) => loadOnly(query, contactJson(space, c, base(req)))) });
  });

  app.get(`${prefix}/entities/Contacts/:id`, ...api, parameters(GET_PARAMETERS), (req, res) => {
    const space = sp(req);
    const contact = space.find(req.params.id, includeDeleted(req.query as Query));
    if (!contact) {
      throw new PipelinerError(404, errorBody(404, 2001, 'ERROR_ENTITY_NOT_FOUND', `Entity 'Contact' with id '${req.params.id}' not found.`));
    }
    res.json({ success: true, data: contactJson(space, contact, base(req)) });
  });

  app.post(`${prefix}/entities/Contacts`, ...api, parameters(WRITE_PARAMETERS), json, (req, res) => {
    const space = sp(req);
    const contact = space.createFromApi(req.body, validationLevel(req.query as Query));
    res.json({ success: true, data: contactJson(space, contact, base(req)) });
  });

  app.patch(`${prefix}/entities/Contacts/:id`, ...api, parameters(WRITE_PARAMETERS), json, (req, res) => {
    const space = sp(req);
    const contact = space.updateFromApi(req.params.id, req.body, validationLevel(req.query as Query));
    res.json({ success: true, data: contactJson(space, contact, base(req)) });
  });

  app.delete(`${prefix}/entities/Contacts/:id`, ...api, parameters(WRITE_PARAMETERS), (req, res) => {
    sp(req).deleteFromApi(req.params.id);
    res.json({ success: true, data: req.params.id });
  });

  /** Lists of the small entities the connector reads: users, sales units, field metadata. */
  const simpleList = (entity: string, rows: (space: PipelinerSpace) => Record<string, unknown>[]) =>
    app.get(`${prefix}/entities/${entity}`, ...api, parameters(LIST_PARAMETERS, LIST_PATTERNS), (req, res) => {
      const query = req.query as Query;
      const all = rows(sp(req));
      const allowed = (field: string) => all.length === 0 || field in all[0];
      const filters = parseFilters(query, allowed);
      const order = parseOrder(query, allowed);
      const kept = all.filter((r) => (includeDeleted(query) || !r.is_deleted) && filters.every((f) => matches((r[f.field] ?? null) as string | null, f, f.field)));
      const page = pageOf(kept, query, (r) => order.map((o) => (r[o.field] ?? null) as string | null), order);
      res.json({ success: true, total: page.total, page_info: page.page_info, data: page.rows.map((r) => loadOnly(query, r)) });
    });
  simpleList('Clients', (space) => [...space.clients.values()].map((c) => ({ ...c })));
  simpleList('SalesUnits', (space) => [...space.units.values()].map((u) => ({ ...u })));
  simpleList('Fields', (space) => space.fields());

  app.all(`${prefix}/entities/:entity`, ...api, (req, res) => {
    res.status(404).json(errorBody(404, 2006, 'ERROR_UNKNOWN_TYPE', `cannot determine entity type from ${req.params.entity}`));
  });

  app.use((_req: Request, res: Response) => {
    res.status(404).json(NOT_FOUND_URL);
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof PipelinerError) {
      res.status(err.status).json(err.body);
      return;
    }
    if ((err as { type?: string }).type === 'entity.parse.failed') {
      res.status(400).json(errorBody(400, 117, 'ERROR_PARAMETER_INVALID', 'Missing or invalid JSON data.'));
      return;
    }
    process.emitWarning(`pipeliner sandbox: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    res.status(500).json(errorBody(500, 500, 'ERROR_INTERNAL', 'Internal server error.'));
  });

  const { url, port, close } = await listen(app, { port: options.port, host: options.host });

  return {
    url,
    port,
    addSpace,
    space(spaceId) {
      const found = registry.get(spaceId);
      if (!found) throw new Error(`no Pipeliner sandbox space "${spaceId}"`);
      return found;
    },
    spaces: () => [...registry.values()],
    baseUrl: (spaceId) => `${url}/api/v100/rest/spaces/${spaceId}`,
    close,
  };
}
