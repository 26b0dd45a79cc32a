import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTemporalCli } from '../../scripts/lib/temporal';
import type { SandboxInstance } from '../../sandboxes/sandbox';
import { countUnresolvedContacts } from '../../db/queries/ops';
import { contactFailureWorkflowId } from '../../workflows/messages';
import type { RetrySchedule } from '../../workflows/retry-schedule';
import { eventually, startStack, terminateAll, type Stack } from '../support/stack';

// "Why didn't this contact sync?": a contact the target app refuses shows up in Health with the app's own
// message and as its own execution in Temporal, and is replayed once the cause is fixed: by ops, by itself
// on its retry schedule, or at once when the connection's settings change. Deleting the connection ends it.

const run = promisify(execFile);
const MESSAGE = '"company" is required';

/** A connection alpha → beta where beta requires a company, with what the tests ask of it. */
function failingConnection(retrySchedule?: RetrySchedule) {
  const t = {
    stack: undefined as unknown as Stack,
    connectionId: '',
    cli: '',
    health: async () => (await t.stack.request('GET', `/connections/${t.connectionId}/health`)).body,
    caseOf: (extId: string) => t.stack.client.workflow.getHandle(contactFailureWorkflowId(t.connectionId, 'a', extId)),
    temporal: (...args: string[]) => run(t.cli, [...args, '--address', t.stack.temporalAddress]),
    onBeta: (beta: SandboxInstance, email: string) => beta.all().filter((c) => c.emails.some((e) => e.value === email)),

    async failingContact(alpha: SandboxInstance, name: string) {
      const email = `${name.toLowerCase()}@nocompany.example`;
      const contact = alpha.create({ first_name: name, last_name: 'Nocompany', emails: [{ type: 'work', value: email }] });
      await t.stack.request('POST', `/connections/${t.connectionId}/sync`);
      const failure = await eventually(async () => {
        const h = await t.health();
        return h.failures.find((f: { extId: string }) => f.extId === contact.id);
      }, `${name} to show in Health`);
      return { contact, email, failure };
    },

    /** The app's messages of the failed replays in the case's history. */
    async messagesOf(extId: string): Promise<string[]> {
      const history = await t.caseOf(extId).fetchHistory();
      return (history.events ?? []).flatMap((e) => e.activityTaskFailedEventAttributes?.failure?.message ?? []);
    },

    /** The case's history holds the app's message in a failed replay attempt. */
    historyShowsMessage(extId: string) {
      return eventually(async () => {
        if ((await t.messagesOf(extId)).some((m) => m.includes(MESSAGE))) return true;
        // Should this time out, say what the case did instead (completed, timed out, still replaying).
        const history = await t.caseOf(extId).fetchHistory();
        const events = (history.events ?? []).map((e) => String(e.eventType)).slice(-6);
        throw new Error(`status ${(await t.caseOf(extId).describe()).status.name}, last events ${events.join(', ')}`);
      }, 'the app message in the failure case history');
    },
  };

  beforeAll(async () => {
    t.cli = await findTemporalCli({ build: false });
    t.stack = await startStack({
      instances: { alpha: { token: 'alpha-fail-token' }, beta: { token: 'beta-fail-token', requiredFields: ['company'] } },
      failureRetrySchedule: retrySchedule,
    });
    t.stack.sandbox.instance('alpha').seed({ count: 6, start: 0 });
    t.connectionId = await t.stack.connect('alpha', 'beta', { pollIntervalSeconds: 3600 });
    await eventually(async () => (await t.stack.status(t.connectionId))?.phase === 'running', 'the initial sync');
  });
  afterAll(async () => {
    if (!t.stack) return;
    await terminateAll(t.stack, [t.connectionId]);
    for await (const wf of t.stack.client.workflow.list({ query: `ConnectionId = "${t.connectionId}"` })) {
      await t.stack.client.workflow.getHandle(wf.workflowId).terminate().catch(() => undefined);
    }
    await t.stack.close();
  });
  return t;
}

describe('a contact that fails to sync', () => {
  const t = failingConnection();
  const { health, caseOf, temporal, onBeta, failingContact, historyShowsMessage } = t;

  it("is listed in Health and in Temporal with the app's message, and clears everywhere once its data is fixed", async () => {
    const alpha = t.stack.sandbox.instance('alpha');
    const beta = t.stack.sandbox.instance('beta');
    const { contact, email, failure } = await failingContact(alpha, 'Ada');
    expect(failure).toMatchObject({ kind: 'contact', step: 'create', side: 'a', message: expect.stringContaining(MESSAGE) });
    expect(failure.contact).toEqual({ name: 'Ada Nocompany', email });
    expect(failure.workflowId).toBe(contactFailureWorkflowId(t.connectionId, 'a', contact.id));

    // Ops find it in Temporal by search attribute, as the UI's list filter does.
    const listed = await eventually(async () => {
      const found = [];
      for await (const wf of t.stack.client.workflow.list({
        query: `WorkflowType = "contactFailureWorkflow" AND ConnectionId = "${t.connectionId}" AND FailureKind = "contact"`,
      })) {
        found.push(wf.workflowId);
      }
      return found.length ? found : undefined;
    }, 'the failure case in the visibility store');
    expect(listed).toEqual([failure.workflowId]);
    await historyShowsMessage(contact.id);
    // The rest of the connection goes on.
    expect(beta.count()).toBe(6);
    expect((await t.stack.status(t.connectionId))?.phase).toBe('running');

    // The user fills the missing field in the source app; the next cycle syncs the contact.
    alpha.update(contact.id, { company: 'Fixed Ltd' });
    await t.stack.request('POST', `/connections/${t.connectionId}/sync`);
    await eventually(() => onBeta(beta, email).length === 1, 'the fixed contact on beta');
    await eventually(async () => (await health()).totals.unresolved === 0, 'Health to be empty');
    const closed = await eventually(async () => {
      const d = await caseOf(contact.id).describe();
      return d.status.name !== 'RUNNING' ? d : undefined;
    }, 'the failure case to close');
    expect(closed.status.name).toBe('COMPLETED');
  });

  it('replays from the Temporal CLI with a retry signal, as ops do from the UI, after the cause is fixed in the target', async () => {
    const alpha = t.stack.sandbox.instance('alpha');
    const beta = t.stack.sandbox.instance('beta');
    const { contact, email } = await failingContact(alpha, 'Grace');
    await historyShowsMessage(contact.id);

    beta.configure({ requiredFields: [] });
    await temporal('workflow', 'signal', '--workflow-id', contactFailureWorkflowId(t.connectionId, 'a', contact.id), '--name', 'retry');
    expect(await caseOf(contact.id).result()).toBe('synced');
    expect(onBeta(beta, email)).toHaveLength(1);
    expect((await health()).totals.unresolved).toBe(0);
    beta.configure({ requiredFields: ['company'] });
  });

  it('replays when ops reset the failure case, and through the API', async () => {
    const alpha = t.stack.sandbox.instance('alpha');
    const beta = t.stack.sandbox.instance('beta');
    const first = await failingContact(alpha, 'Hedy');
    const second = await failingContact(alpha, 'Radia');
    await historyShowsMessage(first.contact.id);
    await historyShowsMessage(second.contact.id);

    beta.configure({ requiredFields: [] });
    // Reset, from the UI or the CLI, starts the case again from its beginning, which is a replay.
    await temporal(
      'workflow',
      'reset',
      '--workflow-id',
      contactFailureWorkflowId(t.connectionId, 'a', first.contact.id),
      '--type',
      'FirstWorkflowTask',
      '--reason',
      'company no longer required',
      '--yes',
    );
    await eventually(() => onBeta(beta, first.email).length === 1, 'the reset case to sync its contact');

    const retried = await t.stack.request('POST', `/connections/${t.connectionId}/failures/${second.failure.id}/retry`);
    expect(retried.status).toBe(202);
    expect(retried.body.workflowIds).toEqual([second.failure.workflowId]);
    expect(await caseOf(second.contact.id).result()).toBe('synced');
    expect(onBeta(beta, second.email)).toHaveLength(1);
    await eventually(async () => (await health()).totals.unresolved === 0, 'Health to be empty');
    const again = await t.stack.request('POST', `/connections/${t.connectionId}/failures/${second.failure.id}/retry`);
    expect(again.status).toBe(409);
  });

  it("replays at once when the connection's settings change, not 20 minutes later", async () => {
    const alpha = t.stack.sandbox.instance('alpha');
    const beta = t.stack.sandbox.instance('beta');
    beta.configure({ requiredFields: ['company'] });
    const { contact, email } = await failingContact(alpha, 'Barbara');
    await historyShowsMessage(contact.id);

    // The cause goes away in the target, and someone saves the connection's settings: nobody presses retry.
    beta.configure({ requiredFields: [] });
    const patched = await t.stack.request('PATCH', `/connections/${t.connectionId}`, { settings: { pollIntervalSeconds: 3599 } });
    expect(patched.status).toBe(200);
    expect(await caseOf(contact.id).result()).toBe('synced');
    expect(onBeta(beta, email)).toHaveLength(1);
  });
});

describe('a failure case on its own schedule', () => {
  // One second, twice, then every three seconds: HubSpot's 20 minutes and nights, shortened.
  const t = failingConnection({ everyMs: 1000, frequentRetries: 2, nightlyPeriodMs: 3000, nightlyAtMs: 0 });

  it('retries by itself and syncs once the cause is fixed, without anyone pressing retry; it counts as one contact', async () => {
    const alpha = t.stack.sandbox.instance('alpha');
    const beta = t.stack.sandbox.instance('beta');
    const { contact, email } = await t.failingContact(alpha, 'Lin');
    // The replay when the case opened, then automatic retries, each with the app's message.
    const messages = await eventually(async () => {
      const m = await t.messagesOf(contact.id);
      return m.length >= 3 ? m : undefined;
    }, 'three failed attempts in the case history');
    for (const m of messages) expect(m).toContain(MESSAGE);
    const failure = (await t.health()).failures.find((f: { extId: string }) => f.extId === contact.id);
    expect(failure.attempts).toBeGreaterThanOrEqual(4);
    // What the console line counts: one contact that does not sync, however many attempts failed.
    expect(await countUnresolvedContacts(t.stack.db.db, t.connectionId)).toBe(1);
    expect((await t.stack.status(t.connectionId))!.counts.failed).toBeGreaterThanOrEqual(4);

    beta.configure({ requiredFields: [] });
    expect(await t.caseOf(contact.id).result()).toBe('synced');
    expect(t.onBeta(beta, email)).toHaveLength(1);
    expect((await t.health()).totals.unresolved).toBe(0);
    expect(await countUnresolvedContacts(t.stack.db.db, t.connectionId)).toBe(0);
  });

  it('ends when its connection is deleted', async () => {
    const alpha = t.stack.sandbox.instance('alpha');
    const beta = t.stack.sandbox.instance('beta');
    beta.configure({ requiredFields: ['company'] });
    const { contact } = await t.failingContact(alpha, 'Katherine');
    await t.historyShowsMessage(contact.id);

    expect((await t.stack.request('DELETE', `/connections/${t.connectionId}`)).status).toBe(204);
    expect(await t.caseOf(contact.id).result()).toBe('connection-deleted');
    const running = await eventually(async () => {
      const found = [];
      for await (const wf of t.stack.client.workflow.list({ query: `ConnectionId = "${t.connectionId}" AND ExecutionStatus = "Running"` })) {
        found.push(wf.workflowId);
      }
      return found.length === 0 ? found : undefined;
    }, 'no execution of the deleted connection left running');
    expect(running).toEqual([]);
  });
});
