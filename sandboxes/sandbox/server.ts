import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { gate, retryAfter } from '../kit/gate';
import { listen } from '../kit/listen';
import { InstanceFiles } from './persist';
import { SandboxError, SandboxInstance, parseIfMatch } from './store';
import { MAX_BATCH_OPERATIONS, type ApiError, type InstanceConfig, type Outcome } from './types';

// The Sandbox app's HTTP API: several named instances ("accounts") behind one server, each under /<name>/.
// It answers the way a real contacts API does (bearer tokens, ETags, 412, 422 with field paths, 429 with
// Retry-After, 410 for an expired feed cursor) so connector and engine code meets those cases in tests.

export interface SandboxOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Where each instance's state is saved; memory only when absent. */
  dataDir?: string;
  instances?: Record<string, InstanceConfig>;
}

export interface Sandbox {
  url: string;
  port: number;
  /** An existing instance; throws when there is none of that name. */
  instance(name: string): SandboxInstance;
  /** Creates an instance, or reconfigures it when it exists (its contacts are kept). */
  addInstance(name: string, config: InstanceConfig): SandboxInstance;
  instances(): SandboxInstance[];
  /** The base URL of one instance's API, e.g. http://127.0.0.1:4010/alpha */
  instanceUrl(name: string): string;
  close(): Promise<void>;
}

const INSTANCE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

type Req = Request<Record<string, string>>;
type InstanceRequest = Req & { sandbox: SandboxInstance };

function sendError(res: Response, status: number, error: ApiError): void {
  res.status(status).json({ error });
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function bearer(req: Req): string | null {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
  return match ? match[1].trim() : null;
}

function sendContact(res: Response, outcome: Outcome): void {
  if (outcome.error) return sendError(res, outcome.status, outcome.error);
  if (!outcome.contact) {
    res.status(outcome.status).end();
    return;
  }
  res.setHeader('ETag', `"${outcome.contact.version}"`);
  res.status(outcome.status).json(outcome.contact);
}

function intParam(value: unknown, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n < 1) {
    throw new SandboxError(400, { code: 'invalid_parameter', field: name, message: `${name} must be a positive integer` });
  }
  return n;
}

function stringParam(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new SandboxError(400, { code: 'invalid_parameter', field: name, message: `${name} must be given once` });
  }
  return value;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const registry = new Map<string, SandboxInstance>();
  const files = options.dataDir ? new InstanceFiles(options.dataDir) : null;

  const register = (instance: SandboxInstance): SandboxInstance => {
    if (files) instance.onChange = () => files.schedule(instance);
    registry.set(instance.name, instance);
    return instance;
  };

  const addInstance = (name: string, config: InstanceConfig): SandboxInstance => {
    if (!INSTANCE_NAME.test(name)) throw new Error(`instance name "${name}" must match ${INSTANCE_NAME}`);
    const existing = registry.get(name);
    if (existing) {
      existing.configure(config as unknown as Record<string, unknown>);
      return existing;
    }
    const instance = register(new SandboxInstance(name, config));
    instance.onChange();
    return instance;
  };

  if (files) {
    for (const state of await files.loadAll()) {
      register(SandboxInstance.fromState(state, options.instances?.[state.name]));
    }
  }
  for (const [name, config] of Object.entries(options.instances ?? {})) {
    if (!registry.has(name)) addInstance(name, config);
  }

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  /** Token check, shared by the API and the admin endpoints. Admin calls may create the instance. */
  const authenticate =
    (admin: boolean) =>
    (req: Req, res: Response, next: NextFunction): void => {
      const name = req.params.inst;
      const token = bearer(req);
      if (!token) return sendError(res, 401, { code: 'unauthorized', message: 'missing bearer token' });
      let instance = registry.get(name);
      if (!instance) {
        if (!admin) return sendError(res, 404, { code: 'not_found', message: `no instance named "${name}"` });
        if (!INSTANCE_NAME.test(name)) {
          return sendError(res, 400, { code: 'invalid_instance', message: `instance names must match ${INSTANCE_NAME}` });
        }
        instance = addInstance(name, { token });
      }
      if (!timingSafeEqual(digest(token), digest(instance.config.token))) {
        return sendError(res, 401, { code: 'unauthorized', message: 'invalid API token' });
      }
      (req as InstanceRequest).sandbox = instance;
      next();
    };

  const admit = gate<Req>(
    (req) => {
      const refused = (req as InstanceRequest).sandbox.admit();
      if (!refused) return null;
      return { status: refused.status, headers: retryAfter(refused.retryAfterSeconds), body: { error: refused.error } };
    },
    (req) => (req as InstanceRequest).sandbox.config.latencyMs ?? 0,
  );

  const json = express.json({ limit: '10mb' });
  const api = [authenticate(false), admit, json];
  const admin = [authenticate(true), json];
  const inst = (req: Req) => (req as InstanceRequest).sandbox;

  app.get('/:inst/v1/contacts', ...api, (req: Req, res: Response) => {
    const ids = stringParam(req.query.ids, 'ids')?.split(',').filter(Boolean);
    if (ids && ids.length > MAX_BATCH_OPERATIONS) {
      throw new SandboxError(400, { code: 'invalid_parameter', message: `ids holds at most ${MAX_BATCH_OPERATIONS} ids`, field: 'ids' });
    }
    res.json(
      inst(req).list({
        limit: intParam(req.query.limit, 'limit'),
        cursor: stringParam(req.query.cursor, 'cursor'),
        email: stringParam(req.query.email, 'email'),
        ids,
        fields: stringParam(req.query.fields, 'fields')?.split(',').filter(Boolean),
      }),
    );
  });

  app.post('/:inst/v1/contacts/batch', ...api, (req: Req, res: Response) => {
    const operations: unknown = (req.body as { operations?: unknown } | undefined)?.operations;
    if (!Array.isArray(operations)) {
      return sendError(res, 422, { code: 'validation_failed', field: 'operations', message: 'operations must be an array' });
    }
    if (operations.length > MAX_BATCH_OPERATIONS) {
      return sendError(res, 422, {
        code: 'validation_failed',
        field: 'operations',
        message: `a batch holds at most ${MAX_BATCH_OPERATIONS} operations`,
      });
    }
    inst(req).countWriteRequests(operations.length);
    res.json({ results: inst(req).batch(operations) });
  });

  app.get('/:inst/v1/contacts/:id', ...api, (req: Req, res: Response) => {
    const contact = inst(req).find(req.params.id);
    if (!contact) return sendError(res, 404, { code: 'not_found', message: `contact ${req.params.id} does not exist` });
    sendContact(res, { status: 200, contact });
  });

  app.post('/:inst/v1/contacts', ...api, (req: Req, res: Response) => {
    const key = req.headers['idempotency-key'];
    inst(req).countWriteRequests(1);
    sendContact(res, inst(req).createOutcome(req.body, typeof key === 'string' ? key : undefined));
  });

  app.patch('/:inst/v1/contacts/:id', ...api, (req: Req, res: Response) => {
    const ifMatch = parseIfMatch(req.headers['if-match']);
    inst(req).countWriteRequests(1);
    sendContact(res, inst(req).updateOutcome(req.params.id, req.body, ifMatch));
  });

  app.delete('/:inst/v1/contacts/:id', ...api, (req: Req, res: Response) => {
    const ifMatch = parseIfMatch(req.headers['if-match']);
    inst(req).countWriteRequests(1);
    sendContact(res, inst(req).deleteOutcome(req.params.id, ifMatch));
  });

  app.get('/:inst/v1/changes/latest', ...api, (req: Req, res: Response) => {
    res.json({ cursor: inst(req).latestCursor() });
  });

  app.get('/:inst/v1/changes', ...api, (req: Req, res: Response) => {
    const cursor = stringParam(req.query.cursor, 'cursor');
    if (!cursor) return sendError(res, 400, { code: 'invalid_parameter', field: 'cursor', message: 'cursor is required' });
    res.json(inst(req).changes(cursor, intParam(req.query.limit, 'limit')));
  });

  /** Which properties this account requires, as apps expose in their field metadata. */
  app.get('/:inst/v1/schema', ...api, (req: Req, res: Response) => {
    res.json({ required_fields: inst(req).config.requiredFields ?? [], page_size_cap: inst(req).pageSizeCap });
  });

  app.put('/:inst/_admin/config', ...admin, (req: Req, res: Response) => {
    const config = inst(req).configure((req.body ?? {}) as Record<string, unknown>);
    res.json({ ...config, token: undefined });
  });

  app.post('/:inst/_admin/seed', ...admin, (req: Req, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const num = (key: string) => (body[key] === undefined ? undefined : Number(body[key]));
    const created = inst(req).seed({
      count: Number(body.count),
      seed: num('seed'),
      start: num('start'),
      emailDomain: typeof body.emailDomain === 'string' ? body.emailDomain : undefined,
    });
    res.status(201).json({ created: created.length, total: inst(req).count() });
  });

  app.post('/:inst/_admin/reset', ...admin, (req: Req, res: Response) => {
    inst(req).reset();
    res.status(204).end();
  });

  app.post('/:inst/_admin/fail-next', ...admin, (req: Req, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    inst(req).failNext({
      status: Number(body.status ?? 503),
      count: body.count === undefined ? 1 : Number(body.count),
      retryAfterSeconds: body.retryAfterSeconds === undefined ? undefined : Number(body.retryAfterSeconds),
    });
    res.status(204).end();
  });

  // Test faults: what real apps' feeds miss, for the reconcile to find (README, "Test faults").
  app.post('/:inst/_admin/contacts/:id/remove-silently', ...admin, (req: Req, res: Response) => {
    inst(req).removeSilently(req.params.id);
    res.status(204).end();
  });

  app.post('/:inst/_admin/contacts/:id/update-backdated', ...admin, (req: Req, res: Response) => {
    const body = (req.body ?? {}) as { data?: unknown; updated_at?: unknown };
    if (body.updated_at !== undefined && typeof body.updated_at !== 'string') {
      return sendError(res, 422, { code: 'validation_failed', field: 'updated_at', message: 'updated_at must be a date-time string' });
    }
    sendContact(res, { status: 200, contact: inst(req).updateBackdated(req.params.id, body.data ?? {}, body.updated_at) });
  });

  app.get('/:inst/_admin/stats', ...admin, (req: Req, res: Response) => {
    res.json(inst(req).stats());
  });

  app.use((_req: Request, res: Response) => sendError(res, 404, { code: 'not_found', message: 'no such endpoint' }));

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof SandboxError) return sendError(res, err.status, err.error);
    const status = (err as { status?: number; type?: string }).status;
    if ((err as { type?: string }).type === 'entity.parse.failed') {
      return sendError(res, 400, { code: 'invalid_json', message: 'request body is not valid JSON' });
    }
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return sendError(res, status, { code: 'bad_request', message: (err as Error).message });
    }
    process.emitWarning(`sandbox: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    sendError(res, 500, { code: 'internal', message: 'internal error' });
  });

  // Clients such as undici keep many connections open during a benchmark; the default limits are tuned for it.
  const { url, port, close } = await listen(app, {
    port: options.port,
    host: options.host,
    keepAliveTimeout: 30_000,
    afterClose: async () => {
      if (files) await files.flush(registry.values());
    },
  });

  return {
    url,
    port,
    instance(name) {
      const found = registry.get(name);
      if (!found) throw new Error(`no sandbox instance named "${name}"`);
      return found;
    },
    addInstance,
    instances: () => [...registry.values()],
    instanceUrl: (name) => `${url}/${name}`,
    close,
  };
}
