import { and, asc, eq, gt, inArray, isNotNull, isNull, or, sql } from 'drizzle-orm';
import type { ErrorInfo } from '../../connectors/errors';
import type { Side } from '../../sync/types';
import type { Db } from '../client';
import { failures } from '../schema';
import { jsonRows } from './json';
import type { ContactRef } from './records';

// Contacts that failed to sync: one row per contact and step, answered (resolved) by the contact's next
// success; each may have a failure case in Temporal (caseState).

export type FailureRow = typeof failures.$inferSelect;

/** Who the contact is, for the people reading failures and the activity feed. */
export interface ContactName {
  name: string | null;
  email: string | null;
}

const contactKey = [failures.connectionId, failures.side, failures.extId, failures.step];

/** A contact that synced (or matched) is no longer failed, whatever step failed before. */
export async function resolveFailures(db: Db, connectionId: string, contacts: ContactRef[], step?: string): Promise<void> {
  if (contacts.length === 0) return;
  await db.execute(sql`
    UPDATE failures f SET resolved_at = now()
    FROM jsonb_to_recordset(${jsonRows(contacts)}) AS v(side text, "extId" text)
    WHERE f.connection_id = ${connectionId} AND f.resolved_at IS NULL
      AND f.side = v.side AND f.ext_id = v."extId" ${step ? sql`AND f.step = ${step}` : sql``}`);
}

export interface AmbiguousMatch {
  side: Side;
  extId: string;
  /** the user-facing explanation, listing the candidates */
  message: string;
  contactName: string | null;
  contactEmail: string;
}

/** Records (or renews) a match the planner could not make: several contacts on the other side share the email. */
export async function recordAmbiguous(db: Db, connectionId: string, amb: AmbiguousMatch): Promise<void> {
  const { message } = amb;
  await db
    .insert(failures)
    .values({
      connectionId,
      side: amb.side,
      extId: amb.extId,
      step: 'match',
      kind: 'ambiguous',
      message,
      contactName: amb.contactName,
      contactEmail: amb.contactEmail,
    })
    .onConflictDoUpdate({
      target: contactKey,
      set: { message, lastAt: sql`now()`, resolvedAt: null, attempts: sql`${failures.attempts} + 1` },
    });
}

export interface WriteFailure {
  /** the contact the write came from */
  source: ContactRef;
  /** the contact written to; null for a create */
  targetId: string | null;
  step: string;
  error: ErrorInfo;
  who: ContactName;
}

/** A write the app refused: a new failure, or one more attempt of the same one (which opens it again). */
export async function recordWriteFailure(db: Db, connectionId: string, f: WriteFailure): Promise<void> {
  const { error } = f;
  await db
    .insert(failures)
    .values({
      connectionId,
      side: f.source.side,
      extId: f.source.extId,
      targetId: f.targetId,
      step: f.step,
      kind: error.kind,
      message: error.message,
      status: error.status ?? null,
      code: error.code ?? null,
      contactName: f.who.name,
      contactEmail: f.who.email,
    })
    .onConflictDoUpdate({
      target: contactKey,
      set: {
        kind: error.kind,
        message: error.message,
        status: error.status ?? null,
        code: error.code ?? null,
        attempts: sql`${failures.attempts} + 1`,
        lastAt: sql`now()`,
        resolvedAt: null,
      },
    });
}

/** Open failures that have no open case in Temporal yet (none ever, or the last one closed). */
export function failuresWithoutCase(db: Db, connectionId: string, limit: number): Promise<FailureRow[]> {
  return db
    .select()
    .from(failures)
    .where(
      and(
        eq(failures.connectionId, connectionId),
        isNull(failures.resolvedAt),
        or(isNull(failures.caseState), eq(failures.caseState, 'closed')),
      ),
    )
    .limit(limit);
}

/** Resolved failures whose case in Temporal is still open. */
export function resolvedWithOpenCase(db: Db, connectionId: string, limit: number): Promise<FailureRow[]> {
  return db
    .select()
    .from(failures)
    .where(and(eq(failures.connectionId, connectionId), isNotNull(failures.resolvedAt), eq(failures.caseState, 'open')))
    .limit(limit);
}

/** Unresolved failures whose case is open, in id order after `afterId`: the cases a settings change retries. */
export function unresolvedWithOpenCase(db: Db, connectionId: string, afterId: number, limit: number): Promise<FailureRow[]> {
  return db
    .select()
    .from(failures)
    .where(
      and(
        eq(failures.connectionId, connectionId),
        isNull(failures.resolvedAt),
        eq(failures.caseState, 'open'),
        gt(failures.id, afterId),
      ),
    )
    .orderBy(asc(failures.id))
    .limit(limit);
}

export async function setCaseState(db: Db, ids: number[], state: 'open' | 'closed'): Promise<void> {
  if (ids.length === 0) return;
  await db.update(failures).set({ caseState: state }).where(inArray(failures.id, ids));
}

const ofContact = (connectionId: string, c: ContactRef) =>
  and(eq(failures.connectionId, connectionId), eq(failures.side, c.side), eq(failures.extId, c.extId));

/** Every failure of the contact, at any step; resolved ones too when `open` is not set. */
export function failuresOf(db: Db, connectionId: string, contact: ContactRef, opts: { open?: boolean } = {}): Promise<FailureRow[]> {
  return db
    .select()
    .from(failures)
    .where(and(ofContact(connectionId, contact), opts.open ? isNull(failures.resolvedAt) : undefined));
}

/** A replay was asked for at `at`: the contact's next outcome answers it. */
export async function markReplayRequested(db: Db, connectionId: string, contact: ContactRef, at: Date): Promise<void> {
  await db.update(failures).set({ replayRequestedAt: at }).where(ofContact(connectionId, contact));
}

/** The contact's open failures are stale: it was planned again and nothing was left to write. */
export async function resolveContact(db: Db, connectionId: string, contact: ContactRef): Promise<void> {
  await db
    .update(failures)
    .set({ resolvedAt: sql`now()` })
    .where(and(ofContact(connectionId, contact), isNull(failures.resolvedAt)));
}
