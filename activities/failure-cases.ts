import { activityInfo, getClient, heartbeat, sleep } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { and, eq, inArray, isNotNull, isNull, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { connections, failures, records } from '../db/schema';
import {
  contactFailureWorkflowId,
  resolvedSignal,
  statusQuery,
  syncNowSignal,
  type FailureCaseInput,
} from '../workflows/messages';
import { caseInput, connectionWorkflowId, openCase } from '../client';
import type { ActivityDeps } from './context';


const OPEN_BATCH = 200;
const POLL_MS = 300;
const REPLAY_PATIENCE_MS = 10 * 60_000;


export function failureCaseActivities(deps: ActivityDeps) {
  const { db } = deps;

  async function targetAppOf(connectionId: string, side: 'a' | 'b'): Promise<string> {
    const [row] = await db.select().from(connections).where(eq(connections.id, connectionId));
    if (!row) return 'unknown';
    return side === 'a' ? row.appB : row.appA;
  }

  return {
    /**
     * Opens a case in Temporal for each newly failed contact and closes the cases of contacts that synced
     * since. The connection workflow calls it after each cycle and never waits on a case.
     */
    async syncFailureCases(connectionId: string): Promise<{ opened: number; closed: number }> {
      const client = getClient();
      const taskQueue = activityInfo().taskQueue;
      const toOpen = await db
        .select()
        .from(failures)
        .where(
          and(
            eq(failures.connectionId, connectionId),
            isNull(failures.resolvedAt),
            or(isNull(failures.caseState), eq(failures.caseState, 'closed')),
          ),
        )
        .limit(OPEN_BATCH);
      for (const row of toOpen) {
        await openCase(client, taskQueue, caseInput(row, await targetAppOf(connectionId, row.side === 'a' ? 'a' : 'b')));
        heartbeat();
      }
      if (toOpen.length) await setCaseState(db, toOpen.map((r) => r.id), 'open');

      const toClose = await db
        .select()
        .from(failures)
        .where(and(eq(failures.connectionId, connectionId), isNotNull(failures.resolvedAt), eq(failures.caseState, 'open')))
        .limit(OPEN_BATCH);
      for (const row of toClose) {
        // The case may have ended already (its own replay synced the contact).
        await client.workflow
          .getHandle(contactFailureWorkflowId(row.connectionId, row.side, row.extId))
          .signal(resolvedSignal)
          .catch((err: unknown) => {
            if (!(err instanceof WorkflowNotFoundError)) throw err;
          });
      }
      if (toClose.length) await setCaseState(db, toClose.map((r) => r.id), 'closed');
      return { opened: toOpen.length, closed: toClose.length };
    },

    /**
     * Plans the contact again with its current data, asks its connection for a cycle now, and reports what
     * that cycle did with it: synced (returns), failed again (the app's message, non-retryable), or nothing
     * left to write (the failure is stale and is resolved).
     */
    async replayContact(input: FailureCaseInput): Promise<void> {
      const client = getClient();
      const started = new Date();
      const mine = and(
        eq(failures.connectionId, input.connectionId),
        eq(failures.side, input.side),
        eq(failures.extId, input.extId),
      );
      const open = await db.select().from(failures).where(and(mine, isNull(failures.resolvedAt)));
      if (open.length === 0) return;
      const record = and(
        eq(records.connectionId, input.connectionId),
        eq(records.side, input.side),
        eq(records.extId, input.extId),
      );
      await db.update(records).set({ dirty: true }).where(record);
      await db.update(failures).set({ replayRequestedAt: started }).where(mine);
      const connection = client.workflow.getHandle(connectionWorkflowId(input.connectionId));
      await connection.signal(syncNowSignal);

      const deadline = Date.now() + REPLAY_PATIENCE_MS;
      while (Date.now() < deadline) {
        heartbeat();
        await sleep(POLL_MS);
        const rows = await db.select().from(failures).where(mine);
        const unresolved = rows.filter((r) => r.resolvedAt === null);
        if (unresolved.length === 0) return;
        const again = unresolved.find((r) => r.lastAt > started);
        if (again) {
          throw ApplicationFailure.create({
            message: again.message,
            type: again.kind === 'ambiguous' ? 'AmbiguousMatch' : 'ContactStillFails',
            nonRetryable: true,
            details: [{ step: again.step, status: again.status, code: again.code, attempts: again.attempts }],
          });
        }
        const [rec] = await db.select({ dirty: records.dirty }).from(records).where(record);
        if (rec && !rec.dirty) {
          const status = await connection.query(statusQuery).catch(() => null);
          if (status && !status.syncing) {
            // Planned, applied, and neither failed nor wrote: nothing is left to sync for this contact.
            await db
              .update(failures)
              .set({ resolvedAt: sql`now()` })
              .where(and(mine, isNull(failures.resolvedAt)));
            return;
          }
        }
      }
      throw ApplicationFailure.create({
        message: `connection ${input.connectionId} ran no cycle for this contact within ${REPLAY_PATIENCE_MS / 60_000} minutes (is it paused?)`,
        type: 'ReplayTimedOut',
        nonRetryable: true,
      });
    },
  };
}

async function setCaseState(db: Db, ids: number[], state: 'open' | 'closed') {
  await db.update(failures).set({ caseState: state }).where(inArray(failures.id, ids));
}
