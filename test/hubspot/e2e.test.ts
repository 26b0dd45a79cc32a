import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, terminateAll, type Stack } from '../support/stack';
import { startHubSpotHarness } from '../support/apps/hubspot';
import type { AppHarness, HarnessAccount } from '../support/apps/harness';
import { startHubSpotSandbox, type HubSpotSandbox } from '../../sandboxes/hubspot';

// A connection between HubSpot (A) and the Sandbox app (B), created over the REST API and run by Temporal.

describe('a connection between HubSpot and the Sandbox app', () => {
  let stack: Stack;
  let hubspot: AppHarness;
  let account: HarnessAccount;
  const started: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ pageSize: 7, planBatchSize: 10 });
    hubspot = await startHubSpotHarness();
    account = await hubspot.account('e2e');
  });
  afterAll(async () => {
    await terminateAll(stack, started);
    await stack?.close();
    await hubspot?.close();
  });

  it('merges the shared person once, creates the others both ways, then carries an edit on each side', async () => {
    const beta = stack.sandbox.instance('beta');
    await hubspot.createContact(account, { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', company: 'Analytical Engines', jobTitle: 'Mathematician' });
    const onlyInHubSpot = await hubspot.createContact(account, { firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com', company: 'Navy' });
    beta.create({ first_name: 'Ada', last_name: 'Lovelace', job_title: 'Countess', emails: [{ type: 'work', value: 'ADA@example.com' }] });
    const onlyInSandbox = beta.create({ first_name: 'Alan', last_name: 'Turing', company: 'Bletchley', emails: [{ type: 'work', value: 'alan@example.com' }] });

    const res = await stack.request('POST', '/connections', {
      name: 'HubSpot ↔ Sandbox',
      a: account.side,
      b: { app: 'sandbox', credentials: { apiToken: beta.config.token }, scope: { baseUrl: stack.sandbox.url, instance: 'beta' } },
      settings: { pollIntervalSeconds: 3600 },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const id = res.body.id as string;
    started.push(id);
    await eventually(async () => {
      const s = await stack.status(id);
      return s?.phase === 'running' && s.cycles >= 1 ? s : undefined;
    }, 'the initial sync to finish', 40_000);

    const inHubSpot = await hubspot.listContacts(account);
    expect(inHubSpot.map((c) => c.emails[0]).sort()).toEqual(['ada@example.com', 'alan@example.com', 'grace@example.com']);
    expect(beta.all().map((c) => c.emails[0].value.toLowerCase()).sort()).toEqual(['ada@example.com', 'alan@example.com', 'grace@example.com']);
    // HubSpot is A, the master: its job title wins the merge.
    expect(beta.all().find((c) => c.first_name === 'Ada')?.job_title).toBe('Mathematician');
    expect(inHubSpot.find((c) => c.emails[0] === 'alan@example.com')?.company).toBe('Bletchley');

    await hubspot.updateContact(account, onlyInHubSpot, { jobTitle: 'Rear Admiral' });
    beta.update(onlyInSandbox.id, { job_title: 'Cryptanalyst' });
    const before = (await stack.status(id))!.cycles;
    expect((await stack.request('POST', `/connections/${id}/sync`)).status).toBe(202);
    await eventually(() => beta.all().find((c) => c.first_name === 'Grace')?.job_title === 'Rear Admiral', 'the HubSpot edit in the Sandbox', 30_000);
    await eventually(
      async () => (await hubspot.listContacts(account)).find((c) => c.emails[0] === 'alan@example.com')?.jobTitle === 'Cryptanalyst',
      'the Sandbox edit in HubSpot',
      30_000,
    );
    await eventually(async () => {
      const s = await stack.status(id);
      return s && s.cycles > before && !s.syncing ? s : undefined;
    }, 'the cycle to end', 30_000);
    expect(await hubspot.listContacts(account)).toHaveLength(3);
    expect(beta.count()).toBe(3);
  });
});

// Tags from HubSpot lists: a tag set in the Sandbox app becomes a list membership, and a contact added to a
// list in HubSpot gets that tag in the Sandbox app.
describe('a connection with tags from HubSpot lists', () => {
  let stack: Stack;
  let hubspot: HubSpotSandbox;
  const started: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ pageSize: 7, planBatchSize: 10 });
    hubspot = await startHubSpotSandbox();
  });
  afterAll(async () => {
    await terminateAll(stack, started);
    await stack?.close();
    await hubspot?.close();
  });

  it('carries tags to list memberships and memberships to tags', async () => {
    const portal = hubspot.addAccount('lists', { limits: { tenSecondly: 5_000, searchPerSecond: 200 } });
    const gamma = stack.sandbox.addInstance('gamma', { token: 'gamma-secret-token' });
    const [grace] = portal.create([{ email: 'grace@example.com', firstname: 'Grace', lastname: 'Hopper' }]);
    const friends = portal.createList({ name: 'Friends', objectTypeId: '0-1', processingType: 'MANUAL' });
    const ada = gamma.create({ first_name: 'Ada', last_name: 'Lovelace', tags: ['vip'], emails: [{ type: 'work', value: 'ada@example.com' }] });

    const res = await stack.request('POST', '/connections', {
      name: 'HubSpot lists ↔ Sandbox',
      a: { app: 'hubspot', credentials: { accessToken: portal.privateAppToken }, scope: { baseUrl: hubspot.url, tagsFrom: { lists: 'all' } } },
      b: { app: 'sandbox', credentials: { apiToken: gamma.config.token }, scope: { baseUrl: stack.sandbox.url, instance: 'gamma' } },
      settings: { pollIntervalSeconds: 3600 },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const id = res.body.id as string;
    started.push(id);
    await eventually(async () => {
      const s = await stack.status(id);
      return s?.phase === 'running' && s.cycles >= 1 ? s : undefined;
    }, 'the initial sync to finish', 40_000);

    const adaInHubSpot = portal.byEmail('ada@example.com');
    expect(adaInHubSpot).toBeDefined();
    expect(portal.listsOf(adaInHubSpot!.id)).toEqual(['vip']);
    expect(portal.listByName('vip')?.processingType).toBe('MANUAL');

    // In HubSpot, Grace joins a list (her lastmodifieddate does not move); in the Sandbox, Ada gets a second tag.
    portal.changeMemberships(friends.listId, [grace.id], []);
    gamma.update(ada.id, { tags: ['vip', 'speaker'] });
    expect((await stack.request('POST', `/connections/${id}/sync`)).status).toBe(202);
    await eventually(() => gamma.all().find((c) => c.first_name === 'Grace')?.tags.includes('Friends'), 'the HubSpot membership as a Sandbox tag', 30_000);
    await eventually(() => portal.listsOf(adaInHubSpot!.id).includes('speaker'), 'the Sandbox tag as a HubSpot membership', 30_000);
    expect(portal.listsOf(adaInHubSpot!.id)).toEqual(['speaker', 'vip']);
  });
});
