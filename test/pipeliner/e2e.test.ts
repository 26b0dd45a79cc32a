import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failures } from '../../db/schema';
import type { SandboxInstance } from '../../sandboxes/sandbox';
import { startPipelinerSandbox, type PipelinerSandbox, type PipelinerSpace } from '../../sandboxes/pipeliner';
import { eventually, startStack, terminateAll, type Stack } from '../support/stack';

// Pipeliner CRM and the Sandbox app kept in sync by the whole product: the REST API creates the connection,
// its Temporal workflow runs the initial sync and the cycles, and Pipeliner's refusals end up as failed contacts.

const sandboxEmails = (inst: SandboxInstance) => inst.all().flatMap((c) => c.emails.map((e) => e.value.toLowerCase()));
const pipelinerEmails = (space: PipelinerSpace) =>
  space.all().flatMap((c) => ['email1', 'email2', 'email3', 'email4', 'email5'].flatMap((k) => (c.values[k] ? [c.values[k]!.toLowerCase()] : [])));
const inSandbox = (inst: SandboxInstance, email: string) => inst.all().find((c) => c.emails.some((e) => e.value.toLowerCase() === email));
const inPipeliner = (space: PipelinerSpace, email: string) => space.all().find((c) => c.values.email1?.toLowerCase() === email);
const workEmail = (i: number, space: PipelinerSpace) => space.all().map((c) => c.values.email1!).find((e) => e.includes(`.${i}@`))!.toLowerCase();

describe('a connection between Pipeliner CRM and the Sandbox app', () => {
  let stack: Stack;
  let pipeliner: PipelinerSandbox;
  const started: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ pageSize: 7, planBatchSize: 10 });
    pipeliner = await startPipelinerSandbox();
  });
  afterAll(async () => {
    await terminateAll(stack, started);
    await stack?.close();
    await pipeliner?.close();
  });

  /** A space with a "Sales" unit and its rep, and the connection side that reaches it. */
  function pipelinerSide(spaceId: string) {
    const space = pipeliner.addSpace(spaceId, { apiToken: `${spaceId}-token`, apiPassword: `${spaceId}-password` });
    const sales = space.addSalesUnit('Sales');
    const rep = space.addUser({ email: `rep@${spaceId}.example`, first_name: 'Rita', last_name: 'Rep', default_unit_id: sales.id });
    const side = {
      app: 'pipeliner',
      credentials: { apiToken: `${spaceId}-token`, apiPassword: `${spaceId}-password` },
      scope: { serviceUrl: pipeliner.url, spaceId, salesUnit: 'Sales', ownership: 'all-visible', user: rep.email },
    };
    return { space, sales, rep, side };
  }

  const sandboxSide = (name: string) => ({
    app: 'sandbox',
    credentials: { apiToken: stack.sandbox.instance(name).config.token },
    scope: { baseUrl: stack.sandbox.url, instance: name },
  });

  async function connect(a: unknown, b: unknown): Promise<string> {
    const res = await stack.request('POST', '/connections', { name: 'Pipeliner ↔ Sandbox', a, b, settings: { pollIntervalSeconds: 2 } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    started.push(res.body.id);
    return res.body.id as string;
  }

  const initialSync = (id: string) =>
    eventually(async () => {
      const s = await stack.status(id);
      return s?.phase === 'running' && s.cycles >= 1 ? s : undefined;
    }, 'the initial sync to finish');

  it('merges shared people, creates the others both ways, then carries an edit on each side across', async () => {
    const { space, sales, rep, side } = pipelinerSide('nv1_e2e_main');
    space.seed({ count: 10, start: 0, seed: 1, ownerId: rep.id, unitId: sales.id });
    const alpha = stack.sandbox.instance('alpha');
    alpha.seed({ count: 10, start: 5, seed: 2 });
    const shared = workEmail(5, space);
    const pipelinerPosition = inPipeliner(space, shared)!.values.position;

    const id = await connect(side, sandboxSide('alpha'));
    const status = await initialSync(id);
    expect(status.counts.scanned).toEqual({ a: 10, b: 10 });
    expect(status.counts.matched).toBe(5);
    expect(status.counts.created).toEqual({ a: 5, b: 5 });
    expect(space.count()).toBe(15);
    expect(alpha.count()).toBe(15);
    expect(new Set(pipelinerEmails(space))).toEqual(new Set(sandboxEmails(alpha)));
    expect(new Set(pipelinerEmails(space)).size).toBe(pipelinerEmails(space).length);
    // Pipeliner is the master app (A): its job title wins the difference at the first match.
    expect(inSandbox(alpha, shared)!.job_title).toBe(pipelinerPosition);
    // Contacts created in Pipeliner belong to the scope's user and sales unit.
    const created = space.all().find((c) => c.values.email1?.includes('.12@'))!;
    expect(created).toMatchObject({ owner_id: rep.id, unit_id: sales.id });

    // an hour between cycles: only "sync now" can bring the edits during this test
    expect((await stack.request('PATCH', `/connections/${id}`, { settings: { pollIntervalSeconds: 3600 } })).status).toBe(200);
    const before = (await stack.status(id))!.cycles;
    const fromPipeliner = workEmail(2, space);
    space.update(inPipeliner(space, fromPipeliner)!.id, { position: 'Head of Pipelines' });
    const fromSandbox = workEmail(13, space);
    alpha.update(inSandbox(alpha, fromSandbox)!.id, { company: 'Sandbox Renamed Ltd' });

    expect((await stack.request('POST', `/connections/${id}/sync`)).status).toBe(202);
    await eventually(() => inSandbox(alpha, fromPipeliner)?.job_title === 'Head of Pipelines', 'the Pipeliner edit to reach the Sandbox');
    await eventually(() => inPipeliner(space, fromSandbox)?.values.quick_account_name === 'Sandbox Renamed Ltd', 'the Sandbox edit to reach Pipeliner');
    const after = await eventually(async () => {
      const s = await stack.status(id);
      return s && s.cycles > before && !s.syncing ? s : undefined;
    }, 'the cycle to end');
    expect(after.phase).toBe('running');
    expect(space.count()).toBe(15);
    expect(alpha.count()).toBe(15);
  });

  it('a contact Pipeliner refuses to create (required custom field) is failed with Pipeliner\'s message; the rest goes on', async () => {
    const { space, sales, rep, side } = pipelinerSide('nv1_e2e_required');
    const existing = space.seed({ count: 4, start: 100, seed: 1, ownerId: rep.id, unitId: sales.id });
    // The admin makes a custom field required after these contacts were entered.
    space.setCustomField({ api_name: 'cf_region_code', name: 'Region code', required: true });
    const beta = stack.sandbox.instance('beta');
    beta.seed({ count: 6, start: 102, seed: 2 });

    const id = await connect(side, sandboxSide('beta'));
    const status = await initialSync(id);
    // 100 and 101 reach the Sandbox; 102 and 103 match; 104..107 cannot be created in Pipeliner.
    expect(beta.count()).toBe(8);
    expect(space.count()).toBe(4);
    expect(status.counts.failed).toBeGreaterThanOrEqual(4);

    const rows = await stack.db.db.select().from(failures).where(eq(failures.connectionId, id));
    const open = rows.filter((r) => r.resolvedAt === null);
    expect(open).toHaveLength(4);
    for (const row of open) {
      expect(row).toMatchObject({ side: 'b', step: 'create', kind: 'contact', status: 422, code: 'ERROR_ENTITY_VALIDATION' });
      expect(row.message).toBe("Non-null field 'cf_region_code' is null or empty.");
    }
    const shown = await stack.request('GET', `/connections/${id}`);
    expect(shown.status).toBe(200);
    expect(shown.body.state).toBe('running');
    expect(shown.body.status.counts.failed).toBeGreaterThanOrEqual(4);

    // Updates of contacts Pipeliner already holds still flow, although they lack the required field.
    expect((await stack.request('PATCH', `/connections/${id}`, { settings: { pollIntervalSeconds: 3600 } })).status).toBe(200);
    const matched = workEmail(103, space);
    beta.update(inSandbox(beta, matched)!.id, { company: 'Still Syncing GmbH' });
    space.update(existing[0].id, { position: 'Regional Director' });
    expect((await stack.request('POST', `/connections/${id}/sync`)).status).toBe(202);
    await eventually(() => inPipeliner(space, matched)?.values.quick_account_name === 'Still Syncing GmbH', 'the update to reach Pipeliner');
    await eventually(() => inSandbox(beta, workEmail(100, space))?.job_title === 'Regional Director', 'the Pipeliner edit to reach the Sandbox');
    expect((await stack.request('GET', `/connections/${id}`)).body.state).toBe('running');
  });
});
