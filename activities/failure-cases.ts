import { activityInfo, getClient, heartbeat, sleep } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { SyncStore } from '../db/store';
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
  async function targetAppOf(store: SyncStore, side: 'a' | 'b'): Promise<string> {
    const row = await store.connection();
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
      const store = new SyncStore(deps.db, connectionId);
      const toOpen = await store.failuresWithoutCase(OPEN_BATCH);
      for (const row of toOpen) {
        const input = caseInput(row, await targetAppOf(store, row.side), deps.failureRetrySchedule);
        await openCase(client, taskQueue, input);
        heartbeat();
      }
      await store.setCaseState(toOpen.map((r) => r.id), 'open');

      const toClose = await store.resolvedWithOpenCase(OPEN_BATCH);
      for (const row of toClose) {
        // The case may have ended already (its own replay synced the contact).
        await client.workflow
          .getHandle(contactFailureWorkflowId(row.connectionId, row.side, row.extId))
          .signal(resolvedSignal)
          .catch((err: unknown) => {
            if (!(err instanceof WorkflowNotFoundError)) throw err;
          });
      }
      await store.setCaseState(toClose.map((r) => r.id), 'closed');
      return { opened: toOpen.length, closed: toClose.length };
    },

    /**
     * The connection's settings changed: the cause of a failure may be gone, so every open case replays its
     * contact now instead of at its next scheduled retry. The cases come from the failures table, the engine's
     * own record of which contacts are unresolved and have a case, read in the same database the replays
     * answer from; a signal-with-start also restarts a case that was terminated by hand. Failures without a
     * case yet get one after the next cycle, and a new case replays at once.
     */
    async retryFailureCases(connectionId: string): Promise<{ retried: number }> {
      const client = getClient();
      const taskQueue = activityInfo().taskQueue;
      const store = new SyncStore(deps.db, connectionId);
      const done = new Set<string>();
      for (let after = 0; ; ) {
        const rows = await store.unresolvedWithOpenCase(after, OPEN_BATCH);
        if (rows.length === 0) break;
        after = rows[rows.length - 1].id;
        for (const row of rows) {
          // One case per contact, however many of its steps failed.
          const workflowId = contactFailureWorkflowId(row.connectionId, row.side, row.extId);
          if (done.has(workflowId)) continue;
          done.add(workflowId);
          await openCase(client, taskQueue, caseInput(row, await targetAppOf(store, row.side), deps.failureRetrySchedule), true);
          heartbeat();
        }
      }
      return { retried: done.size };
    },

    /**
     * Plans the contact again with its current data, asks its connection for a cycle now, and reports what
     * that cycle did with it: synced (returns), failed again (the app's message, non-retryable), or nothing
     * left to write (the failure is stale and is resolved). A deleted connection has nothing to replay.
     */
    async replayContact(input: FailureCaseInput): Promise<'synced' | 'connection-deleted'> {
      const client = getClient();
      const started = new Date();
      const store = new SyncStore(deps.db, input.connectionId);
      const gone = async () => {
        const row = await store.connection();
        return !row || row.deletedAt !== null;
      };
      if (await gone()) return 'connection-deleted';
      const contact = { side: input.side, extId: input.extId };
      const open = await store.failuresOf(contact, { open: true });
      if (open.length === 0) return 'synced';
      await store.requestReplay(contact, started);
      const connection = client.workflow.getHandle(connectionWorkflowId(input.connectionId));
      // Asked after the contact was marked: every cycle numbered above the one under way now starts later, so
      // it plans the contact from its current data. Only such a cycle can tell that nothing is left to write.
      let firstCycle: number;
      try {
        const now = await connection.query(statusQuery);
        firstCycle = (now.currentCycle ?? now.cycles) + 1;
        await connection.signal(syncNowSignal);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError && (await gone())) return 'connection-deleted';
        throw err;
      }

      const deadline = Date.now() + REPLAY_PATIENCE_MS;
      while (Date.now() < deadline) {
        heartbeat();
        await sleep(POLL_MS);
        const rows = await store.failuresOf(contact);
        const unresolved = rows.filter((r) => r.resolvedAt === null);
        if (unresolved.length === 0) return 'synced';
        const again = unresolved.find((r) => r.lastAt > started);
        if (again) {
          throw ApplicationFailure.create({
            message: again.message,
            type: again.kind === 'ambiguous' ? 'AmbiguousMatch' : 'ContactStillFails',
            nonRetryable: true,
            details: [{ step: again.step, status: again.status, code: again.code, attempts: again.attempts }],
          });
        }
        if ((await store.isDirty(contact)) === false) {
          const status = await connection.query(statusQuery).catch(() => null);
          if (status?.lastCycle && status.lastCycle.cycle >= firstCycle) {
            // A whole cycle planned it after the replay was asked, and it neither failed nor wrote: it is stale.
            await store.resolveContact(contact);
            return 'synced';
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
