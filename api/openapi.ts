import { OpenAPIRegistry, OpenApiGeneratorV3, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import type { AppDefinition } from '../connectors/types';
import { activityPaths } from './activity';
import { brakePaths } from './brake';
import { CSRF_HEADER, SESSION_COOKIE } from './auth';
import { contactPaths } from './contacts';
import { healthPaths } from './health';
import { sessionPaths } from './session';
import {
  appListSchema,
  connectionListSchema,
  connectionSchema,
  connectionStatusSchema,
  createConnectionSchema,
  errorResponseSchema,
  healthSchema,
  idParamsSchema,
  readinessSchema,
  updateConnectionSchema,
} from './schemas';

const failureParamsSchema = z.object({
  id: z.string().openapi({ description: 'Connection id' }),
  failureId: z.string().openapi({ description: 'Failure id, from GET /connections/{id}/health' }),
});
const syncAcceptedSchema = z
  .object({ accepted: z.literal(true), cycle: z.number().openapi({ description: 'The number of the cycle started' }) })
  .openapi('SyncAccepted');
const retryAcceptedSchema = z
  .object({ accepted: z.literal(true), workflowIds: z.array(z.string()) })
  .openapi('RetryAccepted');

const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const error = (description: string) => json(errorResponseSchema, description);
const authErrors = {
  401: error('Missing, invalid or revoked API key, or an ended session'),
  403: error('Signed in with the session cookie, without the right X-CSRF-Token header (state-changing requests)'),
};
const notFound = { 404: error('No such connection in the workspace of the key') };
const workflowErrors = {
  409: error('The workflow is not running or refused the request'),
  503: error('Temporal could not be reached'),
  504: error('The workflow did not answer in time'),
};

const pascal = (id: string) =>
  id
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');

/**
 * The per-app credentials and scope schemas, as components, for clients that want to validate before
 * sending. One the generator cannot express is left out rather than failing the whole document.
 */
function appComponents(registry: OpenAPIRegistry, apps: AppDefinition[]): void {
  for (const app of apps) {
    for (const [suffix, schema] of [
      ['Credentials', app.credentials],
      ['Scope', app.scope],
    ] as const) {
      const name = `${pascal(app.id)}${suffix}`;
      try {
        // `.meta`: the app's schemas were built before zod was extended with `.openapi` (see api/schemas.ts).
        const named = (schema as z.ZodType).meta({ id: name, description: `${suffix} of the ${app.name} app` });
        new OpenApiGeneratorV3([named]).generateComponents();
        registry.register(name, named);
      } catch {
        // left out: see above
      }
    }
  }
}

export function buildOpenApiDocument(apps: AppDefinition[], opts: { version?: string; serverUrl?: string } = {}) {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key "rk_..." of the workspace',
  });
  const cookie = registry.registerComponent('securitySchemes', 'sessionCookie', {
    type: 'apiKey',
    in: 'cookie',
    name: SESSION_COOKIE,
    description: `The dashboard's session (POST /session); state-changing requests also need the ${CSRF_HEADER} header`,
  });
  const secured = [{ [bearer.name]: [] }, { [cookie.name]: [] }];
  const route = (config: RouteConfig) => registry.registerPath({ security: secured, ...config });

  route({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness',
    tags: ['health'],
    security: [],
    responses: { 200: json(healthSchema, 'The process is up') },
  });
  route({
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: the database and Temporal answer',
    tags: ['health'],
    security: [],
    responses: { 200: json(readinessSchema, 'Ready'), 503: json(readinessSchema, 'Not ready; the failing checks say why') },
  });
  route({
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    tags: ['health'],
    security: [],
    responses: { 200: { description: 'OpenAPI 3 document', content: { 'application/json': { schema: { type: 'object' } } } } },
  });
  route({
    method: 'get',
    path: '/apps',
    summary: 'The apps that can be connected: capabilities, fields, credential field names, scope schema',
    tags: ['apps'],
    responses: { 200: json(appListSchema, 'The catalog'), ...authErrors },
  });
  route({
    method: 'get',
    path: '/connections',
    summary: "The workspace's connections",
    tags: ['connections'],
    responses: { 200: json(connectionListSchema, 'Connections, oldest first'), ...authErrors },
  });
  route({
    method: 'post',
    path: '/connections',
    summary: 'Create a connection and start its sync',
    description: 'Credentials are checked against the app and encrypted at rest. Nothing is stored when the request is refused.',
    tags: ['connections'],
    request: { body: { required: true, content: { 'application/json': { schema: createConnectionSchema } } } },
    responses: {
      201: json(connectionSchema, 'Created; its workflow is started'),
      400: error('Invalid request; `issues` names each field'),
      ...authErrors,
      503: error('The workflow could not be started; nothing was created'),
    },
  });
  route({
    method: 'get',
    path: '/connections/{id}',
    summary: 'A connection with its live status',
    tags: ['connections'],
    request: { params: idParamsSchema },
    responses: { 200: json(connectionSchema, 'The connection (never its credentials)'), ...authErrors, ...notFound },
  });
  route({
    method: 'patch',
    path: '/connections/{id}',
    summary: 'Rename, change settings, scopes or credentials',
    description: 'New credentials take a connection out of "needs-reauth". The workflow is told to re-read its settings.',
    tags: ['connections'],
    request: { params: idParamsSchema, body: { required: true, content: { 'application/json': { schema: updateConnectionSchema } } } },
    responses: {
      200: json(connectionSchema, 'The updated connection'),
      400: error('Invalid request; `issues` names each field'),
      ...authErrors,
      ...notFound,
    },
  });
  route({
    method: 'delete',
    path: '/connections/{id}',
    summary: 'Stop and delete a connection (its records are kept)',
    tags: ['connections'],
    request: { params: idParamsSchema },
    responses: { 204: { description: 'Deleted' }, ...authErrors, ...notFound, ...workflowErrors },
  });
  for (const action of ['pause', 'resume'] as const) {
    route({
      method: 'post',
      path: `/connections/{id}/${action}`,
      summary: action === 'pause' ? 'Pause: answers once the workflow has stopped writing' : 'Resume a paused connection',
      tags: ['connections'],
      request: { params: idParamsSchema },
      responses: { 200: json(connectionStatusSchema, 'The status after the change'), ...authErrors, ...notFound, ...workflowErrors },
    });
  }
  route({
    method: 'post',
    path: '/connections/{id}/sync',
    summary: 'Run a cycle now',
    description:
      'Returns once the cycle has started, with its number. Its outcome appears in GET /connections/{id} as `status.lastCycle` once `status.lastCycle.cycle` reaches that number. Refused (409) during the initial sync and while paused.',
    tags: ['connections'],
    request: { params: idParamsSchema },
    responses: { 202: json(syncAcceptedSchema, 'The cycle has started'), ...authErrors, ...notFound, ...workflowErrors },
  });
  route({
    method: 'post',
    path: '/connections/{id}/resync',
    summary: 'Resync all: apply the current settings to every contact now',
    description:
      'Settings changes apply to contacts as they change; this backfills them at once (new mapping pairs fill, rules are re-judged). Only what differs is written.',
    tags: ['connections'],
    request: { params: idParamsSchema },
    responses: {
      202: json(syncAcceptedSchema.extend({ contacts: z.number() }), 'The cycle has started'),
      ...authErrors,
      ...notFound,
      ...workflowErrors,
    },
  });
  route({
    method: 'post',
    path: '/connections/{id}/reconcile',
    summary: 'Reconcile now: list both apps to find what the change feeds missed',
    description:
      'Runs in the next cycle (at once): both apps are listed by id and version, contacts whose version differs are read again, and what is gone is handled by the deletion policy; contacts in sync are not written. Returns once that cycle has begun listing, with its number; its findings appear in `status.reconcile.last`. Runs by itself every `settings.reconcileIntervalHours`. Refused (409) during the initial sync and while paused.',
    tags: ['connections'],
    request: { params: idParamsSchema },
    responses: {
      202: json(syncAcceptedSchema.extend({ reconcile: z.literal(true) }), 'The reconcile has started'),
      ...authErrors,
      ...notFound,
      ...workflowErrors,
    },
  });
  for (const [action, summary] of [
    ['confirm', 'Let the deletions held by the safety brake go through (GET /connections/{id}/brake lists them)'],
    ['cancel', 'Drop the deletions held by the safety brake (links are kept)'],
  ] as const) {
    route({
      method: 'post',
      path: `/connections/{id}/${action}`,
      summary,
      tags: ['connections'],
      request: { params: idParamsSchema },
      responses: { 200: json(connectionStatusSchema, 'The status after the answer'), ...authErrors, ...notFound, ...workflowErrors },
    });
  }
  route({
    method: 'post',
    path: '/connections/{id}/failures/{failureId}/retry',
    summary: 'Replay a failed contact with its current data',
    description:
      "Runs in the contact's failure case in Temporal (the `workflowIds` returned), like the `retry` signal ops send from the Temporal UI. A success clears the failure everywhere.",
    tags: ['ops'],
    request: { params: failureParamsSchema },
    responses: {
      202: json(retryAcceptedSchema, 'The replay was started'),
      409: error('The failure is already resolved, or the workflow refused'),
      ...authErrors,
      404: error('No such connection or failure in the workspace of the key'),
      503: error('Temporal could not be reached'),
      504: error('The workflow did not answer in time'),
    },
  });
  route({
    method: 'post',
    path: '/connections/{id}/failures/retry-all',
    summary: 'Replay every failed contact of the connection',
    tags: ['ops'],
    request: { params: idParamsSchema },
    responses: { 202: json(retryAcceptedSchema, 'The replays were started'), ...authErrors, ...notFound, ...workflowErrors },
  });
  for (const config of [...sessionPaths, ...healthPaths, ...contactPaths, ...brakePaths, ...activityPaths]) route(config);
  appComponents(registry, apps);

  return new OpenApiGeneratorV3(registry.definitions).generateDocument({
    openapi: '3.0.3',
    info: {
      title: 'Rapport API',
      version: opts.version ?? '0.1.0',
      description: 'Two-way contact sync: create connections between apps and drive their sync.',
    },
    servers: opts.serverUrl ? [{ url: opts.serverUrl }] : undefined,
    security: secured,
  });
}
