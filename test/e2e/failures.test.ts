import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTemporalCli } from '../../scripts/lib/temporal';
import type { SandboxInstance } from '../../sandboxes/sandbox';
import { contactFailureWorkflowId } from '../../workflows/messages';
import { eventually, startStack, terminateAll, type Stack } from '../support/stack';

// "Why didn't this contact sync?": a contact the target app refuses shows up in Health with the app's own
// message and as its own execution in Temporal, and is replayed once the cause is fixed.

const run = promisify(execFile);
const MESSAGE = '"company" is required';

describe('a contact that fails to sync', () => {
  let stack: Stack;
  let connectionId: string;
  let cli: string;
  const started: string[] = [];

  const health = async () => (await stack.request('GET', `/connections/${connectionId}/health`)).body;
  const caseOf = (extId: string) => stack.client.workflow.getHandle(contactFailureWorkflowId(connectionId, 'a', extId));
  const temporal = (...args: string[]) => run(cli, [...args, '--address', stack.temporalAddress]);
  const onBeta = (beta: SandboxInstance, email: string) =>
    beta.all().filter((c) => c.emails.some((e) => e.value === email));

  async function failingContact(alpha: SandboxInstance, name: string) {
    const email = `${name.toLowerCase()}@nocompany.example`;
    const contact = alpha.create({ first_name: name, last_name: 'Nocompany', emails: [{ type: 'work', value: email }] });
    await stack.request('POST', `/connections/${connectionId}/sync`);
    const failure = await eventually(async () => {
      const h = await health();
      return h.failures.find((f: { extId: string }) => f.extId === contact.id);
    }, `${name} to show in Health`);
    return { contact, email, failure };
  }

  /** The case's history holds the app's message in a failed replay attempt. */
  async function historyShowsMessage(extId: string) {
    return eventually(async () => {
      const history = await caseOf(extId).fetchHistory();
      return history.events?.some((e) => e.activityTaskFailedEventAttributes?.failure?.message?.includes(MESSAGE));
    }, 'the app message in the failure case history');
  }

  beforeAll(async () => {
    cli = await findTemporalCli({ build: false });
    stack = await startStack({
      instances: { alpha: { token: 'alpha-fail-token' }, beta: { token: 'beta-fail-token', requiredFields: ['company'] } },
    });
    stack.sandbox.instance('alpha').seed({ count: 6, start: 0 });
    connectionId = await stack.connect('alpha', 'beta', { pollIntervalSeconds: 3600 });
    started.push(connectionId);
    await eventually(async () => (await stack.status(connectionId))?.phase === 'running', 'the initial sync');
  });
  afterAll(async () => {
    await terminateAll(stack, started);
    const cases = stack?.client.workflow.list({ query: `ConnectionId = "${connectionId}"` });
    if (cases) for await (const wf of cases) await stack.client.workflow.getHandle(wf.workflowId).terminate().catch(() => undefined);
    await stack?.close();
  });

  it("is listed in Health and in Temporal with the app's message, and clears everywhere once its data is fixed", async () => {
    const alpha = stack.sandbox.instance('alpha');
    const beta = stack.sandbox.instance('beta');
    const { contact, email, failure } = await failingContact(alpha, 'Ada');
    expect(failure).toMatchObject({ kind: 'contact', step: 'create', side: 'a', message: expect.stringContaining(MESSAGE) });
    expect(failure.contact).toEqual({ name: 'Ada Nocompany', email });
    expect(failure.workflowId).toBe(contactFailureWorkflowId(connectionId, 'a', contact.id));

    // Ops find it in Temporal by search attribute, as the UI's list filter does.
    const listed = await eventually(async () => {
      const found = [];
      for await (const wf of stack.client.workflow.list({
        query: `WorkflowType = "contactFailureWorkflow" AND ConnectionId = "${connectionId}" AND FailureKind = "contact"`,
      })) {
        found.push(wf.workflowId);
      }
      return found.length ? found : undefined;
    }, 'the failure case in the visibility store');
    expect(listed).toEqual([failure.workflowId]);
    await historyShowsMessage(contact.id);
    // The rest of the connection goes on.
    expect(beta.count()).toBe(6);
    expect((await stack.status(connectionId))?.phase).toBe('running');

    // The user fills the missing field in the source app; the next cycle syncs the contact.
    alpha.update(contact.id, { company: 'Fixed Ltd' });
    await stack.request('POST', `/connections/${connectionId}/sync`);
    await eventually(() => onBeta(beta, email).length === 1, 'the fixed contact on beta');
    await eventually(async () => (await health()).totals.unresolved === 0, 'Health to be empty');
    const closed = await eventually(async () => {
      const d = await caseOf(contact.id).describe();
      return d.status.name !== 'RUNNING' ? d : undefined;
    }, 'the failure case to close');
    expect(closed.status.name).toBe('COMPLETED');
  });

  it('replays from the Temporal CLI with a retry signal, as ops do from the UI, after the cause is fixed in the target', async () => {
    const alpha = stack.sandbox.instance('alpha');
    const beta = stack.sandbox.instance('beta');
    const { contact, email } = await failingContact(alpha, 'Grace');
    await historyShowsMessage(contact.id);

    beta.configure({ requiredFields: [] });
    await temporal('workflow', 'signal', '--workflow-id', contactFailureWorkflowId(connectionId, 'a', contact.id), '--name', 'retry');
    expect(await caseOf(contact.id).result()).toBe('synced');
    expect(onBeta(beta, email)).toHaveLength(1);
    expect((await health()).totals.unresolved).toBe(0);
    beta.configure({ requiredFields: ['company'] });
  });

  it('replays when ops reset the failure case, and through the API', async () => {
    const alpha = stack.sandbox.instance('alpha');
    const beta = stack.sandbox.instance('beta');
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
      contactFailureWorkflowId(connectionId, 'a', first.contact.id),
      '--type',
      'FirstWorkflowTask',
      '--reason',
      'company no longer required',
      '--yes',
    );
    await eventually(() => onBeta(beta, first.email).length === 1, 'the reset case to sync its contact');

    const retried = await stack.request('POST', `/connections/${connectionId}/failures/${second.failure.id}/retry`);
    expect(retried.status).toBe(202);
    expect(retried.body.workflowIds).toEqual([second.failure.workflowId]);
    expect(await caseOf(second.contact.id).result()).toBe('synced');
    expect(onBeta(beta, second.email)).toHaveLength(1);
    await eventually(async () => (await health()).totals.unresolved === 0, 'Health to be empty');
    const again = await stack.request('POST', `/connections/${connectionId}/failures/${second.failure.id}/retry`);
    expect(again.status).toBe(409);
  });
});
