import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { createLogger } from '../../lib/logger';
import { startStack, terminateAll, type Stack } from '../support/stack';

// A worker that dies after planNextBatch committed its plan, but before Temporal recorded the activity's
// result, leaves writes queued under a batch id the workflow never learns; the records are settled, so no
// later plan would write them. The retried planNextBatch must hand that batch back instead of planning on.
// The activities run one by one here, so the lost answer can be placed exactly.

describe('a plan whose answer was lost', () => {
  let stack: Stack;
  let connectionId: string;

  beforeAll(async () => {
    stack = await startStack({ worker: false });
    stack.sandbox.instance('alpha').seed({ count: 6, start: 0, seed: 1 });
    stack.sandbox.instance('beta').seed({ count: 2, start: 100, seed: 2 });
    connectionId = await stack.connect('alpha', 'beta');
  });
  afterAll(async () => {
    await terminateAll(stack, [connectionId]);
    await stack?.close();
  });

  it('is applied by the retried planNextBatch, and nothing is planned twice', async () => {
    // The connect above started the workflow, which no worker runs: it is stopped so only this test acts.
    await stack.client.workflow.getHandle(`connection:${connectionId}`).terminate('the test runs the activities');
    const acts = createActivities({
      db: stack.db.db,
      masterKey: stack.masterKey,
      logger: createLogger({ level: 'silent' }),
      planBatchSize: 4,
    });
    for (const side of ['a', 'b'] as const) {
      let cursor: string | null = null;
      do cursor = (await acts.scanPage(connectionId, side, cursor, 'scan-1')).nextCursor;
      while (cursor);
    }

    const lost = await acts.planNextBatch(connectionId, 'initial');
    expect(lost.writes).toBeGreaterThan(0);

    // The retry of the same activity: the first answer never reached the workflow.
    const retried = await acts.planNextBatch(connectionId, 'initial');
    expect(retried.batchId).toBe(lost.batchId);
    expect(retried.writes).toBe(lost.writes);
    expect(retried.remaining).toBe(true);

    let plan = retried;
    for (let guard = 0; guard < 20; guard++) {
      if (plan.writes > 0) await acts.applyBatch(connectionId, plan.batchId);
      if (!plan.remaining) break;
      plan = await acts.planNextBatch(connectionId, 'initial');
    }
    expect(plan.remaining).toBe(false);

    const alpha = stack.sandbox.instance('alpha');
    const beta = stack.sandbox.instance('beta');
    expect(alpha.count()).toBe(8);
    expect(beta.count()).toBe(8);
    const emails = (all: ReturnType<typeof alpha.all>) => all.map((c) => c.emails[0]?.value.toLowerCase()).sort();
    expect(emails(beta.all())).toEqual(emails(alpha.all()));
  });
});
