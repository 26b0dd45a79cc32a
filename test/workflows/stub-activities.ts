import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities, PlanMode, PlanOptions, PlanResult, Side } from '../../workflows/contract';
import type { ConnectionPhase } from '../../workflows/messages';

// Stub activities for running the real connection workflow alone: plain functions that record each call and
// answer with canned results, one stub per connection id, so one worker serves every test of a file.

export type ActivityName = keyof Activities;

export interface Call {
  name: ActivityName;
  args: unknown[];
}

/** A call that waits until the test lets it finish; `reached` resolves once the activity is running. */
export class Hold {
  readonly reached: Promise<void>;
  private arrive!: () => void;
  private finish!: () => void;
  private readonly finished = new Promise<void>((resolve) => (this.finish = resolve));
  constructor() {
    this.reached = new Promise((resolve) => (this.arrive = resolve));
  }
  async pass(): Promise<void> {
    this.arrive();
    await this.finished;
  }
  release(): void {
    this.finish();
  }
}

const idle = (batchId: string): PlanResult => ({
  batchId,
  planned: 0,
  writes: 0,
  linked: 0,
  conflicts: 0,
  ambiguous: 0,
  remaining: false,
  destructive: 0,
  brake: null,
});

/** One connection's apps as the workflow sees them through its activities. */
export class StubConnection {
  readonly id = `wf-${randomUUID()}`;
  readonly calls: Call[] = [];
  exists = true;
  pollIntervalSeconds = 3600;
  pagesPerSide = 2;
  contactsPerPage = 3;
  /** what markAllDirty finds to mark */
  liveContacts = 7;
  /** the next incremental plan without confirmation is held by the brake */
  brakeArmed = false;
  /** fetchChanges fails as a revoked token does */
  revoked = false;
  private readonly holds = new Map<ActivityName, Hold>();

  /** The next call of the activity waits for `release()`. */
  hold(name: ActivityName): Hold {
    const hold = new Hold();
    this.holds.set(name, hold);
    return hold;
  }

  callsTo(name: ActivityName): unknown[][] {
    return this.calls.filter((c) => c.name === name).map((c) => c.args);
  }

  names(): ActivityName[] {
    return this.calls.map((c) => c.name);
  }

  /** Calls that read or write the apps: not the phase mirror nor the settings read a new run starts with. */
  io(): ActivityName[] {
    return this.names().filter((name) => name !== 'recordPhase' && name !== 'loadConnection');
  }

  /** The phases the workflow mirrored into the database, each change once (a new run mirrors its phase again). */
  phases(): ConnectionPhase[] {
    const all = this.callsTo('recordPhase').map((args) => args[1] as ConnectionPhase);
    return all.filter((phase, i) => phase !== all[i - 1]);
  }

  /** The cursors one side's change feed was read from, in order. */
  feedReads(side: Side): string[] {
    return this.callsTo('fetchChanges')
      .filter((args) => args[1] === side)
      .map((args) => args[2] as string);
  }

  private async called(name: ActivityName, args: unknown[]): Promise<void> {
    this.calls.push({ name, args });
    const hold = this.holds.get(name);
    if (hold) {
      this.holds.delete(name);
      await hold.pass();
    }
  }

  private plan(mode: PlanMode, options: PlanOptions): PlanResult {
    const batchId = `batch-${this.calls.length}`;
    if (mode !== 'incremental' || !this.brakeArmed) return idle(batchId);
    if (!options.allowDestructive) return { ...idle(batchId), brake: { reasons: ['the cycle would delete 2 of 3 linked contacts'] } };
    return { ...idle(batchId), planned: 2, writes: 2, destructive: 2 };
  }

  readonly activities: Activities = {
    loadConnection: async (...args) => {
      await this.called('loadConnection', args);
      return { exists: this.exists, deleted: false, pollIntervalSeconds: this.pollIntervalSeconds, apps: { a: 'stub', b: 'stub' } };
    },
    recordPhase: async (...args) => this.called('recordPhase', args),
    markAllDirty: async (...args) => {
      await this.called('markAllDirty', args);
      return { marked: this.liveContacts };
    },
    beginScan: async (...args) => {
      await this.called('beginScan', args);
      return { feedCursor: `feed-${args[1]}-0` };
    },
    scanPage: async (...args) => {
      await this.called('scanPage', args);
      const cursor = args[2];
      const page = cursor === null ? 0 : Number(cursor.split('-')[1]);
      return {
        nextCursor: page + 1 < this.pagesPerSide ? `page-${page + 1}` : null,
        count: this.contactsPerPage,
        total: this.pagesPerSide * this.contactsPerPage,
      };
    },
    finishScan: async (...args) => {
      await this.called('finishScan', args);
      return { missing: 0, brake: null };
    },
    fetchChanges: async (...args) => {
      await this.called('fetchChanges', args);
      if (this.revoked) {
        throw ApplicationFailure.create({ type: 'AuthError', message: 'the token was revoked', nonRetryable: true });
      }
      const [, side, cursor] = args;
      return { nextCursor: nextFeedCursor(side, cursor), count: 0, hasMore: false, expired: false };
    },
    planNextBatch: async (...args) => {
      await this.called('planNextBatch', args);
      return this.plan(args[1], args[2] ?? {});
    },
    dropDeletions: async (...args) => {
      await this.called('dropDeletions', args);
      this.brakeArmed = false;
      return { dropped: 2 };
    },
    recheckAmbiguous: async (...args) => {
      await this.called('recheckAmbiguous', args);
      return { marked: 0 };
    },
    applyBatch: async (...args) => {
      await this.called('applyBatch', args);
      this.brakeArmed = false;
      return { created: { a: 0, b: 0 }, updated: { a: 0, b: 0 }, deleted: { a: 0, b: 2 }, failed: 0, replanned: 0 };
    },
    syncFailureCases: async (...args) => {
      await this.called('syncFailureCases', args);
      return { opened: 0, closed: 0 };
    },
    retryFailureCases: async (...args) => {
      await this.called('retryFailureCases', args);
      return { retried: 0 };
    },
    replayContact: async (...args) => {
      await this.called('replayContact', args);
      return 'synced' as const;
    },
  };
}

/** feed-a-3 → feed-a-4: each read moves the feed on, so tests can see which position a run resumed from. */
function nextFeedCursor(side: Side, cursor: string): string {
  return `feed-${side}-${Number(cursor.split('-')[2]) + 1}`;
}

/** The worker's activities: each call goes to the stub of the connection it names. */
export function dispatchTo(stubs: Map<string, StubConnection>): Activities {
  const names = Object.keys(new StubConnection().activities) as ActivityName[];
  const stubOf = (connectionId: string) => {
    const stub = stubs.get(connectionId);
    if (!stub) throw new Error(`no stub for connection ${connectionId}`);
    return stub;
  };
  return Object.fromEntries(
    names.map((name) => [
      name,
      (...args: unknown[]) => {
        const first = args[0];
        const id = typeof first === 'string' ? first : (first as { connectionId: string }).connectionId;
        return (stubOf(id).activities[name] as (...a: unknown[]) => Promise<unknown>)(...args);
      },
    ]),
  ) as unknown as Activities;
}
