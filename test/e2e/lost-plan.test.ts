import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { createLogger } from '../../lib/logger';
import { startStack, terminateAll, type Stack } from '../support/stack';

// A worker can die after planNextBatch recorded its plan and before its completion reached Temporal: the retry
// must hand that batch over rather than plan the next one, or the writes of the lost plan are never made
// (its records are settled by it). The steps are the connection's own activities, run one by one, so the
// lost completion can be placed exactly; no worker runs.

describe('a plan whose completion was lost', () => {
  let stack: Stack;
  let id: string;

  beforeAll(async () => {
    stack = await startStack({ worker: false });
    stack.sandbox.instance('alpha').seed({ count: 5, start: 0 });
    id = await stack.connect('alpha', 'beta');
  });
  afterAll(async () => {
    await terminateAll(stack, [id]);
    await stack?.close();
  });

  it('is handed over by the retried planNextBatch and applied: every contact is created once', async () => {
    const acts = createActivities({ db: stack.db.db, masterKey: stack.masterKey, logger: createLogger({ level: 'silent' }), planBatchSize: 2 });
    for (const side of ['a', 'b'] as const) {
      let cursor: string | null = null;
      do cursor = (await acts.scanPage(id, side, cursor, 'scan-1')).nextCursor;
      while (cursor);
    }
    const lost = await acts.planNextBatch(id, 'initial');
    expect(lost).toMatchObject({ planned: 2, writes: 2, remaining: true });

    // The worker died here: Temporal retries the activity, and the workflow never learns `lost.batchId`.
    const retried = await acts.planNextBatch(id, 'initial');
    expect(retried).toMatchObject({ batchId: lost.batchId, planned: 0, writes: 2, remaining: true });

    let plan = retried;
    for (;;) {
      if (plan.writes > 0) await acts.applyBatch(id, plan.batchId);
      if (!plan.remaining) break;
      plan = await acts.planNextBatch(id, 'initial');
      expect(plan.batchId).not.toBe(lost.batchId);
    }
    const beta = stack.sandbox.instance('beta');
    expect(beta.count()).toBe(5);
    expect(new Set(beta.all().map((c) => c.emails[0].value)).size).toBe(5);
  });
});
