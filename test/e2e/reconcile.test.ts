import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxConnector } from '../../connectors/sandbox/connector';
import type { Contact, SandboxInstance } from '../../sandboxes/sandbox';
import { eventually, startStack, terminateAll, type Stack } from '../support/stack';

// Real feeds miss things: a deletion that leaves no trace in the changes feed, a change stamped before the
// feed's position (an app server whose clock is behind). The reconcile lists both apps and finds them, on the
// whole stack: each is synced once, and contacts already in sync get no write (counted at the Sandbox).

const emailOf = (c: Contact) => c.emails[0].value.toLowerCase();
const partner = (inst: SandboxInstance, c: Contact) => inst.all().find((x) => x.emails.some((e) => e.value.toLowerCase() === emailOf(c)));
const writesTo = (inst: SandboxInstance) => inst.stats().write_requests;

describe('the reconcile finds what the change feeds missed', () => {
  let stack: Stack;
  const started: string[] = [];
  let n = 0;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await terminateAll(stack, started);
    await stack?.close();
  });

  /** Two fresh Sandbox instances sharing `count` people, connected, past their initial sync and first cycle. */
  async function connected(count: number, settings: Record<string, unknown>) {
    n++;
    const alpha = stack.sandbox.addInstance(`ra${n}`, { token: `ra${n}-token` });
    const beta = stack.sandbox.addInstance(`rb${n}`, { token: `rb${n}-token` });
    alpha.seed({ count, start: n * 1000 });
    const id = await stack.connect(alpha.name, beta.name, { pollIntervalSeconds: 3600, reconcileIntervalHours: 0, ...settings });
    started.push(id);
    await eventually(async () => {
      const s = await stack.status(id);
      return s?.phase === 'running' && s.cycles >= 1 && !s.syncing;
    }, 'the initial sync and the first cycle');
    expect(beta.count()).toBe(count);
    return { id, alpha, beta };
  }

  /** Starts a cycle (or a reconcile) through the API and waits for its result. */
  async function run(id: string, action: 'sync' | 'reconcile') {
    const res = await stack.request('POST', `/connections/${id}/${action}`);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const cycle = res.body.cycle as number;
    const status = await eventually(async () => {
      const s = await stack.status(id);
      return s && (s.lastCycle?.cycle ?? 0) >= cycle && !s.syncing ? s : undefined;
    }, `cycle ${cycle}`);
    return { body: res.body, status };
  }

  it('a silent deletion and a backdated change are each synced once; contacts in sync get no write', async () => {
    const { id, alpha, beta } = await connected(12, { deletions: { policy: 'delete' } });
    const [gone, changed] = alpha.all();
    alpha.removeSilently(gone.id);
    alpha.updateBackdated(changed.id, { job_title: 'Chief Backdating Officer' });

    // The feed reports neither: a cycle finds nothing to do.
    const missed = await run(id, 'sync');
    expect(missed.status.lastCycle).toMatchObject({ updated: { a: 0, b: 0 }, deleted: { a: 0, b: 0 } });
    expect(partner(beta, gone)).toBeDefined();
    expect(partner(beta, changed)!.job_title).not.toBe('Chief Backdating Officer');

    const before = { a: writesTo(alpha), b: writesTo(beta) };
    const versions = new Map(beta.all().map((c) => [c.id, c.version]));
    const { body, status } = await run(id, 'reconcile');
    expect(body).toEqual({ accepted: true, cycle: missed.status.cycles + 1, reconcile: true });
    expect(status.reconcile.last).toMatchObject({
      cycle: body.cycle,
      listed: { a: 11, b: 12 },
      changed: { a: 1, b: 0 },
      deleted: { a: 1, b: 0 },
    });
    // Both synced, by the deletion policy ("delete") and by the field's change.
    expect(partner(beta, gone)).toBeUndefined();
    expect(partner(beta, changed)!.job_title).toBe('Chief Backdating Officer');
    expect(status.lastCycle).toMatchObject({ cycle: body.cycle, updated: { a: 0, b: 1 }, deleted: { a: 0, b: 1 } });
    // Exactly those two writes reached the apps; every other contact kept its version.
    expect({ a: writesTo(alpha) - before.a, b: writesTo(beta) - before.b }).toEqual({ a: 0, b: 2 });
    const touched = beta.all().filter((c) => versions.get(c.id) !== c.version);
    expect(touched.map((c) => emailOf(c))).toEqual([emailOf(changed)]);

    // Once: the next reconcile and cycle find nothing and write nothing.
    const again = await run(id, 'reconcile');
    expect(again.status.reconcile.last).toMatchObject({ listed: { a: 11, b: 11 }, changed: { a: 0, b: 0 }, deleted: { a: 0, b: 0 } });
    expect(again.status.lastCycle).toMatchObject({ created: { a: 0, b: 0 }, updated: { a: 0, b: 0 }, deleted: { a: 0, b: 0 } });
    expect({ a: writesTo(alpha) - before.a, b: writesTo(beta) - before.b }).toEqual({ a: 0, b: 2 });
  });

  it('without a cheap listing the full listing serves; with the default policy a found deletion only stops the link', async () => {
    const { id, alpha, beta } = await connected(6, {});
    const cheap = Object.getOwnPropertyDescriptor(SandboxConnector.prototype, 'listVersions')!;
    // The in-process worker's connectors lose their listing of ids and versions, as most apps' have none.
    delete (SandboxConnector.prototype as Partial<SandboxConnector>).listVersions;
    try {
      const [gone, changed] = beta.all();
      beta.removeSilently(gone.id);
      beta.updateBackdated(changed.id, { notes: 'met at the fair' });
      const before = { a: writesTo(alpha), b: writesTo(beta) };
      const { status } = await run(id, 'reconcile');
      expect(status.reconcile.last).toMatchObject({ listed: { a: 6, b: 5 }, changed: { a: 0, b: 1 }, deleted: { a: 0, b: 1 } });
      expect(partner(alpha, changed)!.notes).toBe('met at the fair');
      // "never": nothing is deleted anywhere; the link stops.
      expect(partner(alpha, gone)).toBeDefined();
      expect({ a: writesTo(alpha) - before.a, b: writesTo(beta) - before.b }).toEqual({ a: 1, b: 0 });
    } finally {
      Object.defineProperty(SandboxConnector.prototype, 'listVersions', cheap);
    }
  });

  it('is refused while paused, like a resync', async () => {
    const { id } = await connected(2, {});
    expect((await stack.request('POST', `/connections/${id}/pause`)).status).toBe(200);
    const refused = await stack.request('POST', `/connections/${id}/reconcile`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/paused/);
  });
});
