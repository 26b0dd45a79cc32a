import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCardDavHarness } from '../support/apps/carddav';
import { startGoogleHarness } from '../support/apps/google';
import type { AppHarness, HarnessAccount, PlainContact } from '../support/apps/harness';
import { startHubSpotHarness } from '../support/apps/hubspot';
import { startOutlookHarness } from '../support/apps/outlook';
import { startPipedriveHarness } from '../support/apps/pipedrive';
import { startPipelinerHarness } from '../support/apps/pipeliner';
import { eventually, startStack, terminateAll, type Stack } from '../support/stack';

// The stories users connect for: a CRM and an address book (or two address books) kept in sync both ways
// through Temporal, each app behind its own sandbox server.

const starters: Record<string, () => Promise<AppHarness>> = {
  google: startGoogleHarness,
  outlook: startOutlookHarness,
  pipeliner: startPipelinerHarness,
  pipedrive: startPipedriveHarness,
  hubspot: startHubSpotHarness,
  carddav: startCardDavHarness,
};

const PAIRS: [string, string][] = [
  ['google', 'outlook'],
  ['carddav', 'google'],
  ['pipeliner', 'outlook'],
  ['pipedrive', 'google'],
  ['hubspot', 'pipeliner'],
];

const byEmail = (list: PlainContact[], email: string) => list.filter((c) => c.emails.includes(email));

describe.each(PAIRS)('%s ↔ %s', (appA, appB) => {
  let stack: Stack;
  let a: AppHarness;
  let b: AppHarness;
  let accA: HarnessAccount;
  let accB: HarnessAccount;
  let connectionId: string;
  const tag = `${appA}-${appB}`;
  const email = (who: string) => `${who}.${tag}@people.example`;

  beforeAll(async () => {
    stack = await startStack();
    [a, b] = await Promise.all([starters[appA](), starters[appB]()]);
    [accA, accB] = await Promise.all([a.account(`a${Date.now().toString(36)}`), b.account(`b${Date.now().toString(36)}`)]);
  });
  afterAll(async () => {
    if (connectionId) await terminateAll(stack, [connectionId]);
    await a?.close();
    await b?.close();
    await stack?.close();
  });

  it('merges the shared person, creates the others on each side, then carries edits both ways', async () => {
    await a.createContact(accA, { firstName: 'Maya', lastName: 'Shared', email: email('maya'), company: 'Northwind' });
    await a.createContact(accA, { firstName: 'Arlo', lastName: 'Fromleft', email: email('arlo'), company: 'Contoso' });
    await b.createContact(accB, { firstName: 'Maya', lastName: 'Shared', email: email('maya') });
    await b.createContact(accB, { firstName: 'Bea', lastName: 'Fromright', email: email('bea'), company: 'Fabrikam' });

    const res = await stack.request('POST', '/connections', {
      name: `${appA} ↔ ${appB}`,
      a: accA.side,
      b: accB.side,
      settings: { pollIntervalSeconds: 3600 },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    connectionId = res.body.id;
    await eventually(async () => {
      const s = await stack.status(connectionId);
      return s?.phase === 'running' && !s.syncing;
    }, 'the initial sync');

    const [left, right] = await Promise.all([a.listContacts(accA), b.listContacts(accB)]);
    for (const who of ['maya', 'arlo', 'bea']) {
      expect(byEmail(left, email(who)), `${who} in ${appA}`).toHaveLength(1);
      expect(byEmail(right, email(who)), `${who} in ${appB}`).toHaveLength(1);
    }
    expect(byEmail(right, email('arlo'))[0]).toMatchObject({ firstName: 'Arlo', lastName: 'Fromleft' });
    expect(byEmail(left, email('bea'))[0]).toMatchObject({ firstName: 'Bea', lastName: 'Fromright' });
    // One side empty, the other filled: the merge fills it.
    expect(byEmail(right, email('maya'))[0].company).toBe('Northwind');

    await a.updateContact(accA, byEmail(left, email('arlo'))[0].id, { lastName: 'Renamedleft' });
    await b.updateContact(accB, byEmail(right, email('bea'))[0].id, { lastName: 'Renamedright' });
    expect((await stack.request('POST', `/connections/${connectionId}/sync`)).status).toBe(202);
    await eventually(
      async () => byEmail(await b.listContacts(accB), email('arlo'))[0]?.lastName === 'Renamedleft',
      `the edit in ${appA} to reach ${appB}`,
    );
    await eventually(
      async () => byEmail(await a.listContacts(accA), email('bea'))[0]?.lastName === 'Renamedright',
      `the edit in ${appB} to reach ${appA}`,
    );
    const health = await stack.request('GET', `/connections/${connectionId}/health`);
    expect(health.body.totals.unresolved).toBe(0);
  });
});
