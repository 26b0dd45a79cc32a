import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import {
  EVENT_KINDS,
  hourlyCounts,
  listConflicts,
  listEvents,
  syncTotals,
  type ConflictRow,
  type EventRow,
} from '../db/queries/ops';
import { jsonBody, loadConnection, pageCursorSchema, pageLimitSchema, readErrors, type OpsRoutesDeps } from './health';
import { idParamsSchema, sideSchema } from './schemas';
import { parseOrThrow } from './validation';

// GET /connections/:id/activity and /conflicts: what the engine did to each side, hour by hour, and
// the contacts it touched, read from the events and conflicts tables the apply and plan steps write.

const HOUR_MS = 3_600_000;
const UNIT_MS = { m: 60_000, h: HOUR_MS, d: 24 * HOUR_MS } as const;
/** Thirty days of hourly buckets is 720 of them: the most a dashboard needs, and a bounded answer. */
const MAX_WINDOW_MS = 30 * UNIT_MS.d;
const SINCE_FORMAT = /^([1-9][0-9]{0,5})([mhd])$/;

/** "90m", "24h", "7d" in milliseconds, or null when it is not a duration of that form. */
export function parseSince(value: string): number | null {
  const m = SINCE_FORMAT.exec(value);
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : null;
}

const sinceSchema = z
  .string()
  .default('24h')
  .superRefine((value, ctx) => {
    const ms = parseSince(value);
    if (ms === null) ctx.addIssue({ code: 'custom', message: 'A duration such as 90m, 24h or 7d' });
    else if (ms > MAX_WINDOW_MS) ctx.addIssue({ code: 'custom', message: 'At most 30d' });
  })
  .openapi({ description: 'How far back: minutes, hours or days (90m, 24h, 7d), at most 30d', example: '24h' });

export const activityQuerySchema = z.strictObject({
  since: sinceSchema,
  limit: pageLimitSchema(200, 50).openapi({ description: 'Events per page (1-200)' }),
  cursor: pageCursorSchema.optional(),
});

export const conflictsQuerySchema = z.strictObject({
  limit: pageLimitSchema(200, 50),
  cursor: pageCursorSchema.optional(),
});

const perSideSchema = z.object({ a: z.number().int(), b: z.number().int() });
type PerSide = z.infer<typeof perSideSchema>;

const countsShape = {
  created: perSideSchema,
  updated: perSideSchema,
  deleted: perSideSchema,
  failed: perSideSchema.openapi({ description: 'Writes that failed, on the side they were meant for' }),
  conflicts: perSideSchema.openapi({ description: 'Fields changed on both sides; counted on the side that lost and was written' }),
};
const activityCountsSchema = z
  .object(countsShape)
  .openapi('ActivityCounts', { description: 'Per side written: a contact created on side b counts in created.b' });
type ActivityCounts = z.infer<typeof activityCountsSchema>;

export const activityHourSchema = z
  .object({ hour: z.string().openapi({ format: 'date-time', description: 'Start of the UTC hour' }), ...countsShape })
  .openapi('ActivityHour');

const fieldValueSchema = z
  .union([z.string(), z.number(), z.boolean(), z.array(z.string()), z.null()])
  .openapi('FieldValue', { description: "A mapped field's value" });

export const eventViewSchema = z
  .object({
    id: z.string(),
    at: z.string().openapi({ format: 'date-time' }),
    kind: z.string().openapi({ description: 'created, updated, deleted or failed', example: 'updated' }),
    side: sideSchema.nullable().openapi({ description: 'The side that was written' }),
    extId: z.string().nullable().openapi({ description: 'The contact written (for a failure: its id on the source side)' }),
    contactName: z.string().nullable(),
    changed: z.array(z.string()).nullable().openapi({ description: 'For updates: the fields written' }),
    detail: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({
        description:
          'What the engine recorded. Updates: `changed` (the fields written) and `changes`, `[{ field, from, to }]` with each ' +
          "field's value before the write and the value the app holds after it (events written before this existed have no `changes`). " +
          'Failures: `step` and `message`.',
      }),
  })
  .openapi('ActivityEvent');
type EventView = z.infer<typeof eventViewSchema>;

export const activitySchema = z
  .object({
    connectionId: z.string(),
    since: z.string().openapi({ format: 'date-time', description: 'Start of the window' }),
    until: z.string().openapi({ format: 'date-time', description: 'When the answer was made' }),
    hours: z.array(activityHourSchema).openapi({
      description: 'Every UTC hour of the window, oldest first, including empty ones; the first is partial',
    }),
    totals: activityCountsSchema.openapi({ description: 'Sums over the window' }),
    inSync: z.object({
      activeLinks: z.number().int().openapi({ description: 'Linked pairs that sync' }),
      records: perSideSchema.openapi({ description: 'Contacts the engine knows on each side (not deleted)' }),
      unresolvedFailures: z.number().int(),
    }),
    events: z.array(eventViewSchema).openapi({ description: 'Events of the window, newest first' }),
    nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` (same `since`) for older events; null on the last page' }),
  })
  .openapi('ConnectionActivity');

export const conflictViewSchema = z
  .object({
    id: z.string(),
    at: z.string().openapi({ format: 'date-time' }),
    aId: z.string().openapi({ description: "The contact's id on side a" }),
    bId: z.string().openapi({ description: "The contact's id on side b" }),
    fieldA: z.string().openapi({ description: 'Field key on side a', example: 'job_title' }),
    fieldB: z.string().openapi({ description: 'Field key on side b', example: 'jobTitle' }),
    valueA: fieldValueSchema,
    valueB: fieldValueSchema,
    winner: sideSchema.openapi({ description: 'The side whose value was kept (the master app)' }),
  })
  .openapi('Conflict');

export const conflictListSchema = z
  .object({
    connectionId: z.string(),
    conflicts: z.array(conflictViewSchema).openapi({ description: 'Newest first' }),
    nextCursor: z.string().nullable(),
  })
  .openapi('ConflictList');

const zeroCounts = (): ActivityCounts => ({
  created: { a: 0, b: 0 },
  updated: { a: 0, b: 0 },
  deleted: { a: 0, b: 0 },
  failed: { a: 0, b: 0 },
  conflicts: { a: 0, b: 0 },
});

const countKey = { created: 'created', updated: 'updated', deleted: 'deleted', failed: 'failed', conflict: 'conflicts' } as const;

function eventView(row: EventRow): EventView {
  const detail = row.detail && typeof row.detail === 'object' && !Array.isArray(row.detail) ? (row.detail as Record<string, unknown>) : null;
  const changed = Array.isArray(detail?.changed) ? detail.changed.filter((f): f is string => typeof f === 'string') : null;
  return {
    id: String(row.id),
    at: new Date(row.at).toISOString(),
    kind: row.kind,
    side: row.side,
    extId: row.extId,
    contactName: row.contactName,
    changed,
    detail,
  };
}

function conflictView(row: ConflictRow) {
  return {
    id: String(row.id),
    at: new Date(row.at).toISOString(),
    aId: row.aId,
    bId: row.bId,
    fieldA: row.fieldA,
    fieldB: row.fieldB,
    valueA: row.valueA ?? null,
    valueB: row.valueB ?? null,
    winner: row.winner,
  };
}

const add = (into: PerSide, side: 'a' | 'b', n: number) => {
  into[side] += n;
};

export function activityRoutes({ db }: OpsRoutesDeps): Router {
  const router = Router();

  router.get('/connections/:id/activity', async (req, res) => {
    const query = parseOrThrow(activityQuerySchema, req.query);
    const row = await loadConnection(db, res, req.params.id);
    const until = new Date();
    const since = new Date(until.getTime() - parseSince(query.since)!);
    const [counts, page, inSync] = await Promise.all([
      hourlyCounts(db, row.id, since),
      listEvents(db, row.id, {
        since,
        limit: query.limit,
        after: query.cursor,
      }),
      syncTotals(db, row.id),
    ]);

    const firstHour = Math.floor(since.getTime() / HOUR_MS);
    const lastHour = Math.floor(until.getTime() / HOUR_MS);
    const buckets = new Map<number, ActivityCounts>();
    for (let h = firstHour; h <= lastHour; h++) buckets.set(h, zeroCounts());
    const totals = zeroCounts();
    for (const c of counts) {
      const key = countKey[c.kind];
      // An event stamped a moment after `until` (written while this request ran) belongs to the next answer.
      const bucket = buckets.get(c.hour);
      if (!bucket) continue;
      add(bucket[key], c.side, c.n);
      add(totals[key], c.side, c.n);
    }

    res.json({
      connectionId: row.id,
      since: since.toISOString(),
      until: until.toISOString(),
      hours: [...buckets].map(([h, bucket]) => ({ hour: new Date(h * HOUR_MS).toISOString(), ...bucket })),
      totals,
      inSync,
      events: page.rows.map(eventView),
      nextCursor: page.next,
    } satisfies z.infer<typeof activitySchema>);
  });

  router.get('/connections/:id/conflicts', async (req, res) => {
    const query = parseOrThrow(conflictsQuerySchema, req.query);
    const row = await loadConnection(db, res, req.params.id);
    const page = await listConflicts(db, row.id, {
      limit: query.limit,
      after: query.cursor,
    });
    res.json({
      connectionId: row.id,
      conflicts: page.rows.map(conflictView),
      nextCursor: page.next,
    } satisfies z.infer<typeof conflictListSchema>);
  });

  return router;
}

export const activityPaths: RouteConfig[] = [
  {
    method: 'get',
    path: '/connections/{id}/activity',
    summary: 'What the connection did: hourly counts per side, the latest events, and how much is in sync',
    description: `Counts of contacts ${EVENT_KINDS.join(', ')} and conflicts per UTC hour and per side written.`,
    tags: ['ops'],
    request: { params: idParamsSchema, query: activityQuerySchema },
    responses: { 200: jsonBody(activitySchema, 'The activity of the window'), ...readErrors },
  },
  {
    method: 'get',
    path: '/connections/{id}/conflicts',
    summary: 'Fields changed on both sides, with both values and the side that won, newest first',
    tags: ['ops'],
    request: { params: idParamsSchema, query: conflictsQuerySchema },
    responses: { 200: jsonBody(conflictListSchema, 'A page of conflicts'), ...readErrors },
  },
];
