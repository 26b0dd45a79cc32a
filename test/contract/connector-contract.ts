import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthError, TransientError } from '../../connectors/errors';
import type { Change, Connector, WriteOp, WriteResult } from '../../connectors/types';
import type { AppRecord, FieldValue } from '../../sync/types';

// The promises every connector keeps, as one suite each app runs against its own sandbox server (vdirsyncer
// runs one storage test suite against every backend the same way). An app opts out of a test only through its
// declared capabilities, never by skipping it in its own test file.

export interface ContractHarness {
  /** A connector to an account that holds no contacts yet. */
  connector: Connector;
  /** The same account, with credentials the app rejects; `secret` is the rejected credential. */
  connectWithBadCredentials(): { connector: Connector; secret: string };
  /** Valid fields for a new contact; `i` makes its email (in `emailField`) unique within the test. */
  newContact(i: number): Record<string, FieldValue>;
  emailField: string;
  /** A text field the suite edits; newContact must fill it. */
  textField: string;
  /** A field newContact fills that the suite checks is kept when textField changes. */
  keptField: string;
  /** A create the app refuses, and a pattern its own message matches. */
  invalidContact: { fields: Record<string, FieldValue>; message: RegExp };
  /** Makes the app answer the next request with 429 and a Retry-After; absent when the app cannot be made to. */
  throttleNext?(): Promise<void>;
  /** A page size small enough that a few contacts fill several pages. */
  pageSize: number;
  /** How long to wait for writes to show up in reads and feeds (eventually consistent apps); 10 s by default. */
  settleMs?: number;
  close(): Promise<void>;
}

async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function created(result: WriteResult | undefined): AppRecord {
  if (!result?.ok || !result.record) throw new Error(`write failed: ${JSON.stringify(result)}`);
  return result.record;
}

export function connectorContract(name: string, setup: () => Promise<ContractHarness>): void {
  describe(`${name} connector contract`, () => {
    let h: ContractHarness;
    let c: Connector;

    beforeEach(async () => {
      h = await setup();
      c = h.connector;
    });
    afterEach(async () => {
      await h?.close();
    });

    const createMany = async (from: number, count: number): Promise<AppRecord[]> => {
      const ops: WriteOp[] = Array.from({ length: count }, (_, k) => ({
        kind: 'create',
        ref: `new-${from + k}`,
        fields: h.newContact(from + k),
      }));
      const out: AppRecord[] = [];
      for (let i = 0; i < ops.length; i += c.capabilities.maxBatchWrite) {
        const results = await c.write(ops.slice(i, i + c.capabilities.maxBatchWrite));
        out.push(...results.map(created));
      }
      return out;
    };

    it('a full scan lists every contact exactly once, over several pages', async () => {
      const count = h.pageSize * 2 + 2;
      const made = await createMany(0, count);
      const seen: AppRecord[] = [];
      let pages = 0;
      let cursor: string | null = null;
      let firstTotal: number | undefined;
      do {
        const page = await c.listPage(cursor, h.pageSize);
        if (pages === 0) firstTotal = page.total;
        expect(page.records.length).toBeLessThanOrEqual(h.pageSize);
        seen.push(...page.records);
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 100);

      expect(pages).toBeGreaterThanOrEqual(3);
      expect(new Set(seen.map((r) => r.id)).size).toBe(seen.length);
      expect(seen.map((r) => r.id).sort()).toEqual(made.map((r) => r.id).sort());
      if (c.capabilities.totalCount) expect(firstTotal).toBe(count);
      const emails = seen.map((r) => String(r.fields[h.emailField]).toLowerCase()).sort();
      expect(emails).toEqual(made.map((_, i) => String(h.newContact(i)[h.emailField]).toLowerCase()).sort());
    });

    it('the feed from a cursor taken before changes reports the create, the update and the deletion', async () => {
      if (c.capabilities.incremental === 'none') return;
      const [kept, doomed] = await createMany(0, 2);
      const cursor = await c.currentCursor();

      const [fresh] = await createMany(2, 1);
      const updated = created((await c.write([{ kind: 'update', ref: 'u', id: kept.id, version: kept.version, fields: { [h.textField]: 'Changed by contract' } }]))[0]);
      const deleted = (await c.write([{ kind: 'delete', ref: 'd', id: doomed.id, version: doomed.version }]))[0];
      expect(deleted.ok).toBe(true);

      const readAll = async (): Promise<Change[]> => {
        const all: Change[] = [];
        let at = cursor;
        for (let guard = 0; guard < 1000; guard++) {
          const set = await c.changesSince(at, h.pageSize);
          all.push(...set.changes);
          at = set.nextCursor;
          if (!set.hasMore) break;
        }
        return all;
      };
      const latest = (changes: Change[], id: string) =>
        changes.filter((ch) => (ch.deleted ? ch.id : ch.record.id) === id).at(-1);
      const complete = (changes: Change[]) => {
        const u = latest(changes, kept.id);
        const d = latest(changes, doomed.id);
        return (
          latest(changes, fresh.id)?.deleted === false &&
          u?.deleted === false &&
          u.record.fields[h.textField] === 'Changed by contract' &&
          (!c.capabilities.reportsDeletions || d?.deleted === true)
        );
      };
      const changes = await eventually(readAll, complete, h.settleMs ?? 10_000);

      const freshChange = latest(changes, fresh.id);
      expect(freshChange).toMatchObject({ deleted: false, record: { id: fresh.id } });
      expect(latest(changes, kept.id)).toMatchObject({
        deleted: false,
        record: { id: kept.id, version: updated.version, fields: { [h.textField]: 'Changed by contract' } },
      });
      if (c.capabilities.reportsDeletions) expect(latest(changes, doomed.id)).toEqual({ deleted: true, id: doomed.id });

      // Nothing before the cursor is reported again as new: the untouched contacts of the account are absent.
      const after = await c.currentCursor();
      const quiet = await c.changesSince(after, h.pageSize);
      expect(quiet.changes).toEqual([]);
    });

    it('a stale version is a conflict and overwrites nothing; the current version writes', async () => {
      const [v1] = await createMany(0, 1);
      const v2 = created((await c.write([{ kind: 'update', ref: 'a', id: v1.id, version: v1.version, fields: { [h.textField]: 'Second' } }]))[0]);
      expect(v2.version).not.toBe(v1.version);
      expect(v2.fields[h.textField]).toBe('Second');

      const stale = (await c.write([{ kind: 'update', ref: 'b', id: v1.id, version: v1.version, fields: { [h.textField]: 'Lost' } }]))[0];
      expect(stale).toMatchObject({ ref: 'b', ok: false, error: { kind: 'conflict' } });
      expect((await c.get(v1.id))?.fields[h.textField]).toBe('Second');

      const staleDelete = (await c.write([{ kind: 'delete', ref: 'c', id: v1.id, version: v1.version }]))[0];
      expect(staleDelete).toMatchObject({ ok: false, error: { kind: 'conflict' } });
      expect(await c.get(v1.id)).not.toBeNull();

      const removed = (await c.write([{ kind: 'delete', ref: 'd', id: v1.id, version: v2.version }]))[0];
      expect(removed).toEqual({ ref: 'd', ok: true, record: null });
      expect(await eventually(() => c.get(v1.id), (r) => r === null, h.settleMs ?? 10_000)).toBeNull();
    });

    it('an update sends only the changed field and keeps every other field', async () => {
      const [before] = await createMany(0, 1);
      const after = created((await c.write([{ kind: 'update', ref: 'u', id: before.id, version: before.version, fields: { [h.textField]: 'Only this' } }]))[0]);
      expect(after.fields[h.keptField]).toEqual(before.fields[h.keptField]);
      expect(after.fields[h.emailField]).toEqual(before.fields[h.emailField]);
      const read = await c.get(before.id);
      expect(read?.fields).toEqual({ ...before.fields, [h.textField]: 'Only this' });
    });

    it('get of an unknown id is null', async () => {
      const [one] = await createMany(0, 1);
      await c.write([{ kind: 'delete', ref: 'd', id: one.id }]);
      expect(await eventually(() => c.get(one.id), (r) => r === null, h.settleMs ?? 10_000)).toBeNull();
    });

    it('findByEmail finds a contact by its email, whatever the case', async () => {
      if (!c.capabilities.lookupByEmail) return;
      const [one] = await createMany(0, 1);
      await createMany(1, 2);
      const email = String(h.newContact(0)[h.emailField]);
      const found = await eventually(() => c.findByEmail(email.toUpperCase()), (r) => r.length > 0, h.settleMs ?? 10_000);
      expect(found.map((r) => r.id)).toEqual([one.id]);
      expect(await c.findByEmail(`nobody-${Date.now()}@nowhere.example`)).toEqual([]);
    });

    it('creates are idempotent: the same idempotency key twice makes one contact', async () => {
      if (!c.capabilities.idempotencyKeys) return;
      const op: WriteOp = { kind: 'create', ref: 'once', fields: h.newContact(7), idempotencyKey: `contract-${Date.now()}-7` };
      const first = created((await c.write([op]))[0]);
      const retried = created((await c.write([op]))[0]);
      expect(retried.id).toBe(first.id);
      const email = String(h.newContact(7)[h.emailField]);
      if (c.capabilities.lookupByEmail) expect((await c.findByEmail(email)).map((r) => r.id)).toEqual([first.id]);
      const page = await c.listPage(null, c.capabilities.maxPageSize);
      expect(page.records.filter((r) => String(r.fields[h.emailField]).toLowerCase() === email.toLowerCase())).toHaveLength(1);
    });

    it('a rate-limited request is a TransientError carrying the Retry-After', async () => {
      if (!h.throttleNext) return;
      await h.throttleNext();
      const err = await c.listPage(null, h.pageSize).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect((err as TransientError).status).toBe(429);
      expect((err as TransientError).retryAfterMs).toBeGreaterThan(0);
      // Throttling passes; the next call works.
      await expect(c.listPage(null, h.pageSize)).resolves.toBeTruthy();
    });

    it('a value the app rejects fails that contact alone, with the app’s own message', async () => {
      const results = await c.write([
        { kind: 'create', ref: 'bad', fields: h.invalidContact.fields },
        { kind: 'create', ref: 'good', fields: h.newContact(1) },
      ]);
      expect(results.map((r) => r.ref)).toEqual(['bad', 'good']);
      const [bad, good] = results;
      expect(bad.ok).toBe(false);
      if (!bad.ok) {
        expect(bad.error.kind).toBe('contact');
        expect(bad.error.message).toMatch(h.invalidContact.message);
      }
      expect(good.ok).toBe(true);
    });

    it('rejected credentials are an AuthError, for reads and writes, and never echo the secret', async () => {
      const { connector: bad, secret } = h.connectWithBadCredentials();
      const read = await bad.listPage(null, h.pageSize).catch((e: unknown) => e);
      expect(read).toBeInstanceOf(AuthError);
      const write = await bad.write([{ kind: 'create', ref: 'x', fields: h.newContact(1) }]).catch((e: unknown) => e);
      expect(write).toBeInstanceOf(AuthError);
      expect(String((read as Error).message)).not.toContain(secret);
      expect(String((write as Error).message)).not.toContain(secret);
    });
  });
}
