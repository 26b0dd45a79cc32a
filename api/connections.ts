import { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { AppDefinition } from '../connectors/types';
import type { Db } from '../db/client';
import { encryptSecret } from '../db/crypto';
import {
  discardConnection,
  findConnection,
  insertConnection,
  listConnections,
  markConnectionDeleted,
  setConnectionPhase,
  updateConnection,
  type ConnectionPatch,
  type ConnectionRow,
} from '../db/queries/connections';
import { newId } from '../db/queries/ids';
import { connectionOverviews, findFailure, unresolvedFailures, type ConnectionOverview, type FailureRow } from '../db/queries/ops';
import type { Side } from '../sync/types';
import type { ConnectionStatus } from '../workflows/messages';
import { caseInput } from '../client';
import { authOf } from './auth';
import { isUpdateRejected, isWorkflowNotFound, statusWithin, Timeout, withTimeout, type ConnectionControlPort } from './control';
import { ApiError, errorSummary, notFound, validationError, type Issue } from './errors';
import {
  accountInputSchema,
  createConnectionSchema,
  updateConnectionSchema,
  type ConnectionView,
} from './schemas';
import {
  check,
  mergePatch,
  parseOrThrow,
  unknownAppIssue,
  validateConnectionSettings,
  validateCredentials,
  validateScope,
  type AppLookup,
} from './validation';

export interface ConnectionRoutesDeps {
  db: Db;
  control: ConnectionControlPort;
  masterKey: Buffer;
  apps: AppLookup;
  appIds: () => string[];
  logger: Logger;
  /** How long GET waits for the workflow's status before answering with status null. */
  statusTimeoutMs: number;
  /** How long pause/resume/stop may wait for the workflow (an absent worker would otherwise hang the request). */
  controlTimeoutMs: number;
}

const SIDES: Side[] = ['a', 'b'];

const RETRY_ALL_LIMIT = 1000;

const NO_OVERVIEW: ConnectionOverview = { inSync: 0, unresolvedFailures: 0 };

export function connectionView(row: ConnectionRow, overview: ConnectionOverview, status: ConnectionStatus | null): ConnectionView {
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    a: { app: row.appA, scope: row.scopeA, options: row.optionsA ?? {} },
    b: { app: row.appB, scope: row.scopeB, options: row.optionsB ?? {} },
    settings: row.settings,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    overview,
    status,
  };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function requireObjectBody(req: Request): Record<string, unknown> {
  if (!isPlainObject(req.body)) {
    throw validationError([{ path: '', message: 'The request body must be a JSON object (Content-Type: application/json)' }]);
  }
  return req.body;
}

export function connectionRoutes(deps: ConnectionRoutesDeps): Router {
  const { db, control, masterKey, apps, logger } = deps;
  const router = Router();

  const statusOf = (id: string) => statusWithin(control, id, deps.statusTimeoutMs, logger);

  /** Turns what the workflow or Temporal said into an answer the client can act on. */
  async function drive<T>(id: string, action: string, call: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(call(), deps.controlTimeoutMs);
    } catch (err) {
      if (isWorkflowNotFound(err)) {
        throw new ApiError(409, 'workflow_not_running', `The workflow of connection ${id} is not running`);
      }
      if (isUpdateRejected(err)) {
        const cause = (err as Error & { cause?: Error }).cause;
        throw new ApiError(409, 'rejected', `The connection refused to ${action}: ${cause?.message ?? (err as Error).message}`);
      }
      logger.error({ connectionId: id, action, error: errorSummary(err) }, 'workflow call failed');
      if (err instanceof Timeout) {
        throw new ApiError(504, 'workflow_timeout', `The connection's workflow did not answer to ${action} in time; is a worker running?`);
      }
      throw new ApiError(503, 'workflow_unavailable', `Could not reach the connection's workflow to ${action}; try again`);
    }
  }

  async function load(res: Response, id: string): Promise<ConnectionRow> {
    const row = await findConnection(db, authOf(res).workspaceId, id);
    // Another workspace's connection is "not found" too, so ids cannot be probed across workspaces.
    if (!row) throw notFound(`Connection ${id}`);
    return row;
  }

  /** A connection as the API shows it: its row, the overview's counts and the workflow's own status. */
  async function view(row: ConnectionRow, status: ConnectionStatus | null): Promise<ConnectionView> {
    const overview = (await connectionOverviews(db, [row.id])).get(row.id) ?? NO_OVERVIEW;
    return connectionView(row, overview, status);
  }

  // The overview: the workflows are asked in parallel, each within statusTimeoutMs, so one stuck workflow
  // costs the page that long at most and shows as status null, never as an error.
  router.get('/connections', async (_req, res) => {
    const rows = await listConnections(db, authOf(res).workspaceId);
    const [overviews, statuses] = await Promise.all([
      connectionOverviews(db, rows.map((r) => r.id)),
      Promise.all(rows.map((r) => statusOf(r.id))),
    ]);
    res.json({ connections: rows.map((r, i) => connectionView(r, overviews.get(r.id) ?? NO_OVERVIEW, statuses[i])) });
  });

  router.post('/connections', async (req, res) => {
    const { workspaceId } = authOf(res);
    const body = requireObjectBody(req);
    const issues: Issue[] = [];
    const shape = check(createConnectionSchema, body);
    if (!shape.ok) issues.push(...shape.issues);

    const sides: Partial<Record<Side, { app: AppDefinition; credentials: Record<string, string>; scope: Record<string, unknown>; options: Record<string, unknown> }>> = {};
    for (const side of SIDES) {
      // A side with a bad shape is already in `issues`; the app-specific checks need a well-formed side.
      const account = check(accountInputSchema, body[side], side);
      if (!account.ok) continue;
      const app = apps(account.value.app);
      if (!app) {
        issues.push(unknownAppIssue(`${side}.app`, account.value.app, deps.appIds()));
        continue;
      }
      const credentials = validateCredentials(app, side, account.value.credentials);
      const scope = validateScope(app, side, account.value.scope);
      if (!credentials.ok) issues.push(...credentials.issues);
      if (!scope.ok) issues.push(...scope.issues);
      if (credentials.ok && scope.ok) {
        sides[side] = { app, credentials: credentials.value, scope: scope.value, options: account.value.options ?? {} };
      }
    }

    let settings;
    if (shape.ok && sides.a && sides.b) {
      const checked = validateConnectionSettings(body.settings ?? {}, { a: sides.a.app, b: sides.b.app });
      if (checked.ok) settings = checked.value;
      else issues.push(...checked.issues);
    }
    if (issues.length || !shape.ok || !sides.a || !sides.b || !settings) throw validationError(issues);

    const { a, b } = sides;
    const row = await insertConnection(db, {
      id: newId('con'),
      workspaceId,
      name: shape.value.name ?? `${a.app.name} <-> ${b.app.name}`,
      appA: a.app.id,
      appB: b.app.id,
      scopeA: a.scope,
      scopeB: b.scope,
      optionsA: a.options,
      optionsB: b.options,
      credentialsA: encryptSecret(a.credentials, masterKey),
      credentialsB: encryptSecret(b.credentials, masterKey),
      settings,
      state: 'initial-scan',
    });
    try {
      await control.start(row.id);
    } catch (err) {
      // Without its workflow the row would be a connection that never syncs; removing it lets the client retry.
      logger.error({ connectionId: row.id, error: errorSummary(err) }, 'could not start the connection workflow');
      await discardConnection(db, workspaceId, row.id);
      throw new ApiError(503, 'workflow_unavailable', 'Could not start the connection workflow (is Temporal reachable?); nothing was created');
    }
    res.status(201).location(`/connections/${row.id}`);
    res.json(connectionView(row, NO_OVERVIEW, null));
  });

  router.get('/connections/:id', async (req, res) => {
    const row = await load(res, req.params.id);
    res.json(await view(row, await statusOf(row.id)));
  });

  /** The column changes a PATCH asks for, each part validated like a create; throws a 400 listing every issue. */
  function planPatch(row: ConnectionRow, patch: z.output<typeof updateConnectionSchema>): ConnectionPatch {
    const issues: Issue[] = [];
    const update: ConnectionPatch = {};
    const defs = { a: apps(row.appA), b: apps(row.appB) };
    const appIds = { a: row.appA, b: row.appB };

    if (patch.name !== undefined) update.name = patch.name;
    let credentialsChanged = false;
    for (const side of SIDES) {
      const sidePatch = patch[side];
      if (!sidePatch || Object.keys(sidePatch).length === 0) continue;
      const app = defs[side];
      if (!app) {
        issues.push({ path: `${side}.app`, message: `The app "${appIds[side]}" of this connection is no longer available` });
        continue;
      }
      const upper = side === 'a' ? 'A' : 'B';
      if (sidePatch.credentials !== undefined) {
        const credentials = validateCredentials(app, side, sidePatch.credentials);
        if (credentials.ok) {
          update[`credentials${upper}`] = encryptSecret(credentials.value, masterKey);
          credentialsChanged = true;
        } else issues.push(...credentials.issues);
      }
      if (sidePatch.scope !== undefined) {
        const scope = validateScope(app, side, sidePatch.scope);
        if (scope.ok) update[`scope${upper}`] = scope.value;
        else issues.push(...scope.issues);
      }
      if (sidePatch.options !== undefined) update[`options${upper}`] = sidePatch.options;
    }
    if (patch.settings !== undefined) {
      if (defs.a && defs.b) {
        const checked = validateConnectionSettings(mergePatch(row.settings, patch.settings), { a: defs.a, b: defs.b });
        if (checked.ok) update.settings = checked.value;
        else issues.push(...checked.issues);
      } else {
        issues.push({ path: 'settings', message: 'Settings cannot be checked: an app of this connection is no longer available' });
      }
    }
    if (issues.length) throw validationError(issues);
    // New credentials are the way out of "needs re-authorization"; the workflow learns of them by the signal.
    if (credentialsChanged && row.state === 'needs-reauth') update.state = 'running';
    return update;
  }

  router.patch('/connections/:id', async (req, res) => {
    const { workspaceId } = authOf(res);
    const id = req.params.id;
    const patch = parseOrThrow(updateConnectionSchema, requireObjectBody(req));
    // Locked while merged, so two PATCHes of different settings both land instead of the last one winning.
    const { row, changed } = await db.transaction(async (tx) => {
      const current = await findConnection(tx, workspaceId, id, { forUpdate: true });
      if (!current) throw notFound(`Connection ${id}`);
      const update = planPatch(current, patch);
      if (Object.keys(update).length === 0) return { row: current, changed: [] as string[] };
      const updated = await updateConnection(tx, workspaceId, id, update);
      if (!updated) throw notFound(`Connection ${id}`);
      return { row: updated, changed: Object.keys(update) };
    });
    if (changed.some((key) => key !== 'name')) {
      try {
        await withTimeout(control.settingsChanged(id), deps.controlTimeoutMs);
      } catch (err) {
        // The change is stored and the workflow reads the database at its next cycle; a missed signal only delays it.
        logger.warn({ connectionId: id, error: errorSummary(err) }, 'could not signal settingsChanged');
      }
    }
    res.json(await view(row, await statusOf(id)));
  });

  router.delete('/connections/:id', async (req, res) => {
    const { workspaceId } = authOf(res);
    const row = await load(res, req.params.id);
    // Stopped first: were it marked deleted while its workflow kept running, nothing could stop it any more.
    await drive(row.id, 'stop', () => control.stop(row.id));
    await markConnectionDeleted(db, workspaceId, row.id);
    try {
      await withTimeout(control.endFailureCases(row.id), deps.controlTimeoutMs);
    } catch (err) {
      // Marked deleted, every case still ends by itself at its next attempt.
      logger.warn({ connectionId: row.id, error: errorSummary(err) }, 'could not end the failure cases');
    }
    res.status(204).end();
  });

  for (const action of ['pause', 'resume', 'confirm', 'cancel'] as const) {
    router.post(`/connections/:id/${action}`, async (req, res) => {
      const { workspaceId } = authOf(res);
      const row = await load(res, req.params.id);
      const status = await drive(row.id, action, () => control[action](row.id));
      // The update's answer is the workflow's own state, so the stored state follows it.
      await setConnectionPhase(db, workspaceId, row.id, status.phase);
      res.json(status);
    });
  }

  router.post('/connections/:id/sync', async (req, res) => {
    const row = await load(res, req.params.id);
    const { cycle } = await drive(row.id, 'sync', () => control.syncNow(row.id));
    res.status(202).json({ accepted: true, cycle });
  });

  // Settings apply to contacts as they change; this applies them to every contact now. The workflow marks
  // them, so a refused resync (initial sync, paused) marks nothing.
  router.post('/connections/:id/resync', async (req, res) => {
    const row = await load(res, req.params.id);
    const { cycle, contacts } = await drive(row.id, 'resync', () => control.resync(row.id));
    res.status(202).json({ accepted: true, cycle, contacts });
  });

  // Feeds miss things (clock skew, deletions that leave no trace, expired tokens); this lists both apps now
  // instead of at the next reconcile interval. Refused like a resync (initial sync, paused).
  router.post('/connections/:id/reconcile', async (req, res) => {
    const row = await load(res, req.params.id);
    const { cycle } = await drive(row.id, 'reconcile', () => control.reconcile(row.id));
    res.status(202).json({ accepted: true, cycle, reconcile: true });
  });

  // A replay runs in the contact's failure case (the same execution ops see in the Temporal UI), so the
  // outcome is recorded in one place whichever way it was asked for.
  const replay = async (row: ConnectionRow, failure: FailureRow) => {
    const targetApp = failure.side === 'a' ? row.appB : row.appA;
    return drive(row.id, 'retry', () => control.retryContact(caseInput(failure, targetApp)));
  };

  router.post('/connections/:id/failures/:failureId/retry', async (req, res) => {
    const row = await load(res, req.params.id);
    const failureId = Number(req.params.failureId);
    const failure = Number.isSafeInteger(failureId) ? await findFailure(db, row.id, failureId) : null;
    if (!failure) throw notFound(`Failure ${req.params.failureId} of connection ${row.id}`);
    if (failure.resolvedAt) {
      throw new ApiError(409, 'already_resolved', `Failure ${failure.id} was resolved: the contact synced`);
    }
    const workflowId = await replay(row, failure);
    res.status(202).json({ accepted: true, workflowIds: [workflowId] });
  });

  router.post('/connections/:id/failures/retry-all', async (req, res) => {
    const row = await load(res, req.params.id);
    const open = await unresolvedFailures(db, row.id, RETRY_ALL_LIMIT);
    // One case per contact, even when it failed at several steps.
    const perContact = new Map(open.map((f) => [`${f.side}:${f.extId}`, f]));
    const workflowIds: string[] = [];
    for (const failure of perContact.values()) workflowIds.push(await replay(row, failure));
    res.status(202).json({ accepted: true, workflowIds });
  });

  return router;
}
