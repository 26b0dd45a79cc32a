import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { describeContact } from '../activities/describe';
import type { Db } from '../db/client';
import { countHeldDeletions, listHeldDeletions } from '../db/queries/brake';
import { encodeContactCursor } from '../db/queries/contacts';
import { deletionOutcome, emptyListingSide } from '../sync/brake';
import type { Side } from '../sync/types';
import { contactCursorSchema } from './contacts';
import { statusWithin, type ConnectionControlPort } from './control';
import { jsonBody, loadConnection, pageLimitSchema, readErrors } from './health';
import { idParamsSchema, sideSchema } from './schemas';
import { parseOrThrow, type AppLookup } from './validation';

// GET /connections/:id/brake: what the safety brake holds, contact by contact, so a person sees what
// Confirm would do before pressing it (db/queries/brake.ts says which contacts those are).

export interface BrakeRoutesDeps {
  db: Db;
  control: ConnectionControlPort;
  apps: AppLookup;
  logger: Logger;
  statusTimeoutMs: number;
}

export const brakeQuerySchema = z.strictObject({
  limit: pageLimitSchema(200, 50),
  cursor: contactCursorSchema.optional(),
});

export const heldDeletionSchema = z
  .object({
    side: sideSchema.openapi({ description: 'The side the contact was deleted on (or, for an empty listing, is missing from)' }),
    id: z.string().openapi({ description: "The contact's id on `side`" }),
    name: z.string().nullable(),
    email: z.string().nullable(),
    other: z
      .object({
        side: sideSchema,
        id: z.string().openapi({ description: 'The linked contact on the other side' }),
        outcome: z.enum(['delete', 'tag', 'unlink']).openapi({
          description:
            'What Confirm does to it, by the deletion policy: delete it; tag it "Rapport Trash" (policy trash); or only end the link ' +
            '(policy never, a protected side, a direction its deletions do not flow in, or gone on both sides). The cycle still only ' +
            'unlinks a contact edited since the two last agreed, or one whose app has no writable tags field.',
        }),
      })
      .openapi({ description: 'Its linked contact, and what would happen to it' }),
  })
  .openapi('HeldDeletion');

export const brakeSchema = z
  .object({
    connectionId: z.string(),
    holding: z.boolean().openapi({ description: 'Whether the safety brake holds the connection (phase needs-confirmation)' }),
    reasons: z.array(z.string()).openapi({ description: 'Why it holds, as in status.brake.reasons; empty when it does not (or the workflow does not answer)' }),
    total: z.number().int().openapi({ description: 'How many linked contacts it holds, over every page' }),
    held: z.array(heldDeletionSchema).openapi({ description: 'Side a first, then side b, each by id; empty when the brake does not hold' }),
    nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last one' }),
  })
  .openapi('SafetyBrake');

export function brakeRoutes({ db, control, apps, logger, statusTimeoutMs }: BrakeRoutesDeps): Router {
  const router = Router();
  router.get('/connections/:id/brake', async (req, res) => {
    const query = parseOrThrow(brakeQuerySchema, req.query);
    const row = await loadConnection(db, res, req.params.id);
    const status = await statusWithin(control, row.id, statusTimeoutMs, logger);
    // The workflow knows why it holds; without its answer the phase it last stored still says whether it does.
    const holding = status ? status.brake !== null : row.state === 'needs-confirmation';
    const reasons = status?.brake?.reasons ?? [];
    if (!holding) {
      res.json({ connectionId: row.id, holding, reasons, total: 0, held: [], nextCursor: null } satisfies z.infer<typeof brakeSchema>);
      return;
    }
    const emptySides = [...new Set(reasons.map(emptyListingSide).filter((s): s is Side => s !== null))];
    const [page, total] = await Promise.all([
      listHeldDeletions(db, row.id, { emptySides, limit: query.limit, after: query.cursor }),
      countHeldDeletions(db, row.id, emptySides),
    ]);
    const catalog = { a: apps(row.appA)?.fields ?? [], b: apps(row.appB)?.fields ?? [] };
    res.json({
      connectionId: row.id,
      holding,
      reasons,
      total,
      held: page.rows.map((h) => {
        const who = describeContact(h.fields, catalog[h.side]);
        return {
          side: h.side,
          id: h.extId,
          name: who.name,
          email: who.email ?? h.emails[0] ?? null,
          other: {
            side: h.side === 'a' ? ('b' as const) : ('a' as const),
            id: h.linkedId,
            outcome: deletionOutcome(row.settings, h.side, h.partnerDeleted),
          },
        };
      }),
      nextCursor: page.next ? encodeContactCursor(page.next) : null,
    } satisfies z.infer<typeof brakeSchema>);
  });
  return router;
}

export const brakePaths: RouteConfig[] = [
  {
    method: 'get',
    path: '/connections/{id}/brake',
    summary: 'The deletions the safety brake holds: each contact, and what Confirm would do to its linked contact',
    description:
      'While the connection waits in needs-confirmation: the linked contacts deleted on one side and not yet acted on (what ' +
      'POST /connections/{id}/cancel drops), or, when a side listed no contacts at all, every linked contact of that side (which ' +
      'Confirm would take for deleted). Paged by keyset (side, then id). Nothing is listed when the brake does not hold.',
    tags: ['ops'],
    request: { params: idParamsSchema, query: brakeQuerySchema },
    responses: { 200: jsonBody(brakeSchema, 'What the brake holds'), ...readErrors },
  },
];
