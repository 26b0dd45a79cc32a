import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { person } from '../../sandboxes/sandbox';
import type { SandboxInstance } from '../../sandboxes/sandbox';
import { startCardDavHarness, type CardDavHarness } from '../support/apps/carddav';
import type { HarnessAccount, PlainContact } from '../support/apps/harness';
import { eventually, startStack, terminateAll, type Stack } from '../support/stack';

// A connection created over the API between a CardDAV address book on a real Radicale (A) and the Sandbox app
// (B), run by the real worker on the shared Temporal server.

const sandboxEmails = (inst: SandboxInstance) => inst.all().flatMap((c) => c.emails.map((e) => e.value.toLowerCase()));
const cardEmails = (list: PlainContact[]) => list.flatMap((c) => c.emails);

describe('a connection between a CardDAV address book and the Sandbox app', () => {
  let stack: Stack;
  let carddav: CardDavHarness;
  let account: HarnessAccount;
  let id: string;
  const started: string[] = [];

  beforeAll(async () => {
    [stack, carddav] = await Promise.all([startStack({ pageSize: 7, planBatchSize: 10 }), startCardDavHarness()]);
    account = await carddav.account('Contacts');
  });
  afterAll(async () => {
    await terminateAll(stack, started);
    await stack?.close();
    await carddav?.close();
  });

  it('the initial sync merges the shared people once and creates the others on both sides', async () => {
    // People 0..9 in the address book, 5..14 in the Sandbox: 5 shared, with other job titles in the Sandbox.
    for (let i = 0; i < 10; i++) {
      const p = person(i, 1);
      await carddav.createContact(account, {
        firstName: p.first_name!,
        lastName: p.last_name!,
        email: p.emails![0].value,
        company: p.company ?? undefined,
        jobTitle: `CardDAV title ${i}`,
      });
    }
    const beta = stack.sandbox.instance('beta');
    beta.seed({ count: 10, start: 5, seed: 2 });

    const res = await stack.request('POST', '/connections', {
      name: 'Radicale ↔ Sandbox',
      a: account.side,
      b: { app: 'sandbox', credentials: { apiToken: beta.config.token }, scope: { baseUrl: stack.sandbox.url, instance: 'beta' } },
      settings: { pollIntervalSeconds: 3600 },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    id = res.body.id;
    started.push(id);

    const status = await eventually(async () => {
      const s = await stack.status(id);
      return s?.phase === 'running' && s.cycles >= 1 ? s : undefined;
    }, 'the initial sync to finish');
    expect(status.counts.scanned).toEqual({ a: 10, b: 10 });
    expect(status.counts.matched).toBe(5);
    expect(status.counts.created).toEqual({ a: 5, b: 5 });

    const cards = await carddav.listContacts(account);
    expect(cards).toHaveLength(15);
    expect(beta.count()).toBe(15);
    expect(new Set(cardEmails(cards)).size).toBe(cardEmails(cards).length);
    expect(new Set(sandboxEmails(beta))).toEqual(new Set(cardEmails(cards)));
    // The master app (A, the address book) wins a difference at the first match.
    const shared = beta.all().find((c) => c.emails[0]?.value.includes('.7@'))!;
    expect(shared.job_title).toBe('CardDAV title 7');
    // A person from the Sandbox arrives as a card with name, company and title.
    const fromSandbox = beta.all().find((c) => c.emails[0]?.value.includes('.12@'))!;
    expect(cards.find((c) => c.emails.includes(fromSandbox.emails[0].value.toLowerCase()))).toMatchObject({
      firstName: fromSandbox.first_name,
      lastName: fromSandbox.last_name,
      company: fromSandbox.company,
      jobTitle: fromSandbox.job_title,
    });
  });

  it('an edit on each side crosses over on "sync now"', async () => {
    const beta = stack.sandbox.instance('beta');
    const before = (await stack.status(id))!.cycles;
    const cards = await carddav.listContacts(account);
    const inBook = cards.find((c) => c.emails.some((e) => e.includes('.2@')))!;
    await carddav.updateContact(account, inBook.id, { jobTitle: 'Edited in the address book' });
    const inSandbox = beta.all().find((c) => c.emails[0]?.value.includes('.13@'))!;
    beta.update(inSandbox.id, { company: 'Edited in the Sandbox' });

    const sync = await stack.request('POST', `/connections/${id}/sync`);
    expect(sync.status).toBe(202);
    await eventually(
      () => beta.all().find((c) => c.emails.some((e) => inBook.emails.includes(e.value.toLowerCase())))?.job_title === 'Edited in the address book',
      'the address book edit to reach the Sandbox',
    );
    const email = inSandbox.emails[0].value.toLowerCase();
    await eventually(
      async () => (await carddav.listContacts(account)).find((c) => c.emails.includes(email))?.company === 'Edited in the Sandbox',
      'the Sandbox edit to reach the address book',
    );
    await eventually(async () => {
      const s = await stack.status(id);
      return s && s.cycles > before && !s.syncing ? s : undefined;
    }, 'the cycle to end');
    const after = await carddav.listContacts(account);
    expect(after).toHaveLength(15);
    expect(beta.count()).toBe(15);
  });
});
