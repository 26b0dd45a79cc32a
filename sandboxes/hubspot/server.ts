import express, { type NextFunction, type Request, type Response } from 'express';
import { gate } from '../kit/gate';
import type {
  BasicApiGetByIdRequest,
  BasicApiGetPageRequest,
  BasicApiUpdateRequest,
  BatchApiReadRequest,
} from '@hubspot/api-client/lib/codegen/crm/contacts/types/ObjectParamAPI';
import type { ListsApiGetByIdRequest, MembershipsApiGetPageRequest } from '@hubspot/api-client/lib/codegen/crm/lists/types/ObjectParamAPI';
import type { OwnersApiGetPageRequest } from '@hubspot/api-client/lib/codegen/crm/owners/types/ObjectParamAPI';
import type { CoreApiGetAllRequest, CoreApiGetByNameRequest } from '@hubspot/api-client/lib/codegen/crm/properties/types/ObjectParamAPI';
import { listen } from '../kit/listen';
import { unknownParameter } from '../kit/query';
import { TokenService, type OAuthClientConfig } from '../kit/oauth';
import {
  DEFAULT_READ_PROPERTIES,
  HubSpotAccount,
  HubSpotError,
  MAX_BATCH,
  MAX_MEMBERSHIP_PAGE,
  errorBody,
  missingScopes,
  type AccountConfig,
  type PropertyDef,
  type SearchRequest,
  type StoredContact,
  type StoredList,
} from './store';

// A local stand-in for HubSpot's CRM API (contacts v3, properties, owners, OAuth): several portals behind one
// base URL, told apart by the bearer token (a private-app token or an OAuth access token), as on api.hubapi.com.

export interface HubSpotSandboxOptions {
  port?: number;
  host?: '127.0.0.1';
  /** Portals to create at start, by name. */
  accounts?: Record<string, AccountConfig>;
  oauthClient?: OAuthClientConfig;
  /** Lifetime of OAuth access tokens; HubSpot's is 30 minutes. */
  accessTtlSeconds?: number;
}

export interface OAuthGrant {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  accessToken: string;
}

export interface HubSpotSandbox {
  url: string;
  account(name: string): HubSpotAccount;
  addAccount(name: string, config?: AccountConfig): HubSpotAccount;
  accounts(): HubSpotAccount[];
  /** What a user installing the OAuth app on the portal gives it; `user` is the installing user's email. */
  grantOAuth(account: string, user?: string): OAuthGrant;
  /** Every access token (of one portal, or all) expires now. */
  expireTokens(account?: string): void;
  /** The user uninstalls the app: the refresh token stops working. */
  revoke(refreshToken: string): void;
  /** The next `count` API requests of the portal fail with `status` and HubSpot's body for it. */
  failNext(account: string, status: number, count?: number): void;
  /** The portal's contacts as HubSpot stores them, archived ones included. */
  contacts(account: string): StoredContact[];
  close(): Promise<void>;
}

export const DEFAULT_OAUTH_CLIENT: OAuthClientConfig = { clientId: 'rapport-demo-client', clientSecret: 'rapport-demo-secret' };

type Req = Request<Record<string, string>>;
const CONTACTS = '/crm/v3/objects/contacts';
const WRITE_SCOPE = 'crm.objects.contacts.write';
const LISTS = '/crm/v3/lists';
const LISTS_READ_SCOPE = 'crm.lists.read';
const LISTS_WRITE_SCOPE = 'crm.lists.write';

function send(res: Response, err: HubSpotError): void {
  res.status(err.status).json(err.body);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A contact as the API returns it: only the asked properties (null when unset), or every set one after a write. */
function serialize(c: StoredContact, properties: string[] | 'all'): Record<string, unknown> {
  const props: Record<string, string | null> = {};
  if (properties === 'all') {
    for (const [k, v] of Object.entries(c.properties)) if (v !== null && v !== undefined) props[k] = v;
  } else {
    for (const name of properties) props[name] = c.properties[name] ?? null;
  }
  return {
    id: c.id,
    properties: props,
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
    archived: c.archived,
    ...(c.archived && c.archivedAt !== undefined ? { archivedAt: iso(c.archivedAt) } : {}),
  };
}

/** A list definition as the Lists API v3 returns it; the additional properties are the ones search sends by default. */
function serializeList(l: StoredList): Record<string, unknown> {
  return {
    listId: l.listId,
    name: l.name,
    objectTypeId: l.objectTypeId,
    processingType: l.processingType,
    processingStatus: 'COMPLETE',
    listVersion: l.listVersion,
    createdAt: iso(l.createdAt),
    updatedAt: iso(l.updatedAt),
    filtersUpdatedAt: iso(l.createdAt),
    additionalProperties: {
      hs_list_size: String(l.members.size),
      hs_list_reference_count: '0',
      ...(l.lastAddedAt !== undefined ? { hs_last_record_added_at: String(l.lastAddedAt) } : {}),
      ...(l.lastRemovedAt !== undefined ? { hs_last_record_removed_at: String(l.lastRemovedAt) } : {}),
    },
  };
}

function requested(account: HubSpotAccount, raw: unknown): string[] {
  const list = (Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(',') : []).map((s) => s.trim()).filter(Boolean);
  // Unknown property names are ignored, as HubSpot does.
  const known = list.filter((name) => account.property(name));
  return known.length > 0 || list.length > 0 ? [...new Set(known)] : DEFAULT_READ_PROPERTIES;
}

function inputsOf(body: unknown): Record<string, unknown>[] {
  const inputs = (body as { inputs?: unknown } | undefined)?.inputs;
  if (!Array.isArray(inputs)) throw new HubSpotError(400, errorBody('VALIDATION_ERROR', 'Invalid input JSON on line 1: inputs is required'));
  if (inputs.length > MAX_BATCH) {
    throw new HubSpotError(400, errorBody('VALIDATION_ERROR', `Batch input exceeds the limit of ${MAX_BATCH} inputs; got ${inputs.length}.`));
  }
  return inputs as Record<string, unknown>[];
}

const propertiesOf = (input: Record<string, unknown>): Record<string, unknown> =>
  (input.properties && typeof input.properties === 'object' ? input.properties : {}) as Record<string, unknown>;

function batchReply(res: Response, results: Record<string, unknown>[], missing: string[], status = 200): void {
  const started = new Date().toISOString();
  if (missing.length === 0) {
    res.status(status).json({ status: 'COMPLETE', results, startedAt: started, completedAt: new Date().toISOString() });
    return;
  }
  res.status(207).json({
    status: 'COMPLETE',
    results,
    numErrors: 1,
    errors: [
      {
        status: 'error',
        category: 'OBJECT_NOT_FOUND',
        message: 'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.',
        context: { ids: missing },
      },
    ],
    startedAt: started,
    completedAt: new Date().toISOString(),
  });
}

// The query parameters of each endpoint, as HubSpot's reference defines them (https://developers.hubspot.com/docs/api-reference/crm-contacts-v3,
// …-lists-v3, …-properties-v3, …-owners-v3); the names are checked against the request types of HubSpot's own
// client (@hubspot/api-client, generated from that reference), so naming a parameter HubSpot lacks fails the
// typecheck. Path parameters (contactId, listId, objectType, propertyName) are not query parameters.
type Query<T, Path extends string = never> = readonly Exclude<keyof T, Path>[];
const LIST_CONTACTS = ['limit', 'after', 'properties', 'propertiesWithHistory', 'associations', 'archived'] as const satisfies Query<BasicApiGetPageRequest>;
const GET_CONTACT = ['properties', 'propertiesWithHistory', 'associations', 'archived', 'idProperty'] as const satisfies Query<BasicApiGetByIdRequest, 'contactId'>;
const UPDATE_CONTACT = ['idProperty'] as const satisfies Query<BasicApiUpdateRequest, 'contactId' | 'simplePublicObjectInput'>;
const BATCH_READ = ['archived'] as const satisfies Query<BatchApiReadRequest, 'batchReadInputSimplePublicObjectId'>;
const GET_LIST = ['includeFilters'] as const satisfies Query<ListsApiGetByIdRequest, 'listId'>;
const MEMBERSHIPS = ['after', 'before', 'limit'] as const satisfies Query<MembershipsApiGetPageRequest, 'listId'>;
const PROPERTIES = ['archived', 'properties'] as const satisfies Query<CoreApiGetAllRequest, 'objectType'>;
const PROPERTY = ['archived', 'properties'] as const satisfies Query<CoreApiGetByNameRequest, 'objectType' | 'propertyName'>;
const OWNERS = ['email', 'after', 'limit', 'archived'] as const satisfies Query<OwnersApiGetPageRequest>;
const NONE: readonly string[] = [];

/**
 * A query parameter the endpoint does not define is refused with HubSpot's 400 VALIDATION_ERROR body. HubSpot
 * does not document what it does with one (it may ignore it); refusing it catches a misspelt parameter, which
 * would otherwise be silently without effect. The message is the sandbox's own.
 */
const parameters =
  (allowed: readonly string[]) =>
  (req: Request, _res: Response, next: NextFunction): void => {
    const unknown = unknownParameter(req.query as Record<string, unknown>, allowed);
    next(unknown === undefined ? undefined : new HubSpotError(400, errorBody('VALIDATION_ERROR', `Unknown query parameter: ${unknown}`)));
  };

export async function startHubSpotSandbox(options: HubSpotSandboxOptions = {}): Promise<HubSpotSandbox> {
  const registry = new Map<string, HubSpotAccount>();
  const byPrivateToken = new Map<string, HubSpotAccount>();
  const oauthClient = options.oauthClient ?? DEFAULT_OAUTH_CLIENT;
  const tokens = new TokenService([oauthClient], { accessTtlSeconds: options.accessTtlSeconds ?? 1800 });
  let nextPortal = 24_000_001;

  const addAccount = (name: string, config: AccountConfig = {}): HubSpotAccount => {
    const existing = registry.get(name);
    if (existing) {
      existing.configure(config);
      return existing;
    }
    const account = new HubSpotAccount(name, nextPortal++, config);
    registry.set(name, account);
    byPrivateToken.set(account.privateAppToken, account);
    return account;
  };
  for (const [name, config] of Object.entries(options.accounts ?? {})) addAccount(name, config);

  const accountNamed = (name: string): HubSpotAccount => {
    const found = registry.get(name);
    if (!found) throw new Error(`no HubSpot sandbox account named "${name}"`);
    return found;
  };

  // OAuth grants name "<account>\n<user email>", so the token-info endpoint can tell who installed the app.
  const grantKey = (account: string, user: string) => `${account}\n${user}`;
  const granted = new Set<string>();
  const parseGrant = (key: string) => {
    const [account, user] = key.split('\n');
    return { account, user };
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  const json = express.json({ limit: '10mb' });

  app.post('/oauth/v1/token', ...tokens.tokenEndpoint());

  app.get('/oauth/v1/access-tokens/:token', (req: Req, res: Response) => {
    const verdict = tokens.verify(req.params.token);
    if ('error' in verdict) {
      return void res.status(404).json(errorBody('OBJECT_NOT_FOUND', 'Access token not found or expired'));
    }
    const { account, user } = parseGrant(verdict.account);
    const portal = registry.get(account);
    const owner = portal?.owners.find((o) => o.email === user);
    res.json({
      token: req.params.token,
      user,
      hub_id: portal?.portalId,
      user_id: owner?.userId,
      app_id: 3_000_001,
      expires_in: options.accessTtlSeconds ?? 1800,
      scopes: portal?.config.scopes ?? [],
      token_type: 'access',
    });
  });

  /** Bearer check: a private-app token names its portal; an OAuth access token names the portal it was granted for. */
  const authenticate = (req: Req, res: Response, next: NextFunction): void => {
    const header = req.headers.authorization;
    const token = header ? /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() : undefined;
    let account = token ? byPrivateToken.get(token) : undefined;
    if (!account && token) {
      const verdict = tokens.verify(token);
      if ('account' in verdict) account = registry.get(parseGrant(verdict.account).account);
      else if (verdict.error === 'expired') {
        return void res.status(401).json(errorBody('EXPIRED_AUTHENTICATION', 'The OAuth token used to make this call expired.'));
      }
    }
    if (!account) {
      return void res
        .status(401)
        .json(
          errorBody(
            'INVALID_AUTHENTICATION',
            'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
          ),
        );
    }
    res.locals.account = account;
    next();
  };

  const admit = (search: boolean) =>
    gate<Req>((_req, res) => {
      const account = res.locals.account as HubSpotAccount;
      const refused = account.admit(search);
      if (!search) res.set(account.rateHeaders());
      return refused;
    });

  const needsWrite = (_req: Req, res: Response, next: NextFunction): void => {
    const account = res.locals.account as HubSpotAccount;
    if (!account.config.scopes.includes(WRITE_SCOPE)) return void res.status(403).json(missingScopes(WRITE_SCOPE));
    next();
  };

  const api = [authenticate, admit(false), json];
  const write = [...api, needsWrite];
  const acct = (res: Response) => res.locals.account as HubSpotAccount;

  app.get(CONTACTS, ...api, parameters(LIST_CONTACTS), (req: Req, res: Response) => {
    const account = acct(res);
    const limit = req.query.limit === undefined ? 10 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw new HubSpotError(400, errorBody('VALIDATION_ERROR', `limit must be between 1 and 100, got ${String(req.query.limit)}`));
    }
    const archived = req.query.archived === 'true';
    const props = requested(account, req.query.properties);
    const page = account.page({ limit, after: typeof req.query.after === 'string' ? req.query.after : undefined, archived });
    const self = `${baseUrl}${CONTACTS}`;
    res.json({
      results: page.results.map((c) => serialize(c, props)),
      ...(page.next
        ? { paging: { next: { after: page.next, link: `${self}?after=${page.next}&limit=${limit}${archived ? '&archived=true' : ''}` } } }
        : {}),
    });
  });

  // Search has its own per-second limit and sends no X-HubSpot-RateLimit headers.
  app.post(`${CONTACTS}/search`, authenticate, admit(true), parameters(NONE), json, (req: Req, res: Response) => {
    const account = acct(res);
    const body = (req.body ?? {}) as SearchRequest;
    const found = account.search(body);
    const props = requested(account, body.properties);
    res.json({
      total: found.total,
      results: found.results.map((c) => serialize(c, props)),
      ...(found.after ? { paging: { next: { after: found.after } } } : {}),
    });
  });

  app.post(`${CONTACTS}/batch/read`, ...api, parameters(BATCH_READ), (req: Req, res: Response) => {
    const account = acct(res);
    const body = (req.body ?? {}) as { properties?: string[]; idProperty?: string };
    const props = requested(account, body.properties);
    const archived = req.query.archived === 'true';
    const results: Record<string, unknown>[] = [];
    const missing: string[] = [];
    for (const input of inputsOf(req.body)) {
      const id = String(input.id ?? '');
      const found = account.get(id, { archived, idProperty: body.idProperty });
      if (found) results.push(serialize(found, props));
      else missing.push(id);
    }
    batchReply(res, results, missing);
  });

  app.post(`${CONTACTS}/batch/create`, ...write, parameters(NONE), (req: Req, res: Response) => {
    const made = acct(res).create(inputsOf(req.body).map(propertiesOf));
    batchReply(res, made.map((c) => serialize(c, 'all')), [], 201);
  });

  app.post(`${CONTACTS}/batch/update`, ...write, parameters(NONE), (req: Req, res: Response) => {
    const inputs = inputsOf(req.body).map((i) => ({ id: String(i.id ?? ''), properties: propertiesOf(i), idProperty: i.idProperty }));
    const idProperty = typeof inputs[0]?.idProperty === 'string' ? inputs[0].idProperty : undefined;
    const { done, missing } = acct(res).update(inputs, idProperty);
    batchReply(res, done.map((c) => serialize(c, 'all')), missing);
  });

  app.post(`${CONTACTS}/batch/upsert`, ...write, parameters(NONE), (req: Req, res: Response) => {
    const inputs = inputsOf(req.body);
    for (const input of inputs) {
      if (input.idProperty !== 'email') {
        throw new HubSpotError(400, errorBody('VALIDATION_ERROR', 'Upsert requires idProperty to be a unique property, such as email.'));
      }
    }
    const out = acct(res).upsertByEmail(inputs.map((i) => ({ id: String(i.id ?? ''), properties: propertiesOf(i) })));
    batchReply(res, out.map(({ contact, isNew }) => ({ ...serialize(contact, 'all'), new: isNew })), []);
  });

  app.post(`${CONTACTS}/batch/archive`, ...write, parameters(NONE), (req: Req, res: Response) => {
    acct(res).archive(inputsOf(req.body).map((i) => String(i.id ?? '')));
    res.status(204).end();
  });

  app.get(`${CONTACTS}/:id`, ...api, parameters(GET_CONTACT), (req: Req, res: Response) => {
    const account = acct(res);
    const idProperty = typeof req.query.idProperty === 'string' ? req.query.idProperty : undefined;
    const found = account.get(req.params.id, { archived: req.query.archived === 'true', idProperty });
    if (!found) return void res.status(404).json(errorBody('OBJECT_NOT_FOUND', 'resource not found'));
    res.json(serialize(found, requested(account, req.query.properties)));
  });

  app.post(CONTACTS, ...write, parameters(NONE), (req: Req, res: Response) => {
    const [made] = acct(res).create([propertiesOf(req.body ?? {})]);
    res.status(201).json(serialize(made, 'all'));
  });

  app.patch(`${CONTACTS}/:id`, ...write, parameters(UPDATE_CONTACT), (req: Req, res: Response) => {
    const idProperty = typeof req.query.idProperty === 'string' ? req.query.idProperty : undefined;
    const { done } = acct(res).update([{ id: req.params.id, properties: propertiesOf(req.body ?? {}) }], idProperty);
    if (done.length === 0) return void res.status(404).json(errorBody('OBJECT_NOT_FOUND', 'resource not found'));
    res.json(serialize(done[0], 'all'));
  });

  app.delete(`${CONTACTS}/:id`, ...write, parameters(NONE), (req: Req, res: Response) => {
    acct(res).archive([req.params.id]);
    res.status(204).end();
  });

  const scoped = (scope: string) => (_req: Req, res: Response, next: NextFunction): void => {
    if (!acct(res).config.scopes.includes(scope)) return void res.status(403).json(missingScopes(scope));
    next();
  };
  const listsRead = [...api, scoped(LISTS_READ_SCOPE)];
  const listsWrite = [...api, scoped(LISTS_WRITE_SCOPE)];

  app.post(`${LISTS}/search`, ...listsRead, parameters(NONE), (req: Req, res: Response) => {
    const found = acct(res).searchLists((req.body ?? {}) as Record<string, unknown>);
    res.json({ lists: found.lists.map(serializeList), offset: found.offset, hasMore: found.hasMore, total: found.total });
  });

  app.post(LISTS, ...listsWrite, parameters(NONE), (req: Req, res: Response) => {
    res.json({ list: serializeList(acct(res).createList((req.body ?? {}) as Record<string, unknown>)) });
  });

  app.get(`${LISTS}/:listId`, ...listsRead, parameters(GET_LIST), (req: Req, res: Response) => {
    const list = acct(res).listById(req.params.listId);
    if (!list) return void res.status(404).json(errorBody('OBJECT_NOT_FOUND', `List does not exist with ID ${req.params.listId}.`, { subCategory: 'ListError.LIST_DOES_NOT_EXIST' }));
    res.json({ list: serializeList(list) });
  });

  app.get(`${LISTS}/:listId/memberships`, ...listsRead, parameters(MEMBERSHIPS), (req: Req, res: Response) => {
    const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
    const page = acct(res).memberships(req.params.listId, { limit, after: typeof req.query.after === 'string' ? req.query.after : undefined });
    res.json({
      total: page.total,
      results: page.results.map((m) => ({ recordId: m.recordId, membershipTimestamp: iso(m.joinedAt) })),
      ...(page.after ? { paging: { next: { after: page.after, link: `${baseUrl}${LISTS}/${req.params.listId}/memberships?after=${page.after}&limit=${Math.min(limit, MAX_MEMBERSHIP_PAGE)}` } } } : {}),
    });
  });

  app.put(`${LISTS}/:listId/memberships/add-and-remove`, ...listsWrite, parameters(NONE), (req: Req, res: Response) => {
    const body = (req.body ?? {}) as { recordIdsToAdd?: unknown; recordIdsToRemove?: unknown };
    const done = acct(res).changeMemberships(req.params.listId, body.recordIdsToAdd, body.recordIdsToRemove);
    // "recordsIdsAdded" is HubSpot's own spelling.
    res.json({ recordIdsRemoved: done.removed, recordsIdsAdded: done.added, recordIdsMissing: done.missing });
  });

  app.get('/crm/v3/properties/contacts', ...api, parameters(PROPERTIES), (_req: Req, res: Response) => {
    res.json({ results: acct(res).properties });
  });

  app.get('/crm/v3/properties/contacts/:name', ...api, parameters(PROPERTY), (req: Req, res: Response) => {
    const def = acct(res).property(req.params.name);
    if (!def) return void res.status(404).json(errorBody('OBJECT_NOT_FOUND', `Unable to find property ${req.params.name} for object type CONTACT.`));
    res.json(def);
  });

  app.post('/crm/v3/properties/contacts', ...api, parameters(NONE), (req: Req, res: Response) => {
    res.status(201).json(acct(res).addProperty(req.body as PropertyDef));
  });

  app.patch('/crm/v3/properties/contacts/:name', ...api, parameters(NONE), (req: Req, res: Response) => {
    res.json(acct(res).updateProperty(req.params.name, (req.body ?? {}) as Partial<PropertyDef>));
  });

  app.get('/crm/v3/owners', ...api, parameters(OWNERS), (req: Req, res: Response) => {
    const email = typeof req.query.email === 'string' ? req.query.email.toLowerCase() : undefined;
    const owners = acct(res).owners.filter((o) => !email || o.email === email);
    res.json({
      results: owners.map((o) => ({ ...o, archived: false, createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z' })),
    });
  });

  app.use((_req: Request, res: Response) => {
    res.status(404).json(errorBody('OBJECT_NOT_FOUND', 'Route not found'));
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof HubSpotError) return send(res, err);
    if ((err as { type?: string }).type === 'entity.parse.failed') {
      return send(res, new HubSpotError(400, errorBody('VALIDATION_ERROR', 'Invalid input JSON: the body is not valid JSON')));
    }
    process.emitWarning(`hubspot sandbox: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    send(res, new HubSpotError(500, errorBody('INTERNAL_ERROR', 'internal error')));
  });

  const { url: baseUrl, close } = await listen(app, { port: options.port, host: options.host });

  return {
    url: baseUrl,
    account: accountNamed,
    addAccount,
    accounts: () => [...registry.values()],
    grantOAuth(account, user) {
      const portal = accountNamed(account);
      const key = grantKey(account, user ?? portal.owners[0].email);
      granted.add(key);
      const issued = tokens.grant(key, oauthClient.clientId);
      return { clientId: oauthClient.clientId, clientSecret: oauthClient.clientSecret, refreshToken: issued.refreshToken, accessToken: issued.accessToken };
    },
    expireTokens(account) {
      if (!account) return tokens.expireAccessTokens();
      for (const key of granted) if (parseGrant(key).account === account) tokens.expireAccessTokens(key);
    },
    revoke: (refreshToken) => tokens.revoke(refreshToken),
    failNext: (account, status, count) => accountNamed(account).failNext(status, count),
    contacts: (account) => accountNamed(account).all(),
    close,
  };
}
