import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { describeContact } from '../activities/describe';
import type { AppDefinition } from '../connectors/types';
import type { Db } from '../db/client';
import type { ConnectionRow } from '../db/queries/connections';
import {
  CONTACT_STATUSES,
  countContacts,
  decodeContactCursor,
  encodeContactCursor,
  listContacts,
  type ContactCounts,
  type ContactRow,
  type NameKeys,
} from '../db/queries/contacts';
import type { Filter, Rule } from '../sync/rules';
import type { FieldDef, Side } from '../sync/types';
import { contactFailureWorkflowId } from '../workflows/messages';
import { ambiguousCandidates, jsonBody, loadConnection, pageLimitSchema, readErrors } from './health';
import { idParamsSchema, sideSchema } from './schemas';
import { parseOrThrow, type AppLookup } from './validation';

// GET /connections/:id/contacts: every contact of both sides with its sync status (db/queries/contacts.ts
// says how each is derived), what explains it (the rule, the candidates, the app's message), paged by
// keyset, filtered by status and side, searched by name or email.

export interface ContactRoutesDeps {
  db: Db;
  apps: AppLookup;
  /** How long a connection's counts are reused (0: never); see CountsCache. */
  countsTtlMs?: number;
}

/**
 * The counts judge every contact of the connection (a pass over 200,000 rows at 100,000 a side, where a page
 * reads about fifty), so a dashboard paging or polling reuses them: fresh for `ttlMs`, then served once more
 * while they are counted again in the background, so only the first request of a connection waits for them.
 * Per process and bounded: the oldest entry goes first.
 */
export class CountsCache {
  private readonly entries = new Map<string, { at: number; counts: Promise<ContactCounts>; refresh?: Promise<void> }>();
  constructor(
    private readonly ttlMs: number,
    private readonly max = 500,
  ) {}

  get(key: string, compute: () => Promise<ContactCounts>, now = Date.now()): Promise<ContactCounts> {
    const hit = this.entries.get(key);
    if (!hit || this.ttlMs <= 0) {
      const counts = compute();
      if (this.ttlMs > 0) this.keep(key, { at: now, counts });
      // A failed count is not kept: the next request tries again.
      counts.catch(() => this.entries.delete(key));
      return counts;
    }
    if (now - hit.at >= this.ttlMs && !hit.refresh) {
      hit.refresh = compute().then(
        (fresh) => {
          hit.at = now;
          hit.counts = Promise.resolve(fresh);
        },
        () => undefined,
      ).finally(() => {
        hit.refresh = undefined;
      });
    }
    return hit.counts;
  }

  /** Resolves once a background recount of the key (if any) has finished. */
  async refreshed(key: string): Promise<void> {
    await this.entries.get(key)?.refresh;
  }

  private keep(key: string, entry: { at: number; counts: Promise<ContactCounts> }) {
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}

export const COUNTS_TTL_MS = 5_000;

export const contactStatusSchema = z.enum(CONTACT_STATUSES).openapi({
  description:
    'in-sync: linked and current; pending: waiting for the next cycle; excluded: kept from the other side (see `rule`); ' +
    'no-email: never matched (avoid duplicates needs an email); ambiguous: several contacts on the other side share its email; ' +
    "failed: the app refused a write (see `failure`)",
});

export const contactCursorSchema = z
  .string()
  .transform((text, ctx) => {
    const cursor = decodeContactCursor(text);
    if (!cursor) ctx.addIssue({ code: 'custom', message: 'Not a cursor returned by this endpoint' });
    return cursor ?? z.NEVER;
  })
  .openapi({ type: 'string', description: 'nextCursor of the previous page (opaque)' });

export const contactsQuerySchema = z.strictObject({
  status: contactStatusSchema.optional().openapi({ description: 'Only contacts with this status' }),
  side: sideSchema.optional().openapi({ description: 'Only the contacts of this side' }),
  q: z
    .string()
    .trim()
    .min(1, 'Give at least one character to search for')
    .max(200)
    .optional()
    .openapi({ description: 'Case-insensitive substring of the name or of any email', example: 'ada' }),
  limit: pageLimitSchema(200, 50),
  cursor: contactCursorSchema.optional(),
});

export const contactRuleSchema = z
  .object({
    kind: z.enum(['rules', 'direction', 'stopped']).openapi({
      description:
        "rules: no rule of the contact's direction matches it; direction: the connection is one-way the other way; " +
        'stopped: its pair no longer syncs (the other contact was deleted)',
    }),
    direction: z.enum(['aToB', 'bToA']).openapi({ description: 'The direction the contact would go in' }),
    index: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'The rule (in settings.rules[direction]) it does not match when there is one; null when several or none apply' }),
    text: z.string().openapi({ example: 'IF Company contains "Acme" THEN sync' }),
  })
  .openapi('ContactRule');

export const contactFailureSchema = z
  .object({
    id: z.string().openapi({ description: 'Failure id, for POST /connections/{id}/failures/{failureId}/retry' }),
    message: z.string().openapi({ description: "The app's own message" }),
    step: z.string().openapi({ description: 'create, update, delete or match' }),
    attempts: z.number().int(),
    lastAt: z.string().openapi({ format: 'date-time' }),
    workflowId: z.string().openapi({ description: "The contact's failure case in Temporal" }),
  })
  .openapi('ContactFailure');

export const contactViewSchema = z
  .object({
    side: sideSchema,
    id: z.string().openapi({ description: "The contact's id on `side`" }),
    name: z.string().nullable(),
    email: z.string().nullable(),
    status: contactStatusSchema,
    linkedId: z.string().nullable().openapi({ description: 'Its id on the other side while the pair syncs, else null' }),
    rule: contactRuleSchema.nullable().openapi({ description: 'For excluded: why; else null' }),
    candidates: z.array(z.string()).nullable().openapi({ description: 'For ambiguous: the ids on the other side that share its email' }),
    failure: contactFailureSchema.nullable().openapi({ description: 'For failed (and ambiguous): the unresolved failure' }),
    updatedAt: z.string().openapi({ format: 'date-time', description: 'When the engine last stored a change of it' }),
  })
  .openapi('ContactStatus');
type ContactView = z.infer<typeof contactViewSchema>;

const countsSchema = z
  .object({
    inSync: z.number().int(),
    pending: z.number().int(),
    excluded: z.number().int(),
    noEmail: z.number().int(),
    ambiguous: z.number().int(),
    failed: z.number().int(),
  })
  .openapi('ContactCounts', {
    description: `Contacts of both sides per status, whatever the filter. Counted again every ${COUNTS_TTL_MS / 1000} s at most (in the background), so they may trail the page by a few seconds`,
  });

export const contactListSchema = z
  .object({
    connectionId: z.string(),
    counts: countsSchema,
    contacts: z.array(contactViewSchema).openapi({ description: 'Side a first, then side b, each by id' }),
    nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` (same filters) for the next page; null on the last one' }),
  })
  .openapi('ContactList');

const canonicalKey = (catalog: FieldDef[], slot: string) => catalog.find((f) => f.canonical === slot)?.key;
const nameKeysOf = (catalog: FieldDef[]): NameKeys => ({
  first: canonicalKey(catalog, 'firstName'),
  last: canonicalKey(catalog, 'lastName'),
  company: canonicalKey(catalog, 'company'),
});

const quote = (v: unknown) => JSON.stringify(String(v));
const OPERATOR_TEXT: Record<string, string> = {
  equals: 'is',
  notEquals: 'is not',
  contains: 'contains',
  startsWith: 'starts with',
  isEmpty: 'is empty',
  isNotEmpty: 'is not empty',
  hasTag: 'has the tag',
  ownerIs: 'is owned by',
};

/** A filter as a person reads it, with the fields' labels: Company contains "Acme" and (Tags has the tag "vip"). */
export function filterText(filter: Filter, catalog: FieldDef[]): string {
  if ('and' in filter || 'or' in filter) {
    const parts = 'and' in filter ? filter.and : filter.or;
    const joined = parts.map((p) => ('and' in p || 'or' in p ? `(${filterText(p, catalog)})` : filterText(p, catalog)));
    return joined.join('and' in filter ? ' and ' : ' or ');
  }
  if (filter.operator === 'ownerIs' && filter.field === undefined) return `owner is ${quote(filter.value)}`;
  const field = filter.field ?? (filter.operator === 'hasTag' ? 'tags' : '?');
  const label = catalog.find((f) => f.key === field)?.label ?? field;
  const op = OPERATOR_TEXT[filter.operator] ?? filter.operator;
  if (filter.operator === 'hasTag' && filter.field === undefined) return `${op} ${quote(filter.value)}`;
  return filter.value === undefined ? `${label} ${op}` : `${label} ${op} ${quote(filter.value)}`;
}

export function ruleText(rule: Rule, catalog: FieldDef[]): string {
  const tags = rule.tags?.length ? ` and tag ${rule.tags.map(quote).join(', ')}` : '';
  return rule.filter ? `IF ${filterText(rule.filter, catalog)} THEN sync${tags}` : `sync every contact${tags}`;
}

interface ConnectionApps {
  catalog: Record<Side, FieldDef[]>;
  name: Record<Side, string>;
}

/** Why an excluded contact is kept from the other side, in the words of the settings. */
function ruleOf(row: ConnectionRow, apps: ConnectionApps, contact: ContactRow): ContactView['rule'] {
  const direction = contact.side === 'a' ? 'aToB' : 'bToA';
  const from = apps.name[contact.side];
  const to = apps.name[contact.side === 'a' ? 'b' : 'a'];
  if (contact.linkState !== null && contact.linkState !== 'active') {
    const gone = /^deleted-(a|b|both)$/.exec(contact.linkState)?.[1];
    const where = gone === 'both' ? 'on both sides' : gone ? `in ${apps.name[gone as Side]}` : '';
    const text = gone
      ? `Its counterpart was deleted ${where}; the pair no longer syncs (link ${contact.linkState})`
      : `The pair no longer syncs (link ${contact.linkState})`;
    return { kind: 'stopped', direction, index: null, text };
  }
  if (contact.excludedBy === 'direction') {
    return { kind: 'direction', direction, index: null, text: `The connection syncs one way only (${row.settings.direction}): contacts of ${from} do not go to ${to}` };
  }
  const rules = row.settings.rules?.[direction] ?? [];
  const catalog = apps.catalog[contact.side];
  if (rules.length === 1) return { kind: 'rules', direction, index: 0, text: ruleText(rules[0], catalog) };
  const listed = rules.map((r, i) => `${i + 1}) ${ruleText(r, catalog)}`).join('; ');
  const text = rules.length
    ? `Matches none of the ${rules.length} rules from ${from} to ${to}: ${listed}`
    : `Excluded by rules from ${from} to ${to} that have changed since; the next resync judges it again`;
  return { kind: 'rules', direction, index: null, text };
}

function contactView(row: ConnectionRow, apps: ConnectionApps, c: ContactRow): ContactView {
  const who = describeContact(c.fields, apps.catalog[c.side]);
  return {
    side: c.side,
    id: c.extId,
    name: who.name,
    email: who.email ?? c.emails[0] ?? null,
    status: c.status,
    linkedId: c.linkedId,
    rule: c.status === 'excluded' ? ruleOf(row, apps, c) : null,
    candidates: c.status === 'ambiguous' && c.failure ? ambiguousCandidates(c.failure.message) : null,
    failure:
      c.failure && (c.status === 'failed' || c.status === 'ambiguous')
        ? {
            id: String(c.failure.id),
            message: c.failure.message,
            step: c.failure.step,
            attempts: c.failure.attempts,
            lastAt: c.failure.lastAt.toISOString(),
            workflowId: contactFailureWorkflowId(row.id, c.side, c.extId),
          }
        : null,
    updatedAt: c.updatedAt.toISOString(),
  };
}

export const countsView = (c: ContactCounts): z.infer<typeof countsSchema> => ({
  inSync: c['in-sync'],
  pending: c.pending,
  excluded: c.excluded,
  noEmail: c['no-email'],
  ambiguous: c.ambiguous,
  failed: c.failed,
});

export function contactRoutes({ db, apps, countsTtlMs = COUNTS_TTL_MS }: ContactRoutesDeps): Router {
  const router = Router();
  const cache = new CountsCache(countsTtlMs);
  router.get('/connections/:id/contacts', async (req, res) => {
    const query = parseOrThrow(contactsQuerySchema, req.query);
    const row = await loadConnection(db, res, req.params.id);
    const defs: Record<Side, AppDefinition | undefined> = { a: apps(row.appA), b: apps(row.appB) };
    // The standard fields name a contact; an account's custom fields never hold its name.
    const connectionApps: ConnectionApps = {
      catalog: { a: defs.a?.fields ?? [], b: defs.b?.fields ?? [] },
      name: { a: defs.a?.name ?? row.appA, b: defs.b?.name ?? row.appB },
    };
    const avoidDuplicates = row.settings.avoidDuplicates ?? true;
    const [page, counts] = await Promise.all([
      listContacts(db, row.id, {
        status: query.status,
        side: query.side,
        q: query.q,
        limit: query.limit,
        after: query.cursor,
        nameKeys: { a: nameKeysOf(connectionApps.catalog.a), b: nameKeysOf(connectionApps.catalog.b) },
        avoidDuplicates,
      }),
      cache.get(`${row.id}:${avoidDuplicates}`, () => countContacts(db, row.id, { avoidDuplicates })),
    ]);
    res.json({
      connectionId: row.id,
      counts: countsView(counts),
      contacts: page.rows.map((c) => contactView(row, connectionApps, c)),
      nextCursor: page.next ? encodeContactCursor(page.next) : null,
    } satisfies z.infer<typeof contactListSchema>);
  });
  return router;
}

export const contactPaths: RouteConfig[] = [
  {
    method: 'get',
    path: '/connections/{id}/contacts',
    summary: 'Every contact of both sides with its sync status: in sync, pending, excluded, no email, ambiguous or failed',
    description:
      'Paged by keyset (side, then id), so pages neither repeat nor skip contacts while the sync runs. `counts` covers the whole ' +
      'connection whatever the filters. Excluded contacts say which rule keeps them out; ambiguous ones list the candidates; ' +
      "failed ones carry the app's message, the step, attempts and the Temporal workflow id of their failure case.",
    tags: ['ops'],
    request: { params: idParamsSchema, query: contactsQuerySchema },
    responses: { 200: jsonBody(contactListSchema, 'A page of contacts'), ...readErrors },
  },
];
