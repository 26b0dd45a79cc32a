import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Contact, SandboxInstance } from '../../sandboxes/sandbox';
import { startPipedriveSandbox, type Company, type PipedriveSandbox, type StoredPerson } from '../../sandboxes/pipedrive';
import { eventually, startStack, terminateAll, type Stack } from '../support/stack';

// A connection between Pipedrive (A) and the Sandbox app (B), created over the REST API and run by a Temporal
// workflow: the initial sync merges the people both hold and creates the others both ways; edits then flow
// across on "sync now".

const pdEmail = (p: StoredPerson) => p.emails.find((e) => e.primary)?.value.toLowerCase();
const sbEmail = (c: Contact) => c.emails[0]?.value.toLowerCase();
const pdByEmail = (co: Company, email: string) => co.all().filter((p) => p.emails.some((e) => e.value.toLowerCase() === email));
const sbByEmail = (inst: SandboxInstance, email: string) => inst.all().filter((c) => c.emails.some((e) => e.value.toLowerCase() === email));

function assertNoDuplicates(emails: string[]) {
  expect(new Set(emails).size).toBe(emails.length);
}

describe('a connection between Pipedrive and the Sandbox app', () => {
  let stack: Stack;
  let pipedrive: PipedriveSandbox;
  let company: Company;
  let apiToken: string;
  const started: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ pageSize: 4, planBatchSize: 10 });
    pipedrive = await startPipedriveSandbox();
    const account = pipedrive.addCompany('Acme');
    company = account.company;
    apiToken = account.apiToken;
  });
  afterAll(async () => {
    if (stack) await terminateAll(stack, started);
    await stack?.close();
    await pipedrive?.close();
  });

  it('merges the shared people once and creates everyone else on the other side', async () => {
    const beta = stack.sandbox.instance('beta');
    company.seed({ count: 8, start: 0, seed: 1 });
    // persons 4..11: half of the Sandbox's people are in Pipedrive too, with details from another seed
    beta.seed({ count: 8, start: 4, seed: 2 });
    const shared = company.all().find((p) => pdEmail(p)?.includes('.5@'))!;
    const sharedOrg = company.organization(shared.org_id!)!.name;

    const res = await stack.request('POST', '/connections', {
      name: 'Pipedrive ↔ Sandbox',
      a: { app: 'pipedrive', credentials: { apiToken }, scope: { baseUrl: pipedrive.url }, options: { visibleTo: 'entire-company' } },
      b: { app: 'sandbox', credentials: { apiToken: beta.config.token }, scope: { baseUrl: stack.sandbox.url, instance: 'beta' } },
      settings: { pollIntervalSeconds: 3600 },
    });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    started.push(id);

    const status = await eventually(async () => {
      const s = await stack.status(id);
      return s?.phase === 'running' && s.cycles >= 1 ? s : undefined;
    }, 'the initial sync to finish');

    expect(status.counts.scanned).toEqual({ a: 8, b: 8 });
    expect(status.counts.matched).toBe(4);
    expect(status.counts.created).toEqual({ a: 4, b: 4 });
    expect(status.counts.failed).toBe(0);
    expect(company.count()).toBe(12);
    expect(beta.count()).toBe(12);
    assertNoDuplicates(company.all().map((p) => pdEmail(p)!));
    assertNoDuplicates(beta.all().map((c) => sbEmail(c)!));
    expect(new Set(company.all().flatMap((p) => p.emails.map((e) => e.value.toLowerCase())))).toEqual(
      new Set(beta.all().flatMap((c) => c.emails.map((e) => e.value.toLowerCase()))),
    );

    // Pipedrive is the master app: its values win at the first match, and its job title (read-only via the
    // API) reaches the Sandbox.
    const sharedInBeta = sbByEmail(beta, pdEmail(shared)!)[0];
    expect(sharedInBeta.company).toBe(sharedOrg);
    expect(sharedInBeta.job_title).toBe(shared.job_title);

    // People created in Pipedrive carry their organization and the chosen visibility.
    const fromBeta = beta.all().find((c) => sbEmail(c)?.includes('.11@'))!;
    const created = pdByEmail(company, sbEmail(fromBeta)!)[0];
    expect(created.first_name).toBe(fromBeta.first_name);
    expect(created.last_name).toBe(fromBeta.last_name);
    expect(company.organization(created.org_id!)?.name).toBe(fromBeta.company);
    expect(created.visible_to).toBe(3);
  });

  it('carries an edit on each side across on "sync now"', async () => {
    const [id] = started;
    const beta = stack.sandbox.instance('beta');
    const before = (await stack.status(id))!.cycles;

    const inPipedrive = company.all()[1];
    company.editAs(inPipedrive.id, { last_name: 'Pipedrive-Edited', org_name: 'Renamed Holdings' });
    const inBeta = beta.all().find((c) => sbEmail(c) !== pdEmail(inPipedrive))!;
    beta.update(inBeta.id, { last_name: 'Sandbox-Edited', company: 'Beta Works' });

    const sync = await stack.request('POST', `/connections/${id}/sync`);
    expect(sync.status).toBe(202);
    await eventually(() => sbByEmail(beta, pdEmail(inPipedrive)!)[0]?.last_name === 'Pipedrive-Edited', 'the Pipedrive edit to reach the Sandbox');
    await eventually(() => pdByEmail(company, sbEmail(inBeta)!)[0]?.last_name === 'Sandbox-Edited', 'the Sandbox edit to reach Pipedrive');
    const after = await eventually(async () => {
      const s = await stack.status(id);
      return s && s.cycles > before && !s.syncing ? s : undefined;
    }, 'the cycle to end');
    expect(after.phase).toBe('running');
    expect(sbByEmail(beta, pdEmail(inPipedrive)!)[0].company).toBe('Renamed Holdings');
    const edited = pdByEmail(company, sbEmail(inBeta)!)[0];
    expect(company.organization(edited.org_id!)?.name).toBe('Beta Works');
    expect(edited.first_name).toBe(inBeta.first_name);
    assertNoDuplicates(company.all().map((p) => pdEmail(p)!));
    assertNoDuplicates(beta.all().map((c) => sbEmail(c)!));
    expect(company.count()).toBe(12);
    expect(beta.count()).toBe(12);
  });
});
