import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Contact, SandboxInstance } from '../../sandboxes/sandbox';
import { eventually, startStack, terminateAll, type Stack } from '../support/stack';

// A connection created over the API runs as a Temporal workflow and keeps two Sandbox apps in sync.

const emailsOf = (inst: SandboxInstance) => inst.all().flatMap((c) => c.emails.map((e) => e.value.toLowerCase()));
const workEmail = (c: Contact) => c.emails[0]?.value.toLowerCase();
const byEmail = (inst: SandboxInstance, email: string) =>
  inst.all().filter((c) => c.emails.some((e) => e.value.toLowerCase() === email));

function assertNoDuplicates(inst: SandboxInstance) {
  const seen = emailsOf(inst);
  expect(new Set(seen).size).toBe(seen.length);
}

describe('a connection between two Sandbox apps', () => {
  let stack: Stack;
  const started: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ pageSize: 7, planBatchSize: 10 });
  });
  afterAll(async () => {
    await terminateAll(stack, started);
    await stack?.close();
  });

  it('runs the initial scan: shared people are merged once, everyone else is created on the other side', async () => {
    const alpha = stack.sandbox.instance('alpha');
    const beta = stack.sandbox.instance('beta');
    alpha.seed({ count: 20, start: 0, seed: 1 });
    // persons 10..29: half of beta's people are alpha's people, with details from another seed
    beta.seed({ count: 20, start: 10, seed: 2 });
    const alphaJobOf10 = alpha.all().find((c) => workEmail(c)?.includes('.10@'))!.job_title;

    const id = await stack.connect('alpha', 'beta');
    started.push(id);
    const status = await eventually(async () => {
      const s = await stack.status(id);
      return s?.phase === 'running' && s.cycles >= 1 ? s : undefined;
    }, 'the initial sync to finish');

    expect(alpha.count()).toBe(30);
    expect(beta.count()).toBe(30);
    assertNoDuplicates(alpha);
    assertNoDuplicates(beta);
    expect(new Set(emailsOf(alpha).map((e) => e))).toEqual(new Set(emailsOf(beta)));
    // master app (A, the default) wins a difference at the first match
    const shared = beta.all().find((c) => workEmail(c)?.includes('.10@'))!;
    expect(shared.job_title).toBe(alphaJobOf10);
    expect(status.counts.scanned).toEqual({ a: 20, b: 20 });
    expect(status.counts.created).toEqual({ a: 10, b: 10 });
    expect(status.counts.matched).toBe(10);

    const res = await stack.request('GET', `/connections/${id}`);
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('running');
  });

  it('carries changes both ways on the next cycle, and "sync now" runs it at once', async () => {
    const [id] = started;
    // an hour between cycles: only "sync now" can make the changes arrive during this test
    const patch = await stack.request('PATCH', `/connections/${id}`, { settings: { pollIntervalSeconds: 3600 } });
    expect(patch.status).toBe(200);
    const alpha = stack.sandbox.instance('alpha');
    const beta = stack.sandbox.instance('beta');
    const before = (await stack.status(id))!.cycles;

    const fromBeta = beta.all()[3];
    beta.update(fromBeta.id, { job_title: 'Chief Sync Officer' });
    const created = alpha.create({
      first_name: 'Nadia',
      last_name: 'Okafor',
      emails: [{ type: 'work', value: 'nadia.okafor@new.example' }],
    });

    const sync = await stack.request('POST', `/connections/${id}/sync`);
    expect(sync.status).toBe(202);
    await eventually(
      () => byEmail(alpha, workEmail(fromBeta)!)[0]?.job_title === 'Chief Sync Officer',
      'the edit in beta to reach alpha',
    );
    await eventually(() => byEmail(beta, 'nadia.okafor@new.example').length === 1, 'the new alpha contact in beta');
    const after = await eventually(async () => {
      const s = await stack.status(id);
      return s && s.cycles > before && !s.syncing ? s : undefined;
    }, 'the cycle to end');
    expect(after.phase).toBe('running');
    expect(byEmail(beta, 'nadia.okafor@new.example')[0].last_name).toBe(created.last_name);
    assertNoDuplicates(alpha);
    assertNoDuplicates(beta);
  });

  it('writes nothing while paused, and resume continues where it was', async () => {
    const [id] = started;
    const alpha = stack.sandbox.instance('alpha');
    const beta = stack.sandbox.instance('beta');
    const paused = await stack.request('POST', `/connections/${id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body.phase).toBe('paused');

    const writesBefore = beta.stats().writes;
    const target = alpha.all()[5];
    alpha.update(target.id, { company: 'Paused Industries' });
    // "Sync now" is refused while paused, with the reason.
    const refused = await stack.request('POST', `/connections/${id}/sync`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/paused/);
    // The workflow must answer queries while paused, and report no new cycle and no write.
    for (let i = 0; i < 10; i++) {
      const s = await stack.status(id);
      expect(s?.phase).toBe('paused');
      expect(s?.syncing).toBe(false);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(beta.stats().writes).toBe(writesBefore);
    expect(byEmail(beta, workEmail(target)!)[0].company).not.toBe('Paused Industries');
    const shown = await stack.request('GET', `/connections/${id}`);
    expect(shown.body.state).toBe('paused');

    const resumed = await stack.request('POST', `/connections/${id}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.body.phase).toBe('running');
    expect((await stack.request('POST', `/connections/${id}/sync`)).status).toBe(202);
    await eventually(
      () => byEmail(beta, workEmail(target)!)[0]?.company === 'Paused Industries',
      'the change made during the pause to arrive after resume',
    );
  });
});
