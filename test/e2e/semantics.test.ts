import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Contact, SandboxInstance } from '../../sandboxes/sandbox';
import { TRASH_TAG } from '../../sync/values';
import { eventually, startStack, terminateAll, type Stack } from '../support/stack';

// The promises of sync-semantics.md that need the whole engine: conflicts, deletions under each policy, the
// safety brake, re-authorization and "resync all", through Temporal on two Sandbox apps per case.

const emailOf = (c: Contact) => c.emails[0].value.toLowerCase();
const partner = (inst: SandboxInstance, c: Contact) =>
  inst.all().find((x) => x.emails.some((e) => e.value.toLowerCase() === emailOf(c)));

describe('sync semantics end to end', () => {
  let stack: Stack;
  const started: string[] = [];
  let n = 0;

  /** Two fresh Sandbox instances with `count` shared people, connected and past their initial sync. */
  async function connected(count: number, settings: Record<string, unknown> = {}) {
    n++;
    const [a, b] = [`a${n}`, `b${n}`];
    const alpha = stack.sandbox.addInstance(a, { token: `${a}-token` });
    const beta = stack.sandbox.addInstance(b, { token: `${b}-token` });
    alpha.seed({ count, start: n * 1000 });
    const id = await stack.connect(a, b, { pollIntervalSeconds: 3600, ...settings });
    started.push(id);
    await eventually(async () => {
      const s = await stack.status(id);
      return s?.phase === 'running' && !s.syncing;
    }, 'the initial sync');
    expect(beta.count()).toBe(count);
    return { id, alpha, beta };
  }

  /** Runs one cycle through the API and waits for its result. */
  async function cycle(id: string) {
    const res = await stack.request('POST', `/connections/${id}/sync`);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return eventually(async () => {
      const s = await stack.status(id);
      return s && (s.lastCycle?.cycle ?? 0) >= res.body.cycle && !s.syncing ? s : undefined;
    }, `cycle ${res.body.cycle}`);
  }

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await terminateAll(stack, started);
    await stack?.close();
  });

  it('a field changed on both sides is a conflict won by the master app, and is recorded', async () => {
    const { id, alpha, beta } = await connected(3, { master: 'b' });
    const mine = alpha.all()[0];
    alpha.update(mine.id, { job_title: 'Head of Alpha' });
    beta.update(partner(beta, mine)!.id, { job_title: 'Head of Beta' });
    const status = await cycle(id);
    expect(status.lastCycle?.conflicts).toBe(1);
    expect(alpha.find(mine.id)!.job_title).toBe('Head of Beta');
    expect(partner(beta, mine)!.job_title).toBe('Head of Beta');
    const conflicts = (await stack.request('GET', `/connections/${id}/conflicts`)).body.conflicts;
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({
      fieldA: 'job_title',
      fieldB: 'job_title',
      valueA: 'Head of Alpha',
      valueB: 'Head of Beta',
      winner: 'b',
    });
    // The engine's own writes come back through the feeds and write nothing more.
    const again = await cycle(id);
    expect(again.lastCycle).toMatchObject({ created: { a: 0, b: 0 }, updated: { a: 0, b: 0 }, conflicts: 0 });
  });

  it('deletions: never deletes by default; "trash" tags; "delete" deletes unless the side is protected', async () => {
    const never = await connected(3);
    const goneNever = never.alpha.all()[0];
    never.alpha.remove(goneNever.id);
    await cycle(never.id);
    expect(partner(never.beta, goneNever)).toBeDefined();
    expect(never.beta.count()).toBe(3);

    const trash = await connected(12, { deletions: { policy: 'trash' } });
    const goneTrash = trash.alpha.all()[0];
    trash.alpha.remove(goneTrash.id);
    await cycle(trash.id);
    expect(partner(trash.beta, goneTrash)!.tags).toContain(TRASH_TAG);

    const del = await connected(12, { deletions: { policy: 'delete' } });
    const goneDel = del.alpha.all()[0];
    del.alpha.remove(goneDel.id);
    const s = await cycle(del.id);
    expect(s.lastCycle?.deleted).toEqual({ a: 0, b: 1 });
    expect(partner(del.beta, goneDel)).toBeUndefined();

    const protectedB = await connected(12, { deletions: { policy: 'delete', protectB: true } });
    const goneProtected = protectedB.alpha.all()[0];
    protectedB.alpha.remove(goneProtected.id);
    await cycle(protectedB.id);
    expect(partner(protectedB.beta, goneProtected)).toBeDefined();
  });

  it('an edit on the other side beats a deletion', async () => {
    const { id, alpha, beta } = await connected(12, { deletions: { policy: 'delete' } });
    const c = alpha.all()[0];
    alpha.remove(c.id);
    beta.update(partner(beta, c)!.id, { notes: 'still a customer' });
    await cycle(id);
    expect(partner(beta, c)?.notes).toBe('still a customer');
  });

  it('the safety brake holds a cycle that would delete too many, until someone confirms or cancels', async () => {
    const { id, alpha, beta } = await connected(10, { deletions: { policy: 'delete' } });
    const [first, second] = [alpha.all().slice(0, 3), alpha.all().slice(3, 6)];
    for (const c of first) alpha.remove(c.id);
    await stack.request('POST', `/connections/${id}/sync`);
    const held = await eventually(async () => {
      const s = await stack.status(id);
      return s?.phase === 'needs-confirmation' ? s : undefined;
    }, 'the brake');
    expect(held.brake?.reasons[0]).toMatch(/3 of 10 linked contacts/);
    expect(beta.count()).toBe(10);
    await eventually(
      async () => (await stack.request('GET', `/connections/${id}`)).body.state === 'needs-confirmation',
      'the state in the API',
    );

    const cancelled = await stack.request('POST', `/connections/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.phase).toBe('running');
    await eventually(async () => !(await stack.status(id))?.syncing, 'the cycle to end');
    expect(beta.count()).toBe(10);

    for (const c of second) alpha.remove(c.id);
    await stack.request('POST', `/connections/${id}/sync`);
    await eventually(async () => (await stack.status(id))?.phase === 'needs-confirmation', 'the brake again');
    expect((await stack.request('POST', `/connections/${id}/confirm`)).status).toBe(200);
    await eventually(() => beta.count() === 7, 'the confirmed deletions');
    for (const c of second) expect(partner(beta, c)).toBeUndefined();
    expect((await stack.request('POST', `/connections/${id}/confirm`)).status).toBe(409);
  });

  it('a side that suddenly lists no contacts waits for confirmation instead of deleting everyone', async () => {
    const { id, alpha, beta } = await connected(6, { deletions: { policy: 'delete' } });
    // An account wiped (or an outage answering empty pages): its change feed is gone too, so the engine re-scans.
    alpha.reset();
    await stack.request('POST', `/connections/${id}/sync`);
    const held = await eventually(async () => {
      const s = await stack.status(id);
      return s?.phase === 'needs-confirmation' ? s : undefined;
    }, 'the brake');
    expect(held.brake?.reasons[0]).toMatch(/side A lists no contacts where it had 6/);
    expect((await stack.request('POST', `/connections/${id}/cancel`)).status).toBe(200);
    await eventually(async () => {
      const s = await stack.status(id);
      return s?.phase === 'running' && !s.syncing;
    }, 'running again');
    expect(beta.count()).toBe(6);
  });

  it('credentials that stop working put the connection in needs-reauth; new credentials resume it', async () => {
    const { id, alpha, beta } = await connected(2);
    beta.configure({ token: 'rotated-token' });
    alpha.update(alpha.all()[0].id, { company: 'After Rotation' });
    await stack.request('POST', `/connections/${id}/sync`);
    const stuck = await eventually(async () => {
      const s = await stack.status(id);
      return s?.phase === 'needs-reauth' ? s : undefined;
    }, 'needs-reauth');
    expect(stuck.lastError).toBeTruthy();
    await eventually(
      async () => (await stack.request('GET', `/connections/${id}`)).body.state === 'needs-reauth',
      'the state in the API',
    );

    const patched = await stack.request('PATCH', `/connections/${id}`, { b: { credentials: { apiToken: 'rotated-token' } } });
    expect(patched.status).toBe(200);
    await eventually(async () => (await stack.status(id))?.phase === 'running', 'running again');
    await stack.request('POST', `/connections/${id}/sync`);
    await eventually(() => beta.all().some((c) => c.company === 'After Rotation'), 'the change to arrive');
  });

  it('an ambiguous match shows in Health with its candidates, creates nothing, and leaves once resolved', async () => {
    const { id, alpha, beta } = await connected(2);
    const email = 'sam.twice@ambiguous.example';
    const x = alpha.create({ first_name: 'Sam', last_name: 'Twice', emails: [{ type: 'work', value: email }] });
    const y1 = beta.create({ first_name: 'Sam', last_name: 'Twice', emails: [{ type: 'work', value: email }] });
    const y2 = beta.create({ first_name: 'Samuel', last_name: 'Twice', emails: [{ type: 'home', value: email }] });
    await cycle(id);
    const health = (await stack.request('GET', `/connections/${id}/health?kind=ambiguous`)).body;
    // Ids of the two Sandbox instances overlap: a failure is a side and an id.
    const forX = health.failures.find((f: { side: string; extId: string }) => f.side === 'a' && f.extId === x.id);
    expect(forX).toMatchObject({ kind: 'ambiguous', step: 'match', side: 'a' });
    expect([...forX.candidates].sort()).toEqual([y1.id, y2.id].sort());
    expect(beta.count()).toBe(4);
    expect(alpha.count()).toBe(3);

    // The user removes the duplicate: the match is no longer ambiguous.
    beta.remove(y2.id);
    await cycle(id);
    await cycle(id);
    const after = (await stack.request('GET', `/connections/${id}/health`)).body;
    expect(after.failures).toEqual([]);
    alpha.update(x.id, { job_title: 'Linked at last' });
    await cycle(id);
    expect(beta.find(y1.id)!.job_title).toBe('Linked at last');
    expect(alpha.count()).toBe(3);
  });

  it('"resync all" applies a mapping switched on later to every contact, without a re-scan', async () => {
    const { id, alpha, beta } = await connected(4, { mapping: { disabled: ['notes:notes'] } });
    for (const c of alpha.all()) alpha.update(c.id, { notes: `note for ${c.first_name}` });
    await cycle(id);
    expect(beta.all().filter((c) => c.notes?.startsWith('note for'))).toHaveLength(0);

    const patched = await stack.request('PATCH', `/connections/${id}`, { settings: { mapping: { disabled: [] } } });
    expect(patched.status).toBe(200);
    const scannedBefore = (await stack.status(id))!.counts.scanned;
    const resync = await stack.request('POST', `/connections/${id}/resync`);
    expect(resync.status).toBe(202);
    expect(resync.body.contacts).toBe(8);
    await eventually(() => beta.all().filter((c) => c.notes?.startsWith('note for')).length === 4, 'the notes backfilled');
    expect((await stack.status(id))!.counts.scanned).toEqual(scannedBefore);
  });
});
