import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxInstance } from '../../sandboxes/sandbox';
import { eventually, startStack, terminateAll, type Stack } from '../support/stack';

// The worker runs as its own process (`npm run worker`), is killed without warning in the middle of the
// initial sync, and another worker process takes over.

const emails = (inst: SandboxInstance) => inst.all().flatMap((c) => c.emails.map((e) => e.value.toLowerCase()));

describe('a worker killed in the middle of the initial sync', () => {
  let stack: Stack;
  const started: string[] = [];
  const workers: ChildProcess[] = [];
  const output: string[] = [];

  function spawnWorker(): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: stack.databaseUrl!,
        TEMPORAL_ADDRESS: stack.temporalAddress,
        RAPPORT_TASK_QUEUE: stack.taskQueue,
        RAPPORT_MASTER_KEY: stack.masterKey.toString('hex'),
        RAPPORT_PAGE_SIZE: '5',
        RAPPORT_PLAN_BATCH_SIZE: '8',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => output.push(String(d)));
    child.stderr!.on('data', (d) => output.push(String(d)));
    workers.push(child);
    return child;
  }

  beforeAll(async () => {
    stack = await startStack({
      worker: false,
      // Each request takes a little while, so the kill lands while batches of creates are in flight.
      instances: {
        alpha: { token: 'alpha-crash-token', latencyMs: 40 },
        beta: { token: 'beta-crash-token', latencyMs: 40 },
      },
    });
  });
  afterAll(async () => {
    if (process.env.DEBUG_CRASH) {
      for (const id of started) {
        const h = await stack.client.workflow.getHandle(`connection:${id}`).fetchHistory();
        const t0 = Number(h.events![0].eventTime!.seconds);
        for (const e of h.events!) {
          const attrs = JSON.stringify(e.activityTaskScheduledEventAttributes?.activityType ?? e.activityTaskFailedEventAttributes?.failure?.message ?? e.activityTaskTimedOutEventAttributes?.failure?.message ?? '');
          console.log(Number(e.eventTime!.seconds) - t0, e.eventType, attrs);
        }
      }
    }
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await terminateAll(stack, started);
    await stack?.close();
  });

  it('finishes on a new worker with every contact on both sides exactly once', async () => {
    const alpha = stack.sandbox.instance('alpha');
    const beta = stack.sandbox.instance('beta');
    alpha.seed({ count: 60, start: 0, seed: 1 });
    beta.seed({ count: 60, start: 30, seed: 2 });

    const first = spawnWorker();
    const id = await stack.connect('alpha', 'beta');
    started.push(id);

    // Kill as soon as the first contacts were created by the engine, while the initial sync is still going.
    const mid = await eventually(async () => {
      const s = await stack.status(id);
      return s && s.phase === 'initial-scan' && alpha.count() + beta.count() > 120 ? s : undefined;
    }, 'the initial sync to be writing');
    first.kill('SIGKILL');
    await once(first, 'exit');
    expect(mid.phase).toBe('initial-scan');
    expect(alpha.count() + beta.count()).toBeLessThan(180);

    const second = spawnWorker();
    // The first cycle finished, not only the initial sync: between the two a continue-as-new's new run shows
    // "running, not syncing" while it reads its settings, before the cycle that follows the initial sync.
    const done = await eventually(async () => {
      const s = await stack.status(id);
      if (process.env.DEBUG_CRASH) console.log(JSON.stringify(s));
      return s?.phase === 'running' && s.cycles >= 1 && !s.syncing ? s : undefined;
    }, 'the new worker to finish the initial sync and the first cycle', 150_000);
    expect(done.phase).toBe('running');

    expect(alpha.count()).toBe(90);
    expect(beta.count()).toBe(90);
    for (const inst of [alpha, beta]) {
      const all = emails(inst);
      expect(new Set(all).size).toBe(all.length);
    }
    expect(new Set(emails(alpha))).toEqual(new Set(emails(beta)));

    // SIGTERM drains the worker: it finishes what it has and exits cleanly.
    second.kill('SIGTERM');
    const [code] = await once(second, 'exit');
    expect(code).toBe(0);
    // Neither worker ever logged a credential.
    const logs = output.join('');
    expect(logs).toContain('worker running');
    for (const secret of ['alpha-crash-token', 'beta-crash-token', stack.masterKey.toString('hex')]) {
      expect(logs).not.toContain(secret);
    }
  });
});
