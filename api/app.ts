import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { apps as catalog } from '../connectors/catalog';
import type { AppDefinition } from '../connectors/types';
import { pingDatabase, type Db } from '../db/client';
import { activityRoutes } from './activity';
import { brakeRoutes } from './brake';
import { appInfo } from './apps';
import { authenticate } from './auth';
import { connectionRoutes } from './connections';
import { contactRoutes } from './contacts';
import type { ConnectionControlPort } from './control';
import { ApiError, errorSummary } from './errors';
import { healthRoutes } from './health';
import { createLogger, redactOptions, requestLogger } from './logging';
import { buildOpenApiDocument } from './openapi';
import { sessionRoutes } from './session';
import { dashboard, securityHeaders } from './static';

export type { ConnectionControlPort } from './control';

export interface Readiness {
  ok: boolean;
  checks: Record<string, string>;
}

export interface ApiDeps {
  db: Db;
  control: ConnectionControlPort;
  /** 32 bytes (db/crypto.ts loadMasterKey) */
  masterKey: Buffer;
  logger?: Logger;
  /** GET /readyz; by default only the database is checked */
  readiness?: () => Promise<Readiness>;
  /** The connectable apps; the catalog by default (tests pass their own). */
  apps?: Record<string, AppDefinition>;
  statusTimeoutMs?: number;
  controlTimeoutMs?: number;
  /** The built dashboard (web/dist by default) served at `/`. */
  webDist?: string;
  /** How long GET /connections/:id/contacts reuses a connection's counts (api/contacts.ts; 0 in some tests). */
  contactCountsTtlMs?: number;
  /** The Temporal UI's base URL, handed to the dashboard for its links (TEMPORAL_UI_URL); null by default. */
  temporalUiUrl?: string | null;
  /** The Temporal namespace of the control's client, for the same links; "default" by default. */
  temporalNamespace?: string;
}

/** A database check for readiness probes, shared with api/server.ts. */
export async function checkDatabase(db: Db): Promise<string> {
  try {
    await pingDatabase(db);
    return 'ok';
  } catch (err) {
    return `failed: ${errorSummary(err).message}`;
  }
}

export function createApp(deps: ApiDeps): express.Application {
  if (!Buffer.isBuffer(deps.masterKey) || deps.masterKey.length !== 32) throw new Error('createApp: masterKey must be 32 bytes');
  const logger = (deps.logger ?? createLogger()).child({ component: 'api' }, { redact: redactOptions });
  const apps = deps.apps ?? catalog;
  const lookup = (id: string) => (Object.hasOwn(apps, id) ? apps[id] : undefined);
  const readiness = deps.readiness ?? (async () => {
    const database = await checkDatabase(deps.db);
    return { ok: database === 'ok', checks: { database } };
  });
  // Built once: the document only depends on the code and the catalog.
  const openapi = buildOpenApiDocument(Object.values(apps));
  const catalogView = { apps: Object.values(apps).map(appInfo) };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(securityHeaders());
  app.use(requestLogger(logger));
  app.use(express.json({ limit: '1mb' }));

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/readyz', async (_req, res) => {
    let result: Readiness;
    try {
      result = await readiness();
    } catch (err) {
      result = { ok: false, checks: { readiness: `failed: ${errorSummary(err).message}` } };
    }
    res.status(result.ok ? 200 : 503).json(result);
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  app.use(sessionRoutes({ db: deps.db, temporalUiUrl: deps.temporalUiUrl ?? null, temporalNamespace: deps.temporalNamespace ?? 'default' }));

  const statusTimeoutMs = deps.statusTimeoutMs ?? 3_000;
  const authed = express.Router();
  // Authentication guards the API's own prefixes only, so an unknown path is a 404 with or without a key.
  authed.use(['/apps', '/connections'], authenticate(deps.db));
  authed.get('/apps', (_req, res) => {
    res.json(catalogView);
  });
  authed.use(
    connectionRoutes({
      db: deps.db,
      control: deps.control,
      masterKey: deps.masterKey,
      apps: lookup,
      appIds: () => Object.keys(apps),
      logger,
      statusTimeoutMs,
      controlTimeoutMs: deps.controlTimeoutMs ?? 30_000,
    }),
  );
  authed.use(healthRoutes({ db: deps.db }));
  authed.use(brakeRoutes({ db: deps.db, control: deps.control, apps: lookup, logger, statusTimeoutMs }));
  authed.use(contactRoutes({ db: deps.db, apps: lookup, countsTtlMs: deps.contactCountsTtlMs }));
  authed.use(activityRoutes({ db: deps.db }));
  app.use(authed);
  app.use(dashboard(deps.webDist));

  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(new ApiError(404, 'not_found', `No route for ${req.method} ${req.path}`));
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = toErrorResponse(err);
    if (status >= 500 && !(err instanceof ApiError)) {
      logger.error({ method: req.method, path: req.path, error: errorSummary(err) }, 'unhandled error');
    }
    if (status === 401) res.set('WWW-Authenticate', 'Bearer realm="rapport"');
    res.status(status).json(body);
  });
  return app;
}

function toErrorResponse(err: unknown): { status: number; body: { error: { code: string; message: string; issues?: { path: string; message: string }[] } } } {
  if (err instanceof ApiError) {
    return {
      status: err.status,
      body: { error: { code: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}) } },
    };
  }
  const parserError = err as { type?: string; status?: number; message?: string };
  // JSON.parse's own message quotes part of the body, which may hold credentials: it is not passed on.
  if (parserError?.type === 'entity.parse.failed') {
    return { status: 400, body: { error: { code: 'invalid_json', message: 'The request body is not valid JSON' } } };
  }
  if (parserError?.type === 'entity.too.large') {
    return { status: 413, body: { error: { code: 'too_large', message: 'The request body is larger than 1 MB' } } };
  }
  if (typeof parserError?.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
    const code = parserError.type === 'encoding.unsupported' || parserError.type === 'charset.unsupported' ? 'unsupported_encoding' : 'bad_request';
    return { status: parserError.status, body: { error: { code, message: 'The request body could not be read' } } };
  }
  return { status: 500, body: { error: { code: 'internal', message: 'Internal error' } } };
}
