import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import { Router, type Response } from 'express';
import { z } from 'zod';
import type { Db } from '../db/client';
import { findConnection, type ConnectionRow } from '../db/queries/connections';
import { countUnresolvedFailuresByKind, decodeCursor, listUnresolvedFailures, type FailureRow } from '../db/queries/ops';
import { authOf } from './auth';
import { notFound } from './errors';
import { errorResponseSchema, idParamsSchema, sideSchema } from './schemas';
import { parseOrThrow } from './validation';
import { CONTACT_FAILURE_WORKFLOW_TYPE, contactFailureWorkflowId } from '../workflows/messages';
import { failureCasesQuery } from '../client/failure-cases';

export { CONTACT_FAILURE_WORKFLOW_TYPE, contactFailureWorkflowId, failureCasesQuery };

// GET /connections/:id/health: the contacts that do not sync, one row per contact and step, with what
// the app said and where to find the contact's case in the Temporal UI.

export interface OpsRoutesDeps {
  db: Db;
}

/**
 * The candidates of an ambiguous match, read back from the message activities/describe.ts writes
 * ("ambiguous match: N contacts on the other side share the email X (id1, id2)"). Parsed rather than stored
 * so that failures recorded before this endpoint existed show them too. The last parenthesis is the list,
 * because an email may itself contain parentheses.
 */
export function ambiguousCandidates(message: string): string[] | null {
  const m = /^ambiguous match: \d+ contacts? on the other side share the email .* \(([^()]*)\)\s*$/s.exec(message);
  if (!m) return null;
  return m[1]
    .split(', ')
    .map((id) => id.trim())
    .filter(Boolean);
}

// --- request and response schemas (also the OpenAPI document's) ---

export const pageCursorSchema = z
  .string()
  .transform((text, ctx) => {
    const cursor = decodeCursor(text);
    if (!cursor) ctx.addIssue({ code: 'custom', message: 'Not a cursor returned by this endpoint' });
    return cursor ?? z.NEVER;
  })
  .openapi({ type: 'string', description: 'nextCursor of the previous page (opaque)' });

export const pageLimitSchema = (max: number, fallback: number) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(max)
    .default(fallback)
    .openapi({ description: `Rows per page (1-${max})`, example: fallback });

export const healthQuerySchema = z.strictObject({
  kind: z
    .string()
    .regex(/^[a-z-]{1,40}$/, 'A failure kind such as contact, ambiguous, auth')
    .optional()
    .openapi({ description: 'Only failures of this kind (contact, ambiguous, auth, internal, ...)', example: 'contact' }),
  limit: pageLimitSchema(200, 50),
  cursor: pageCursorSchema.optional(),
});

export const failureViewSchema = z
  .object({
    id: z.string().openapi({ description: 'Failure id, for POST /connections/{id}/failures/{failureId}/retry', example: '42' }),
    kind: z.string().openapi({ description: "The error's kind: contact, ambiguous, auth, internal, ...", example: 'contact' }),
    step: z.string().openapi({ description: 'create, update, delete or match', example: 'create' }),
    message: z.string().openapi({ description: "The app's own message", example: 'Pipeliner: Field "Industry" is required' }),
    side: sideSchema.openapi({ description: 'The side the contact comes from' }),
    extId: z.string().openapi({ description: "The contact's id on `side`" }),
    targetId: z.string().nullable().openapi({ description: 'Its id on the other side; null for a create that never happened' }),
    status: z.number().nullable().openapi({ description: "The app's HTTP status, when it answered with one" }),
    code: z.string().nullable().openapi({ description: "The app's error code, when it gave one" }),
    contact: z.object({ name: z.string().nullable(), email: z.string().nullable() }),
    attempts: z.number().int(),
    firstAt: z.string().openapi({ format: 'date-time' }),
    lastAt: z.string().openapi({ format: 'date-time' }),
    candidates: z
      .array(z.string())
      .nullable()
      .openapi({ description: 'For kind "ambiguous": ids on the other side that share the email; null otherwise' }),
    workflowId: z.string().openapi({
      description: "The Temporal workflow id of the contact's failure case, to open it in the Temporal UI",
      example: 'contact-failure:con_0123456789abcdef:a:123',
    }),
  })
  .openapi('Failure');
export type FailureView = z.infer<typeof failureViewSchema>;

export const healthSchema = z
  .object({
    connectionId: z.string(),
    totals: z.object({
      unresolved: z.number().int().openapi({ description: 'All unresolved failures of the connection' }),
      byKind: z.record(z.string(), z.number().int()).openapi({ description: 'Unresolved failures per kind, whatever `kind` filters' }),
    }),
    failures: z.array(failureViewSchema).openapi({ description: 'Newest first, by when the contact first failed' }),
    nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last one' }),
    temporal: z.object({
      failureCasesQuery: z
        .string()
        .openapi({ description: "A Temporal UI / CLI list filter for this connection's failure cases" }),
    }),
  })
  .openapi('ConnectionHealth');

export function failureView(row: FailureRow): FailureView {
  return {
    id: String(row.id),
    kind: row.kind,
    step: row.step,
    message: row.message,
    side: row.side,
    extId: row.extId,
    targetId: row.targetId,
    status: row.status,
    code: row.code,
    contact: { name: row.contactName, email: row.contactEmail },
    attempts: row.attempts,
    firstAt: new Date(row.firstAt).toISOString(),
    lastAt: new Date(row.lastAt).toISOString(),
    candidates: row.kind === 'ambiguous' ? ambiguousCandidates(row.message) : null,
    workflowId: contactFailureWorkflowId(row.connectionId, row.side, row.extId),
  };
}

/** Another workspace's connection is "not found" too, so ids cannot be probed across workspaces. */
export async function loadConnection(db: Db, res: Response, id: string): Promise<ConnectionRow> {
  const row = await findConnection(db, authOf(res).workspaceId, id);
  if (!row) throw notFound(`Connection ${id}`);
  return row;
}

export function healthRoutes({ db }: OpsRoutesDeps): Router {
  const router = Router();
  router.get('/connections/:id/health', async (req, res) => {
    const query = parseOrThrow(healthQuerySchema, req.query);
    const row = await loadConnection(db, res, req.params.id);
    const [page, byKind] = await Promise.all([
      listUnresolvedFailures(db, row.id, {
        limit: query.limit,
        kind: query.kind,
        after: query.cursor,
      }),
      countUnresolvedFailuresByKind(db, row.id),
    ]);
    res.json({
      connectionId: row.id,
      totals: { unresolved: Object.values(byKind).reduce((sum, n) => sum + n, 0), byKind },
      failures: page.rows.map(failureView),
      nextCursor: page.next,
      temporal: { failureCasesQuery: failureCasesQuery(row.id) },
    } satisfies z.infer<typeof healthSchema>);
  });
  return router;
}

// --- OpenAPI ---

export const jsonBody = (schema: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** The answers every read route of a connection shares. */
export const readErrors = {
  400: jsonBody(errorResponseSchema, 'Invalid query parameter; `issues` names it'),
  401: jsonBody(errorResponseSchema, 'Missing, invalid or revoked API key'),
  404: jsonBody(errorResponseSchema, 'No such connection in the workspace of the key'),
};

export const healthPaths: RouteConfig[] = [
  {
    method: 'get',
    path: '/connections/{id}/health',
    summary: "Contacts that fail to sync, with the app's message and their Temporal failure case",
    description:
      'Unresolved failures, newest first, with totals per kind. Ambiguous matches list the candidates on the other side. ' +
      '`workflowId` is the id of the contact\'s failure workflow in Temporal, where ops can see its history and replay it.',
    tags: ['ops'],
    request: { params: idParamsSchema, query: healthQuerySchema },
    responses: { 200: jsonBody(healthSchema, 'The failures of the connection'), ...readErrors },
  },
];
