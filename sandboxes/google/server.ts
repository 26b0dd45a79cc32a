import express, { type NextFunction, type Request, type Response } from 'express';
import { retryAfter } from '../kit/gate';
import { listen } from '../kit/listen';
import { unknownParameter } from '../kit/query';
import { TokenService, type IssuedTokens, type OAuthClientConfig } from '../kit/oauth';
import { GoogleAccount, UNAUTHENTICATED_MESSAGE } from './store';
import { GoogleApiError, type AccountConfig } from './types';

// A local stand-in for the Google People API v1 (https://people.googleapis.com) and Google's OAuth token
// endpoint (https://oauth2.googleapis.com/token), on one port: the API under /v1, the token endpoint at /token.
// Each OAuth grant belongs to one account; a bearer token reaches that account's contacts at people/me.

export interface GoogleSandboxOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: '127.0.0.1';
  clients?: OAuthClientConfig[];
  /** Lifetime of access tokens in seconds; 3600 as Google's. */
  accessTtlSeconds?: number;
  /** Settings every new account starts with. */
  accountDefaults?: AccountConfig;
}

export interface GoogleSandbox {
  /** What the connector's scope.baseUrl takes (the real one is https://people.googleapis.com). */
  url: string;
  /** What the connector's scope.tokenUrl takes. */
  tokenUrl: string;
  client: OAuthClientConfig;
  tokens: TokenService;
  /** The account of that name, created empty when new. */
  account(name: string): GoogleAccount;
  /** A user's consent for the first client: a refresh token and an access token for the account. */
  grant(name: string): IssuedTokens;
  /** Credentials for the Google connector, as a user who authorized Rapport would give them. */
  credentials(name: string): { clientId: string; clientSecret: string; refreshToken: string; accessToken: string };
  expireAccessTokens(name?: string): void;
  revoke(refreshToken: string): void;
  close(): Promise<void>;
}

export const DEFAULT_CLIENT: OAuthClientConfig = { clientId: 'rapport-demo.apps.googleusercontent.com', clientSecret: 'GOCSPX-demo-secret' };

const PEOPLE_ID = '([A-Za-z0-9_-]+)';

type Handler = (req: Request, res: Response, account: GoogleAccount) => void;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);

/** Parameters every Google API accepts besides a method's own (https://cloud.google.com/apis/docs/system-parameters). */
const SYSTEM_PARAMETERS = ['$.xgafv', 'access_token', 'alt', 'callback', 'fields', 'key', 'oauth_token', 'prettyPrint', 'quotaUser', 'upload_protocol', 'uploadType'];

/** Google's answer to a query parameter the method does not define. */
function unknownQueryParameter(name: string): GoogleApiError {
  const text = `Invalid JSON payload received. Unknown name "${name}": Cannot bind query parameter. Field '${name}' could not be found in request message.`;
  return GoogleApiError.invalid(text, [{ description: text }]);
}

export async function startGoogleSandbox(opts: GoogleSandboxOptions = {}): Promise<GoogleSandbox> {
  const clients = opts.clients ?? [DEFAULT_CLIENT];
  const tokens = new TokenService(clients, { accessTtlSeconds: opts.accessTtlSeconds });
  const accounts = new Map<string, GoogleAccount>();
  const account = (name: string): GoogleAccount => {
    let found = accounts.get(name);
    if (!found) {
      found = new GoogleAccount(name, opts.accountDefaults);
      accounts.set(name, found);
    }
    return found;
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.post('/token', ...tokens.tokenEndpoint());

  const authenticate = tokens.middleware((res, reason) => {
    const error = new GoogleApiError(401, UNAUTHENTICATED_MESSAGE, 'UNAUTHENTICATED', [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: reason === 'missing' ? 'CREDENTIALS_MISSING' : 'ACCESS_TOKEN_EXPIRED',
        domain: 'googleapis.com',
        metadata: { service: 'people.googleapis.com', method: 'google.people.v1.PeopleService' },
      },
    ]);
    res.setHeader('WWW-Authenticate', 'Bearer realm="https://accounts.google.com/", error="invalid_token"');
    res.status(401).json(error.body());
  });

  const json = express.json({ limit: '10mb' });
  const route =
    (handler: Handler) =>
    (req: Request, res: Response, next: NextFunction): void => {
      try {
        const acct = account(String(res.locals.account));
        acct.admit();
        handler(req, res, acct);
      } catch (err) {
        next(err);
      }
    };
  // Each method's query parameters, from its page of the REST reference (https://developers.google.com/people/api/rest/v1/…),
  // plus the system parameters every Google API takes (https://cloud.google.com/apis/docs/system-parameters).
  const queryChecked =
    (allowed: readonly string[]) =>
    (req: Request, _res: Response, next: NextFunction): void => {
      const unknown = unknownParameter(req.query as Record<string, unknown>, [...allowed, ...SYSTEM_PARAMETERS]);
      next(unknown === undefined ? undefined : unknownQueryParameter(unknown));
    };
  const api = (method: 'get' | 'post' | 'patch' | 'delete', path: RegExp, allowed: readonly string[], handler: Handler) =>
    app[method](path, authenticate, queryChecked(allowed), json, route(handler));

  api('get', /^\/v1\/people\/me\/connections$/, ['personFields', 'pageSize', 'pageToken', 'requestSyncToken', 'sortOrder', 'sources', 'syncToken', 'requestMask.includeField'], (req, res, acct) => {
    const q = req.query as Record<string, unknown>;
    res.json(
      acct.listConnections({
        personFields: str(q.personFields),
        pageSize: str(q.pageSize),
        pageToken: str(q.pageToken),
        syncToken: str(q.syncToken),
        requestSyncToken: str(q.requestSyncToken),
        sortOrder: str(q.sortOrder),
        sources: str(q.sources),
      }),
    );
  });
  api('get', /^\/v1\/people:batchGet$/, ['resourceNames', 'personFields', 'sources', 'requestMask.includeField'], (req, res, acct) => {
    res.json(acct.batchGet(list(req.query.resourceNames), req.query.personFields));
  });
  api('get', /^\/v1\/people:searchContacts$/, ['query', 'readMask', 'pageSize', 'sources'], (req, res, acct) => {
    res.json(acct.search(req.query.query, req.query.readMask, req.query.pageSize));
  });
  api('post', /^\/v1\/people:createContact$/, ['personFields', 'sources'], (req, res, acct) => {
    res.json(acct.createContact(req.body, req.query.personFields));
  });
  api('post', /^\/v1\/people:batchCreateContacts$/, [], (req, res, acct) => {
    res.json(acct.batchCreate(req.body));
  });
  api('post', /^\/v1\/people:batchDeleteContacts$/, [], (req, res, acct) => {
    acct.batchDelete(req.body);
    res.json({});
  });
  api('patch', new RegExp(`^/v1/people/${PEOPLE_ID}:updateContact$`), ['updatePersonFields', 'personFields', 'sources'], (req, res, acct) => {
    res.json(acct.updateContact(String(req.params[0]), req.body, req.query.updatePersonFields, req.query.personFields));
  });
  api('delete', new RegExp(`^/v1/people/${PEOPLE_ID}:deleteContact$`), [], (req, res, acct) => {
    acct.deleteContact(String(req.params[0]));
    res.json({});
  });
  api('get', new RegExp(`^/v1/people/${PEOPLE_ID}$`), ['personFields', 'sources', 'requestMask.includeField'], (req, res, acct) => {
    if (req.params[0] === 'me') throw new GoogleApiError(403, 'The caller does not have permission to read the profile here.', 'PERMISSION_DENIED');
    res.json(acct.getPerson(String(req.params[0]), req.query.personFields));
  });
  api('get', /^\/v1\/contactGroups$/, ['pageSize', 'pageToken', 'syncToken', 'groupFields'], (req, res, acct) => {
    res.json(acct.listGroups(req.query.pageSize, req.query.pageToken));
  });
  api('post', /^\/v1\/contactGroups$/, [], (req, res, acct) => {
    res.json(acct.createGroupApi(req.body));
  });
  api('get', new RegExp(`^/v1/contactGroups/${PEOPLE_ID}$`), ['maxMembers', 'groupFields'], (req, res, acct) => {
    res.json(acct.getGroup(String(req.params[0])));
  });

  app.use((req: Request, res: Response) => {
    res.status(404).json(new GoogleApiError(404, `Method not found: ${req.method} ${req.path}`, 'NOT_FOUND').body());
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof GoogleApiError) {
      res.status(err.code).set(retryAfter(err.retryAfterSeconds)).json(err.body());
      return;
    }
    if ((err as { type?: string }).type === 'entity.parse.failed') {
      res.status(400).json(GoogleApiError.invalid('Invalid JSON payload received.').body());
      return;
    }
    process.emitWarning(`google sandbox: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    res.status(500).json(new GoogleApiError(500, 'Internal error encountered.', 'INTERNAL').body());
  });

  const { url, close } = await listen(app, { port: opts.port, host: opts.host });

  const grant = (name: string) => {
    account(name);
    return tokens.grant(name, clients[0].clientId);
  };
  return {
    url,
    tokenUrl: `${url}/token`,
    client: clients[0],
    tokens,
    account,
    grant,
    credentials(name) {
      const issued = grant(name);
      return { ...clients[0], refreshToken: issued.refreshToken, accessToken: issued.accessToken };
    },
    expireAccessTokens: (name) => tokens.expireAccessTokens(name),
    revoke: (refreshToken) => tokens.revoke(refreshToken),
    close,
  };
}
