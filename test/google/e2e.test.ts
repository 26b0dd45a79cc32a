import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxInstance } from '../../sandboxes/sandbox';
import { startGoogleSandbox, type GoogleAccount, type GoogleSandbox, type StoredPerson } from '../../sandboxes/google';
import { eventually, startStack, terminateAll, type Stack } from '../support/stack';

// A connection between Google Contacts (A) and the Sandbox app (B), created over the REST API and run by the
// connection workflow on a real Temporal server.

const googleEmails = (p: StoredPerson) => (p.data.emailAddresses ?? []).map((e) => String(e.value).toLowerCase());
const googleByEmail = (acct: GoogleAccount, email: string) => acct.people().filter((p) => googleEmails(p).includes(email));
const sandboxByEmail = (inst: SandboxInstance, email: string) =>
  inst.all().filter((c) => c.emails.some((e) => e.value.toLowerCase() === email));

function noDuplicates(emails: string[]) {
  expect(new Set(emails).size).toBe(emails.length);
}

describe('a connection between Google Contacts and the Sandbox app', () => {
  let stack: Stack;
  let google: GoogleSandbox;
  let connectionId: string;

  beforeAll(async () => {
    stack = await startStack({ pageSize: 7, planBatchSize: 10 });
    google = await startGoogleSandbox();
  });
  afterAll(async () => {
    if (connectionId) await terminateAll(stack, [connectionId]);
    await stack?.close();
    await google?.close();
  });

  it('merges the shared people and creates the others both ways on the initial sync', async () => {
    const ada = google.account('ada');
    ada.configure({ pageSizeCap: 4 });
    ada.seed({ count: 10, start: 0, seed: 1 });
    const beta = stack.sandbox.instance('beta');
    // persons 5..14: five of them are Ada's contacts too, with details from another seed
    beta.seed({ count: 10, start: 5, seed: 2 });
    const shared = googleEmails(ada.people().find((p) => googleEmails(p)[0].includes('.5@'))!)[0];
    const googleTitle = String(googleByEmail(ada, shared)[0].data.organizations?.[0]?.title);

    const { clientId, clientSecret, refreshToken } = google.credentials('ada');
    const res = await stack.request('POST', '/connections', {
      name: 'Ada’s Google ↔ beta',
      a: { app: 'google', credentials: { clientId, clientSecret, refreshToken }, scope: { baseUrl: google.url, tokenUrl: google.tokenUrl } },
      b: { app: 'sandbox', credentials: { apiToken: beta.config.token }, scope: { baseUrl: stack.sandbox.url, instance: 'beta' } },
      settings: { pollIntervalSeconds: 2 },
    });
    expect(res.status).toBe(201);
    connectionId = res.body.id;

    const status = await eventually(async () => {
      const s = await stack.status(connectionId);
      return s?.phase === 'running' && s.cycles >= 1 ? s : undefined;
    }, 'the initial sync to finish', 45_000);

    expect(ada.people()).toHaveLength(15);
    expect(beta.count()).toBe(15);
    noDuplicates(ada.people().flatMap(googleEmails));
    noDuplicates(beta.all().flatMap((c) => c.emails.map((e) => e.value.toLowerCase())));
    expect(new Set(ada.people().flatMap(googleEmails))).toEqual(new Set(beta.all().flatMap((c) => c.emails.map((e) => e.value.toLowerCase()))));
    // Google is A, the master: its job title wins the difference at the first match
    expect(sandboxByEmail(beta, shared)[0].job_title).toBe(googleTitle);
    expect(status.counts.matched).toBe(5);
    expect(status.counts.created).toEqual({ a: 5, b: 5 });

    // the Sandbox's tags arrived as Google labels, created as contact groups
    const tagged = beta.all().find((c) => c.tags.length > 0 && sandboxByEmail(beta, c.emails[0].value.toLowerCase()).length === 1);
    if (tagged) {
      const inGoogle = googleByEmail(ada, tagged.emails[0].value.toLowerCase())[0];
      const labels = ada.groupList().filter((g) => g.groupType === 'USER_CONTACT_GROUP');
      const names = (inGoogle.data.memberships ?? []).map(
        (m) => labels.find((g) => `contactGroups/${g.id}` === (m.contactGroupMembership as any).contactGroupResourceName)?.name,
      );
      expect(names).toEqual(expect.arrayContaining(tagged.tags));
    }
  });

  it('carries an edit on each side across after "sync now"', async () => {
    const patch = await stack.request('PATCH', `/connections/${connectionId}`, { settings: { pollIntervalSeconds: 3600 } });
    expect(patch.status).toBe(200);
    const ada = google.account('ada');
    const beta = stack.sandbox.instance('beta');

    const inGoogle = ada.people()[2];
    const googleEmail = googleEmails(inGoogle)[0];
    ada.editPerson(inGoogle.id, { organizations: [{ name: 'Analytical Engines Ltd', title: 'Countess' }] });
    const inBeta = beta.all()[7];
    const betaEmail = inBeta.emails[0].value.toLowerCase();
    beta.update(inBeta.id, { job_title: 'Chief Sync Officer' });

    const sync = await stack.request('POST', `/connections/${connectionId}/sync`);
    expect(sync.status).toBe(202);
    await eventually(() => sandboxByEmail(beta, googleEmail)[0]?.job_title === 'Countess', 'the Google edit to reach the Sandbox', 30_000);
    await eventually(
      () => googleByEmail(ada, betaEmail)[0]?.data.organizations?.[0]?.title === 'Chief Sync Officer',
      'the Sandbox edit to reach Google',
      30_000,
    );
    expect(sandboxByEmail(beta, googleEmail)[0].company).toBe('Analytical Engines Ltd');
    noDuplicates(ada.people().flatMap(googleEmails));
  });
});
