import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxInstance } from '../../sandboxes/sandbox';
import { person } from '../../sandboxes/kit/seed';
import { startOutlookHarness } from '../support/apps/outlook';
import type { AppHarness, HarnessAccount } from '../support/apps/harness';
import { eventually, startStack, terminateAll, type Stack } from '../support/stack';

// A connection between an Outlook contacts folder and the Sandbox app, created over the REST API and run by
// the connection workflow on a real Temporal server.

const emailsOf = (list: { emails: string[] }[]) => list.flatMap((c) => c.emails);

describe('a connection between Microsoft 365 / Outlook and the Sandbox app', () => {
  let stack: Stack;
  let outlook: AppHarness;
  let account: HarnessAccount;
  let beta: SandboxInstance;
  const started: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ pageSize: 3, planBatchSize: 5 });
    outlook = await startOutlookHarness();
    beta = stack.sandbox.instance('beta');
  });
  afterAll(async () => {
    await terminateAll(stack, started);
    await outlook?.close();
    await stack?.close();
  });

  it('merges the shared person, creates the others both ways, then carries an edit from each side', async () => {
    account = await outlook.account('nora');
    // Persons 0..3 in Outlook, 3..6 in the Sandbox app: person 3 is in both, with details from another seed.
    for (let i = 0; i < 4; i++) {
      const p = person(i, 1);
      await outlook.createContact(account, { firstName: p.first_name!, lastName: p.last_name!, email: p.emails![0].value, company: p.company!, jobTitle: `Outlook title ${i}` });
    }
    beta.seed({ count: 4, start: 3, seed: 2 });
    const shared = person(3, 1).emails![0].value.toLowerCase();

    const created = await stack.request('POST', '/connections', {
      name: 'Outlook ↔ beta',
      a: account.side,
      b: { app: 'sandbox', credentials: { apiToken: beta.config.token }, scope: { baseUrl: stack.sandbox.url, instance: 'beta' } },
      settings: { pollIntervalSeconds: 2 },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    started.push(id);

    const status = await eventually(async () => {
      const s = await stack.status(id);
      return s?.phase === 'running' && s.cycles >= 1 ? s : undefined;
    }, 'the initial sync to finish', 45_000);
    expect(status.counts.matched).toBe(1);
    expect(status.counts.created).toEqual({ a: 3, b: 3 });

    const inOutlook = await outlook.listContacts(account);
    const inBeta = beta.all().map((c) => ({ emails: c.emails.map((e) => e.value.toLowerCase()), jobTitle: c.job_title }));
    expect(inOutlook).toHaveLength(7);
    expect(new Set(emailsOf(inOutlook)).size).toBe(emailsOf(inOutlook).length);
    expect(new Set(emailsOf(inOutlook))).toEqual(new Set(emailsOf(inBeta)));
    // Outlook is the master app (A): its job title wins the difference at the first match.
    expect(inBeta.find((c) => c.emails.includes(shared))?.jobTitle).toBe('Outlook title 3');

    // An hour between cycles: only "sync now" can bring the edits over during this test.
    expect((await stack.request('PATCH', `/connections/${id}`, { settings: { pollIntervalSeconds: 3600 } })).status).toBe(200);
    const fromOutlook = inOutlook.find((c) => c.emails.includes(person(0, 1).emails![0].value.toLowerCase()))!;
    await outlook.updateContact(account, fromOutlook.id, { jobTitle: 'Edited in Outlook' });
    const fromBeta = beta.all().find((c) => c.emails[0].value.toLowerCase() === person(6, 2).emails![0].value.toLowerCase())!;
    beta.update(fromBeta.id, { company: 'Edited in Sandbox' });

    expect((await stack.request('POST', `/connections/${id}/sync`)).status).toBe(202);
    await eventually(
      () => beta.all().find((c) => c.emails.some((e) => fromOutlook.emails.includes(e.value.toLowerCase())))?.job_title === 'Edited in Outlook',
      'the Outlook edit to reach the Sandbox app',
      45_000,
    );
    await eventually(
      async () => (await outlook.listContacts(account)).find((c) => c.emails.includes(fromBeta.emails[0].value.toLowerCase()))?.company === 'Edited in Sandbox',
      'the Sandbox edit to reach Outlook',
      45_000,
    );
    expect(await outlook.listContacts(account)).toHaveLength(7);
    expect(beta.count()).toBe(7);

    // The engine's own writes come back through the delta feed (with new change keys) and cause no further writes.
    const settled = await eventually(async () => {
      const s = await stack.status(id);
      return s && !s.syncing ? s : undefined;
    }, 'the cycle to end');
    const writes = beta.stats().writes;
    const outlookBefore = await outlook.listContacts(account);
    await stack.request('POST', `/connections/${id}/sync`);
    await eventually(async () => {
      const s = await stack.status(id);
      return s && s.cycles > settled.cycles && !s.syncing ? s : undefined;
    }, 'one more cycle');
    expect(beta.stats().writes).toBe(writes);
    expect(await outlook.listContacts(account)).toEqual(outlookBefore);
  });
});

