import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { gate, type Refusal } from '../kit/gate';
import { listen } from '../kit/listen';
import type {
  OrganizationsApiGetOrganizationsRequest,
  OrganizationsApiSearchOrganizationRequest,
  PersonsApiGetPersonRequest,
  PersonsApiGetPersonsRequest,
  PersonsApiSearchPersonsRequest,
} from 'pipedrive/v2';
import type { PersonFieldsApiGetPersonFieldsRequest, RecentsApiGetRecentsRequest } from 'pipedrive/v1';
import { missingParameter, unknownParameter } from '../kit/query';
import { TokenService, type IssuedTokens } from '../kit/oauth';
import { Company, MAX_IDS, PipedriveError, v1Time, type CallWeight } from './store';
import type { CompanySettings, Organization, StoredPerson, User } from './types';

// A local stand-in for Pipedrive's REST API: persons (v2), organizations (v2), and the v1 leftovers a contact
// sync needs (person fields, users, recents). Several companies share one server; a token decides which
// company and user a request acts for, as in the real app. Answers use Pipedrive's envelope
// ({ success, data, additional_data }) and its error body ({ success: false, error, error_info }).

export interface PipedriveSandboxOptions {
  port?: number;
  host?: '127.0.0.1';
  /** The OAuth app allowed at /oauth/token; a random one when absent. */
  oauthClient?: { clientId: string; clientSecret: string };
  accessTtlSeconds?: number;
}

export interface CompanyAccount {
  company: Company;
  user: User;
  apiToken: string;
}

export interface PipedriveSandbox {
  url: string;
  port: number;
  oauthClient: { clientId: string; clientSecret: string };
  /** A new company with one admin user and that user's API token. */
  addCompany(name: string, options?: { settings?: Partial<CompanySettings>; adminName?: string; adminEmail?: string; apiToken?: string }): CompanyAccount;
  company(name: string): Company;
  /** Another user of a company, with an API token of its own. */
  addUser(company: string, user: { name: string; email: string; isAdmin?: boolean; canEditOthers?: boolean; apiToken?: string }): CompanyAccount;
  /** What the user's consent to the OAuth app gives it. */
  grantTokens(company: string, userId?: number): IssuedTokens;
  /** Every access token of the company (all companies when absent) expires now. */
  expireAccessTokens(company?: string): void;
  revoke(refreshToken: string): void;
  close(): Promise<void>;
}

const ERROR_INFO = 'Please check developers.pipedrive.com for more information about Pipedrive API.';

interface Caller {
  company: Company;
  user: User;
  /** which burst window the call counts against */
  limiterKey: string;
}

const errorBody = (error: string) => ({ success: false, error, error_info: ERROR_INFO, data: null, additional_data: null });

function sendError(res: Response, status: number, error: string): void {
  res.status(status).json(errorBody(error));
}

const caller = (res: Response): Caller => res.locals.caller as Caller;

function int(value: unknown, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n < 0) throw new PipedriveError(400, `Parameter "${name}" must be a non-negative integer`);
  return n;
}

function str(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new PipedriveError(400, `Parameter "${name}" must be given once`);
  return value;
}

function idList(value: unknown, name: string): number[] | undefined {
  const raw = str(value, name);
  if (raw === undefined || raw === '') return undefined;
  const ids = raw.split(',').map((s) => Number(s.trim()));
  if (ids.some((n) => !Number.isInteger(n) || n < 1)) throw new PipedriveError(400, `Parameter "${name}" must be comma-separated ids`);
  if (ids.length > MAX_IDS) throw new PipedriveError(400, `Parameter "${name}" accepts at most ${MAX_IDS} ids`);
  return ids;
}

function pathId(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new PipedriveError(400, 'Invalid id');
  return n;
}

function v2Person(company: Company, p: StoredPerson, include: string[]): Record<string, unknown> {
  const custom: Record<string, unknown> = {};
  for (const f of company.customFields) custom[f.key] = p.custom_fields[f.key] ?? null;
  return {
    id: p.id,
    name: p.name,
    first_name: p.first_name,
    last_name: p.last_name,
    owner_id: p.owner_id,
    org_id: p.org_id,
    add_time: p.add_time,
    update_time: p.update_time,
    is_deleted: p.is_deleted,
    emails: p.emails.map((e) => ({ ...e })),
    phones: p.phones.map((e) => ({ ...e })),
    visible_to: p.visible_to,
    label_ids: [...p.label_ids],
    picture_id: null,
    postal_address: p.postal_address ? { ...p.postal_address } : null,
    notes: p.notes,
    job_title: p.job_title,
    birthday: p.birthday,
    im: [],
    custom_fields: custom,
    ...(include.includes('marketing_status') ? { marketing_status: p.marketing_status } : {}),
  };
}

/** The v1 shape: owner and organization expanded, `email`/`phone`, custom fields at the top level. */
function v1Person(company: Company, p: StoredPerson): Record<string, unknown> {
  const owner = company.users.find((u) => u.id === p.owner_id);
  const org = p.org_id ? company.organization(p.org_id) : undefined;
  const custom: Record<string, unknown> = {};
  for (const f of company.customFields) custom[f.key] = p.custom_fields[f.key] ?? null;
  return {
    id: p.id,
    company_id: 1,
    owner_id: owner ? { id: owner.id, name: owner.name, email: owner.email, value: owner.id } : null,
    org_id: org ? { name: org.name, value: org.id } : null,
    name: p.name,
    first_name: p.first_name,
    last_name: p.last_name,
    active_flag: !p.is_deleted,
    email: p.emails.map((e) => ({ ...e })),
    phone: p.phones.map((e) => ({ ...e })),
    add_time: p.add_time.replace('T', ' ').replace('Z', ''),
    update_time: p.update_time.replace('T', ' ').replace('Z', ''),
    visible_to: String(p.visible_to),
    label_ids: [...p.label_ids],
    marketing_status: p.marketing_status,
    ...custom,
  };
}

const v2Org = (o: Organization) => ({ ...o, visible_to: 3, address: null, label_ids: [], custom_fields: {} });

/** v1 /personFields: the standard fields, then the company's custom fields with their hash keys. */
function personFields(company: Company): Record<string, unknown>[] {
  const std = (key: string, name: string, fieldType: string, extra: Record<string, unknown> = {}) => ({
    key,
    name,
    field_type: fieldType,
    edit_flag: false,
    active_flag: true,
    mandatory_flag: key === 'name',
    bulk_edit_allowed: true,
    ...extra,
  });
  const fields: Record<string, unknown>[] = [
    std('name', 'Name', 'varchar'),
    std('first_name', 'First name', 'varchar'),
    std('last_name', 'Last name', 'varchar'),
    std('label_ids', 'Labels', 'set', { options: company.labels.map((l) => ({ id: l.id, label: l.name, color: l.color })) }),
    std('org_id', 'Organization', 'org'),
    std('owner_id', 'Owner', 'user'),
    std('email', 'Email', 'varchar'),
    std('phone', 'Phone', 'phone'),
    std('visible_to', 'Visible to', 'visible_to', { options: company.visibilityOptions().map((o) => ({ id: String(o.id), label: o.label })) }),
    std('marketing_status', 'Marketing status', 'enum', {
      options: [
        { id: 'no_consent', label: 'No consent' },
        { id: 'unsubscribed', label: 'Unsubscribed' },
        { id: 'subscribed', label: 'Subscribed' },
        { id: 'archived', label: 'Archived' },
      ],
    }),
    std('job_title', 'Job title', 'varchar'),
    std('notes', 'Notes', 'text'),
    std('postal_address', 'Postal address', 'address'),
    std('birthday', 'Birthday', 'date'),
    std('add_time', 'Person created', 'date'),
    std('update_time', 'Update time', 'date'),
  ];
  for (const f of company.customFields) {
    fields.push({ key: f.key, name: f.name, field_type: f.field_type, edit_flag: true, active_flag: true, mandatory_flag: false, ...(f.options ? { options: f.options } : {}) });
  }
  return fields.map((f, i) => ({ id: 9000 + i, order_nr: i, ...f }));
}

// The query parameters of each endpoint, as Pipedrive's API reference (https://developers.pipedrive.com/docs/api/v1,
// its v2 pages) defines them; the names are checked against the request types of Pipedrive's own SDK (the
// `pipedrive` package, generated from that reference), so a list that names a parameter Pipedrive does not have
// fails the typecheck. `api_token` is the v1-style authentication every endpoint takes.
type Names<T> = readonly Exclude<keyof T, 'id'>[];
const PERSONS_LIST = ['filter_id', 'ids', 'owner_id', 'org_id', 'deal_id', 'updated_since', 'updated_until', 'sort_by', 'sort_direction', 'include_fields', 'custom_fields', 'include_option_labels', 'include_labels', 'limit', 'cursor'] as const satisfies Names<PersonsApiGetPersonsRequest>;
const PERSON_GET = ['include_fields', 'custom_fields', 'include_option_labels', 'include_labels'] as const satisfies Names<PersonsApiGetPersonRequest>;
const PERSONS_SEARCH = ['term', 'fields', 'exact_match', 'organization_id', 'include_fields', 'limit', 'cursor'] as const satisfies Names<PersonsApiSearchPersonsRequest>;
const ORGS_LIST = ['filter_id', 'ids', 'owner_id', 'updated_since', 'updated_until', 'sort_by', 'sort_direction', 'include_fields', 'custom_fields', 'include_option_labels', 'include_labels', 'limit', 'cursor'] as const satisfies Names<OrganizationsApiGetOrganizationsRequest>;
const ORGS_SEARCH = ['term', 'fields', 'exact_match', 'limit', 'cursor'] as const satisfies Names<OrganizationsApiSearchOrganizationRequest>;
const PERSON_FIELDS = ['start', 'limit'] as const satisfies Names<PersonFieldsApiGetPersonFieldsRequest>;
const RECENTS = ['since_timestamp', 'items', 'start', 'limit'] as const satisfies Names<RecentsApiGetRecentsRequest>;
const NONE: readonly string[] = [];

/** An endpoint's parameters: one it does not define, or a required one missing, is a 400 (the wording is the sandbox's). */
const parameters =
  (allowed: readonly string[], required: readonly string[] = []) =>
  (req: Request, res: Response, next: NextFunction): void => {
    const query = req.query as Record<string, unknown>;
    const unknown = unknownParameter(query, [...allowed, 'api_token']);
    if (unknown !== undefined) return sendError(res, 400, `Parameter "${unknown}" is not allowed for this request`);
    const missing = missingParameter(query, required);
    if (missing !== undefined) return sendError(res, 400, `Parameter "${missing}" is required`);
    next();
  };

export async function startPipedriveSandbox(options: PipedriveSandboxOptions = {}): Promise<PipedriveSandbox> {
  const companies = new Map<string, Company>();
  const apiTokens = new Map<string, { company: string; userId: number }>();
  const oauthClient = options.oauthClient ?? {
    clientId: `pd-client-${randomBytes(6).toString('hex')}`,
    clientSecret: randomBytes(18).toString('base64url'),
  };
  // Pipedrive's token endpoint takes the client's credentials only in an Authorization: Basic header
  // (https://pipedrive.readme.io/docs/marketplace-oauth-authorization, "Refreshing the tokens"); without it, the
  // answer is the 400 "Invalid client: cannot retrieve client credentials" of
  // https://pipedrive.readme.io/docs/marketplace-oauth-and-api-proxy-status-codes.
  const tokens = new TokenService([oauthClient], {
    accessTtlSeconds: options.accessTtlSeconds,
    rules: {
      clientAuth: 'client_secret_basic',
      missingClient: { status: 400, body: { error: 'invalid_client', error_description: 'Invalid client: cannot retrieve client credentials' } },
    },
  });
  const accountOf = (company: string, userId: number) => `${company}#${userId}`;

  const companyNamed = (name: string): Company => {
    const found = companies.get(name);
    if (!found) throw new Error(`no Pipedrive sandbox company named "${name}"`);
    return found;
  };

  const addUser: PipedriveSandbox['addUser'] = (name, input) => {
    const company = companyNamed(name);
    const user = company.addUser(input);
    const apiToken = input.apiToken ?? randomBytes(20).toString('hex');
    apiTokens.set(apiToken, { company: name, userId: user.id });
    return { company, user, apiToken };
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.post('/oauth/token', ...tokens.tokenEndpoint());

  /** API token (x-api-token header, or api_token in the query as v1 clients send it) or an OAuth bearer token. */
  const authenticate = (req: Request, res: Response, next: NextFunction): void => {
    const header = req.headers['x-api-token'];
    const apiToken = typeof header === 'string' ? header : typeof req.query.api_token === 'string' ? req.query.api_token : null;
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim() ?? null;
    let who: { company: string; userId: number } | undefined;
    let limiterKey = '';
    if (apiToken) {
      who = apiTokens.get(apiToken);
      limiterKey = `token:${apiToken}`;
    } else if (bearer) {
      const verdict = tokens.verify(bearer);
      if ('account' in verdict) {
        const [company, userId] = verdict.account.split('#');
        who = { company, userId: Number(userId) };
        limiterKey = `oauth:${verdict.account}`;
      }
    }
    const company = who ? companies.get(who.company) : undefined;
    const user = company?.users.find((u) => u.id === who!.userId && u.active_flag);
    if (!company || !user) return sendError(res, 401, 'unauthorized access');
    res.locals.caller = { company, user, limiterKey } satisfies Caller;
    next();
  };

  /** Rate limits, then any injected fault; every answer carries the burst window's headers. */
  const admit = (weight: CallWeight) =>
    gate((_req, res): Refusal | null => {
      const { company, limiterKey } = caller(res);
      const verdict = company.admit(limiterKey, weight);
      // The company's clock, which tests may move forward, is the one its answers are dated by.
      res.set({ ...verdict.headers, date: new Date(company.now()).toUTCString() });
      if (verdict.refusedFor !== undefined) {
        const headers: Record<string, string> = company.settings.retryAfterHeader ? { 'retry-after': String(verdict.refusedFor) } : {};
        return { status: 429, headers, body: errorBody(verdict.daily ? 'Daily token budget exceeded' : 'Request over limit') };
      }
      const fault = company.takeFault();
      if (!fault) return null;
      const headers: Record<string, string> = fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
      return { status: fault.status, headers, body: errorBody(fault.error ?? (fault.status === 429 ? 'Request over limit' : 'Internal server error')) };
    });

  /** Cursor-paginated listings may be reserved for global admins. */
  const cursorEndpoint = (_req: Request, res: Response, next: NextFunction): void => {
    const { company, user } = caller(res);
    if (company.settings.cursorRequiresAdmin && !user.is_admin) {
      return sendError(res, 403, 'You need to be a global admin to access this endpoint.');
    }
    next();
  };

  const json = express.json({ limit: '2mb' });
  const api = (weight: CallWeight) => [authenticate, admit(weight), json];
  const include = (req: Request) => (str(req.query.include_fields, 'include_fields') ?? '').split(',').map((s) => s.trim());

  for (const prefix of ['/api/v1', '/v1']) {
    app.get(`${prefix}/personFields`, ...api('read'), parameters(PERSON_FIELDS), (req, res) => {
      const all = personFields(caller(res).company);
      const start = int(req.query.start, 'start') ?? 0;
      const limit = Math.min(int(req.query.limit, 'limit') ?? 100, 500);
      const more = start + limit < all.length;
      res.json({
        success: true,
        data: all.slice(start, start + limit),
        additional_data: { pagination: { start, limit, more_items_in_collection: more, ...(more ? { next_start: start + limit } : {}) } },
      });
    });

    app.get(`${prefix}/users`, ...api('read'), parameters(NONE), (_req, res) => {
      res.json({ success: true, data: caller(res).company.users });
    });

    app.get(`${prefix}/users/me`, ...api('read'), parameters(NONE), (_req, res) => {
      const { company, user } = caller(res);
      res.json({ success: true, data: { ...user, company_name: company.name, company_domain: company.name.toLowerCase(), company_id: 1 } });
    });

    app.get(`${prefix}/recents`, ...api('list'), parameters(RECENTS, ['since_timestamp']), (req, res) => {
      const { company } = caller(res);
      const sinceRaw = str(req.query.since_timestamp, 'since_timestamp');
      const since = sinceRaw && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(sinceRaw) ? Date.parse(`${sinceRaw.replace(' ', 'T')}Z`) : NaN;
      if (Number.isNaN(since)) return sendError(res, 400, 'since_timestamp is required, as YYYY-MM-DD HH:MM:SS (UTC)');
      const items = (str(req.query.items, 'items') ?? '').split(',').filter(Boolean);
      const start = int(req.query.start, 'start') ?? 0;
      const limit = Math.min(int(req.query.limit, 'limit') ?? 100, 500);
      const all = items.length === 0 || items.includes('person') ? company.recentPersons(since) : [];
      const page = all.slice(start, start + limit);
      const more = start + limit < all.length;
      res.json({
        success: true,
        data: page.map((e) => ({ item: 'person', id: e.person.id, data: v1Person(company, e.person) })),
        additional_data: {
          since_timestamp: sinceRaw,
          last_timestamp_on_page: page.length ? v1Time(page.at(-1)!.at) : v1Time(company.now()),
          pagination: { start, limit, more_items_in_collection: more, ...(more ? { next_start: start + limit } : {}) },
        },
      });
    });
  }

  app.get('/api/v2/persons/search', ...api('search'), parameters(PERSONS_SEARCH, ['term']), (req, res) => {
    const { company } = caller(res);
    const term = str(req.query.term, 'term') ?? '';
    if (term.trim().length < 2) return sendError(res, 400, 'Parameter "term" must be at least 2 characters long');
    const fields = (str(req.query.fields, 'fields') ?? 'custom_fields,email,name,notes,phone').split(',').map((s) => s.trim());
    const exact = str(req.query.exact_match, 'exact_match') === 'true';
    const limit = Math.min(int(req.query.limit, 'limit') ?? 100, MAX_IDS * 5);
    const found = company.search(term, fields, exact).slice(0, limit);
    res.json({
      success: true,
      data: {
        items: found.map((p) => ({
          result_score: 1,
          item: {
            id: p.id,
            type: 'person',
            name: p.name,
            phones: p.phones.map((x) => x.value),
            emails: p.emails.map((x) => x.value),
            visible_to: p.visible_to,
            owner: { id: p.owner_id },
            organization: p.org_id ? { id: p.org_id, name: company.organization(p.org_id)?.name ?? null, address: null } : null,
            custom_fields: [],
            notes: p.notes ? [p.notes] : [],
            update_time: p.update_time,
          },
        })),
      },
      additional_data: { next_cursor: null },
    });
  });

  app.get('/api/v2/persons', ...api('list'), parameters(PERSONS_LIST), cursorEndpoint, (req, res) => {
    const { company } = caller(res);
    const sortBy = str(req.query.sort_by, 'sort_by');
    if (sortBy !== undefined && !['id', 'update_time', 'add_time'].includes(sortBy)) {
      return sendError(res, 400, 'Parameter "sort_by" must be one of id, update_time, add_time');
    }
    const sortDirection = str(req.query.sort_direction, 'sort_direction');
    if (sortDirection !== undefined && !['asc', 'desc'].includes(sortDirection)) {
      return sendError(res, 400, 'Parameter "sort_direction" must be asc or desc');
    }
    const limit = int(req.query.limit, 'limit');
    if (limit === 0) return sendError(res, 400, 'Parameter "limit" must be at least 1');
    const page = company.list({
      limit,
      cursor: str(req.query.cursor, 'cursor'),
      sortBy: sortBy as 'id' | 'update_time' | 'add_time' | undefined,
      sortDirection: sortDirection as 'asc' | 'desc' | undefined,
      ownerId: int(req.query.owner_id, 'owner_id'),
      orgId: int(req.query.org_id, 'org_id'),
      ids: idList(req.query.ids, 'ids'),
      updatedSince: str(req.query.updated_since, 'updated_since'),
      updatedUntil: str(req.query.updated_until, 'updated_until'),
    });
    const inc = include(req);
    res.json({ success: true, data: page.data.map((p) => v2Person(company, p, inc)), additional_data: { next_cursor: page.nextCursor } });
  });

  app.get('/api/v2/persons/:id', ...api('read'), parameters(PERSON_GET), (req, res) => {
    const { company } = caller(res);
    const person = company.find(pathId(String(req.params.id)));
    if (!person) return sendError(res, 404, 'Person not found');
    res.json({ success: true, data: v2Person(company, person, include(req)) });
  });

  app.post('/api/v2/persons', ...api('write'), parameters(NONE), (req, res) => {
    const { company, user } = caller(res);
    res.json({ success: true, data: v2Person(company, company.create(req.body, user.id), include(req)) });
  });

  app.patch('/api/v2/persons/:id', ...api('write'), parameters(NONE), (req, res) => {
    const { company, user } = caller(res);
    res.json({ success: true, data: v2Person(company, company.update(pathId(String(req.params.id)), req.body, user.id), include(req)) });
  });

  app.delete('/api/v2/persons/:id', ...api('write'), parameters(NONE), (req, res) => {
    const { company, user } = caller(res);
    const id = pathId(String(req.params.id));
    company.remove(id, user.id);
    res.json({ success: true, data: { id } });
  });

  app.get('/api/v2/organizations/search', ...api('search'), parameters(ORGS_SEARCH, ['term']), (req, res) => {
    const { company } = caller(res);
    const term = str(req.query.term, 'term') ?? '';
    if (term.trim().length < 2) return sendError(res, 400, 'Parameter "term" must be at least 2 characters long');
    const found = company.searchOrganizations(term, str(req.query.exact_match, 'exact_match') === 'true');
    res.json({
      success: true,
      data: { items: found.map((o) => ({ result_score: 1, item: { id: o.id, type: 'organization', name: o.name, address: null, visible_to: 3, owner: { id: o.owner_id }, custom_fields: [], notes: [] } })) },
      additional_data: { next_cursor: null },
    });
  });

  app.get('/api/v2/organizations', ...api('list'), parameters(ORGS_LIST), cursorEndpoint, (req, res) => {
    const { company } = caller(res);
    const ids = idList(req.query.ids, 'ids');
    const limit = Math.min(int(req.query.limit, 'limit') ?? 100, 500);
    const after = int(req.query.cursor, 'cursor') ?? 0;
    const rows = company.organizations(ids).filter((o) => o.id > after);
    const data = rows.slice(0, limit);
    res.json({
      success: true,
      data: data.map(v2Org),
      additional_data: { next_cursor: rows.length > limit ? String(data.at(-1)!.id) : null },
    });
  });

  app.post('/api/v2/organizations', ...api('write'), parameters(NONE), (req, res) => {
    const { company, user } = caller(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    res.json({ success: true, data: v2Org(company.createOrganization(body.name, user.id)) });
  });

  app.use((_req: Request, res: Response) => sendError(res, 404, 'Unknown method .'));

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof PipedriveError) return sendError(res, err.status, err.message);
    if ((err as { type?: string }).type === 'entity.parse.failed') return sendError(res, 400, 'Request body is not valid JSON');
    const status = (err as { status?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) return sendError(res, status, (err as Error).message);
    process.emitWarning(`pipedrive sandbox: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    sendError(res, 500, 'Internal server error');
  });

  const { url, port, close } = await listen(app, { port: options.port, host: options.host });

  return {
    url,
    port,
    oauthClient,
    addCompany(name, opts = {}) {
      if (companies.has(name)) throw new Error(`company "${name}" exists already`);
      companies.set(name, new Company(name, opts.settings));
      return addUser(name, {
        name: opts.adminName ?? 'Ava Admin',
        email: opts.adminEmail ?? `admin@${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.example`,
        isAdmin: true,
        apiToken: opts.apiToken,
      });
    },
    company: companyNamed,
    addUser,
    grantTokens(company, userId) {
      const c = companyNamed(company);
      return tokens.grant(accountOf(company, userId ?? c.users[0].id), oauthClient.clientId);
    },
    expireAccessTokens(company) {
      if (!company) return tokens.expireAccessTokens();
      for (const u of companyNamed(company).users) tokens.expireAccessTokens(accountOf(company, u.id));
    },
    revoke: (refreshToken) => tokens.revoke(refreshToken),
    close,
  };
}

