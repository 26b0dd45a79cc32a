import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import type { ErrorInfo } from '../connectors/errors';
import type { ConnectionSettings } from '../sync/settings';
import type { FieldValue } from '../sync/types';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();
type Fields = Record<string, FieldValue>;

export const workspaces = pgTable('workspaces', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

/** API keys are stored as SHA-256 hashes; the prefix lets a user tell keys apart. */
export const apiKeys = pgTable('api_keys', {
  id: text('id').primaryKey(),
  workspaceId: text('workspace_id')
    .notNull()
    .references(() => workspaces.id),
  name: text('name').notNull(),
  prefix: text('prefix').notNull(),
  keyHash: text('key_hash').notNull().unique(),
  createdAt: createdAt(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

/**
 * Dashboard sign-ins: an API key exchanged for an HttpOnly cookie. The cookie's value is stored as its
 * SHA-256 only, like API keys; the CSRF token is not a credential on its own (it is useless without the
 * cookie) and is kept as is. A session is refused once its key is revoked.
 */
export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    tokenHash: text('token_hash').notNull().unique(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id),
    apiKeyId: text('api_key_id')
      .notNull()
      .references(() => apiKeys.id),
    csrfToken: text('csrf_token').notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }).notNull().defaultNow(),
    /** moves forward with use (the idle timeout), never past created_at plus the absolute lifetime */
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('sessions_expiry').on(t.expiresAt)],
);

/** Where a connection's workflow is in its life, mirrored here so the API can list connections by it. */
export type ConnectionPhase =
  | 'initial-scan'
  | 'running'
  | 'paused'
  | 'needs-reauth'
  | 'needs-confirmation'
  | 'stopped';

export const connections = pgTable('connections', {
  id: text('id').primaryKey(),
  workspaceId: text('workspace_id')
    .notNull()
    .references(() => workspaces.id),
  name: text('name').notNull(),
  appA: text('app_a').notNull(),
  appB: text('app_b').notNull(),
  scopeA: jsonb('scope_a').$type<Record<string, unknown>>().notNull(),
  scopeB: jsonb('scope_b').$type<Record<string, unknown>>().notNull(),
  optionsA: jsonb('options_a').$type<Record<string, unknown>>().notNull().default({}),
  optionsB: jsonb('options_b').$type<Record<string, unknown>>().notNull().default({}),
  /** AES-256-GCM envelopes (db/crypto.ts); never returned by the API. */
  credentialsA: text('credentials_a').notNull(),
  credentialsB: text('credentials_b').notNull(),
  settings: jsonb('settings').$type<ConnectionSettings>().notNull(),
  state: text('state').$type<ConnectionPhase>().notNull().default('initial-scan'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
});

/**
 * The engine's copy of each side, a page at a time: what the planner reads instead of the apps.
 * `dirty` marks records changed since they were last planned.
 */
export const records = pgTable(
  'records',
  {
    connectionId: text('connection_id').notNull(),
    side: text('side').$type<'a' | 'b'>().notNull(),
    extId: text('ext_id').notNull(),
    version: text('version').notNull(),
    fields: jsonb('fields').$type<Fields>().notNull(),
    /** every email of the record, trimmed and lower-cased: the match key */
    emails: text('emails').array().notNull().default(sql`'{}'::text[]`),
    deleted: boolean('deleted').notNull().default(false),
    dirty: boolean('dirty').notNull().default(true),
    /** the full scan that last saw the record: after a re-scan, records it did not see were deleted */
    scanId: text('scan_id'),
    /**
     * Why the last plan kept the record from going to the other side: 'rules' (no rule of its direction
     * matches it) or 'direction' (the connection is one-way the other way); null when it may go.
     */
    excludedBy: text('excluded_by').$type<'rules' | 'direction'>(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.connectionId, t.side, t.extId] }),
    index('records_dirty').on(t.connectionId, t.dirty),
    index('records_emails').using('gin', t.emails),
    // The contact-status listing's filters that are rare among 100,000 contacts, so they are found by index.
    index('records_excluded').on(t.connectionId, t.side, t.extId).where(sql`${t.excludedBy} IS NOT NULL`),
    index('records_pending').on(t.connectionId, t.side, t.extId).where(sql`${t.dirty}`),
    index('records_no_email').on(t.connectionId, t.side, t.extId).where(sql`cardinality(${t.emails}) = 0`),
  ],
);

export const links = pgTable(
  'links',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    connectionId: text('connection_id').notNull(),
    aId: text('a_id').notNull(),
    bId: text('b_id').notNull(),
    baselineA: jsonb('baseline_a').$type<Fields | null>(),
    baselineB: jsonb('baseline_b').$type<Fields | null>(),
    /** active, or why it stopped (deleted-a, deleted-b, out-of-rules...) */
    state: text('state').notNull().default('active'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('links_a').on(t.connectionId, t.aId), uniqueIndex('links_b').on(t.connectionId, t.bId)],
);

/**
 * Planned writes. A row is written before the app is called (the intent), marked started just before,
 * and done or failed after: a retry that finds a started create looks the contact up before creating again.
 */
export const operations = pgTable(
  'operations',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    connectionId: text('connection_id').notNull(),
    batchId: text('batch_id').notNull(),
    kind: text('kind').notNull(),
    target: text('target').$type<'a' | 'b'>(),
    payload: jsonb('payload').notNull(),
    status: text('status').$type<'pending' | 'started' | 'done' | 'failed'>().notNull().default('pending'),
    error: jsonb('error').$type<ErrorInfo>(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('operations_batch').on(t.connectionId, t.batchId, t.status)],
);

/** Contacts that failed to sync, with the app's own message. */
export const failures = pgTable(
  'failures',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    connectionId: text('connection_id').notNull(),
    /** the side the contact comes from and its id there */
    side: text('side').$type<'a' | 'b'>().notNull(),
    extId: text('ext_id').notNull(),
    targetId: text('target_id'),
    step: text('step').notNull(),
    kind: text('kind').notNull(),
    message: text('message').notNull(),
    status: integer('status'),
    code: text('code'),
    contactName: text('contact_name'),
    contactEmail: text('contact_email'),
    attempts: integer('attempts').notNull().default(1),
    firstAt: timestamp('first_at', { withTimezone: true }).notNull().defaultNow(),
    lastAt: timestamp('last_at', { withTimezone: true }).notNull().defaultNow(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    /** the contact's failure workflow in Temporal: null (none yet), 'open' or 'closed' */
    caseState: text('case_state'),
    /** set by a replay: the next outcome of the contact answers it */
    replayRequestedAt: timestamp('replay_requested_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('failures_contact').on(t.connectionId, t.side, t.extId, t.step),
    // What is unresolved, per contact: the contact-status listing and the overview's counts.
    index('failures_unresolved').on(t.connectionId, t.side, t.extId).where(sql`${t.resolvedAt} IS NULL`),
  ],
);

export const conflicts = pgTable(
  'conflicts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    connectionId: text('connection_id').notNull(),
    aId: text('a_id').notNull(),
    bId: text('b_id').notNull(),
    fieldA: text('field_a').notNull(),
    fieldB: text('field_b').notNull(),
    valueA: jsonb('value_a').$type<FieldValue>(),
    valueB: jsonb('value_b').$type<FieldValue>(),
    winner: text('winner').$type<'a' | 'b'>().notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('conflicts_connection').on(t.connectionId, t.at)],
);

/** What happened to each contact, for the activity feed and hourly counts. */
export const events = pgTable(
  'events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    connectionId: text('connection_id').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    /** the side that was written */
    side: text('side').$type<'a' | 'b'>(),
    kind: text('kind').notNull(),
    extId: text('ext_id'),
    contactName: text('contact_name'),
    detail: jsonb('detail'),
  },
  (t) => [index('events_connection').on(t.connectionId, t.at)],
);
