import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { links, operations } from '../../db/schema';
import { createLogger } from '../../lib/logger';
import type { Operation } from '../../sync/plan-types';
import type { AppHarness, HarnessAccount } from '../support/apps/harness';
import { startPipelinerHarness } from '../support/apps/pipeliner';
import { startStack, terminateAll, type Stack } from '../support/stack';

// "A crash between the app's create and the engine recording the link must not create a second contact."
// Pipeliner has no idempotency keys, so the retried apply must find the contact by email first. The steps are
// the connection's own activities, run one by one so the crash can be placed exactly.

describe('creates are idempotent across a crash', () => {
  let stack: Stack;
  let pipeliner: AppHarness;
  let account: HarnessAccount;
  let connectionId: string;

  beforeAll(async () => {
    // No worker: this test runs the activities itself.
    stack = await startStack({ worker: false });
    pipeliner = await startPipelinerHarness();
    account = await pipeliner.account('crash');
    stack.sandbox.instance('beta').seed({ count: 3, start: 0 });
    const res = await stack.request('POST', '/connections', {
      a: account.side,
      b: {
        app: 'sandbox',
        credentials: { apiToken: stack.sandbox.instance('beta').config.token },
        scope: { baseUrl: stack.sandbox.url, instance: 'beta' },
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    connectionId = res.body.id;
  });
  afterAll(async () => {
    await terminateAll(stack, [connectionId]);
    await pipeliner?.close();
    await stack?.close();
  });

  it('a create that reached the app before the crash is found by email, linked, and not made twice', async () => {
    const acts = createActivities({ db: stack.db.db, masterKey: stack.masterKey, logger: createLogger({ level: 'silent' }) });
    for (const side of ['a', 'b'] as const) {
      let cursor: string | null = null;
      do cursor = (await acts.scanPage(connectionId, side, cursor, 'scan-1')).nextCursor;
      while (cursor);
    }
    const plan = await acts.planNextBatch(connectionId, 'initial');
    expect(plan.writes).toBe(3);
    const ops = await stack.db.db
      .select()
      .from(operations)
      .where(and(eq(operations.connectionId, connectionId), eq(operations.batchId, plan.batchId)));
    expect(ops.map((o) => (o.payload as Operation).kind)).toEqual(['create', 'create', 'create']);

    // The crash: the first create reached Pipeliner, then the worker died before recording anything but "started".
    const crashed = ops[0].payload as Extract<Operation, { kind: 'create' }>;
    await stack.db.db.update(operations).set({ status: 'started' }).where(eq(operations.id, ops[0].id));
    const [first, last] = [crashed.fields.first_name, crashed.fields.last_name].map(String);
    await pipeliner.createContact(account, { firstName: first, lastName: last, email: crashed.emails[0] });
    expect(await pipeliner.listContacts(account)).toHaveLength(1);

    // The retried activity.
    const applied = await acts.applyBatch(connectionId, plan.batchId);
    expect(applied.created.a).toBe(3);
    const contacts = await pipeliner.listContacts(account);
    expect(contacts).toHaveLength(3);
    expect(contacts.filter((c) => c.emails.includes(crashed.emails[0]))).toHaveLength(1);
    const linked = await stack.db.db.select().from(links).where(eq(links.connectionId, connectionId));
    expect(linked).toHaveLength(3);
    expect(linked.find((l) => l.bId === crashed.sourceId)?.aId).toBe(
      contacts.find((c) => c.emails.includes(crashed.emails[0]))!.id,
    );
  });
});
