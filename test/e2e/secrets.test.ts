import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTemporalCli } from '../../scripts/lib/temporal';
import { eventually, startStack, terminateAll, type Stack } from '../support/stack';

// Workflow histories are shown to anyone with the Temporal UI: no credential may ever reach one.

const run = promisify(execFile);

/** Every string in an exported history, with base64 payload data decoded, so a secret cannot hide in encoding. */
function historyText(exported: unknown): string {
  const parts: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') {
      parts.push(v);
      if (/^[A-Za-z0-9+/=]{8,}$/.test(v)) parts.push(Buffer.from(v, 'base64').toString('utf8'));
    } else if (v instanceof Uint8Array) {
      parts.push(Buffer.from(v).toString('utf8'));
    } else if (Array.isArray(v)) {
      v.forEach(walk);
    } else if (v && typeof v === 'object') {
      Object.values(v).forEach(walk);
    }
  };
  walk(exported);
  return parts.join('\n');
}

describe('secrets', () => {
  let stack: Stack;
  const started: string[] = [];
  const secrets = ['alpha-very-secret-token-0451', 'beta-very-secret-token-1138'];

  beforeAll(async () => {
    stack = await startStack({
      pageSize: 4,
      planBatchSize: 5,
      instances: { alpha: { token: secrets[0] }, beta: { token: secrets[1] } },
    });
  });
  afterAll(async () => {
    await terminateAll(stack, started);
    await stack?.close();
  });

  it('never appear in an exported workflow history, across runs, nor in API responses', async () => {
    stack.sandbox.instance('alpha').seed({ count: 12, start: 0 });
    stack.sandbox.instance('beta').seed({ count: 12, start: 6, seed: 3 });
    const id = await stack.connect('alpha', 'beta');
    started.push(id);
    await eventually(async () => (await stack.status(id))?.phase === 'running', 'the initial sync');
    // Exercise every message the workflow takes, so their payloads are in the history too.
    expect((await stack.request('POST', `/connections/${id}/pause`)).status).toBe(200);
    expect((await stack.request('POST', `/connections/${id}/resume`)).status).toBe(200);
    expect((await stack.request('PATCH', `/connections/${id}`, { name: 'renamed' })).status).toBe(200);
    expect(
      (await stack.request('PATCH', `/connections/${id}`, { b: { credentials: { apiToken: secrets[1] } } })).status,
    ).toBe(200);
    expect((await stack.request('POST', `/connections/${id}/sync`)).status).toBe(202);
    await eventually(async () => ((await stack.status(id))?.cycles ?? 0) >= 2, 'a cycle after sync now');

    const workflowId = `connection:${id}`;
    const forbidden = [...secrets, stack.masterKey.toString('hex'), stack.masterKey.toString('base64'), stack.apiKey];

    // Every run of the connection (it continues as new during the test), through the SDK...
    const runs = [];
    for await (const h of stack.client.workflow.list({ query: `WorkflowId = "${workflowId}"` }).intoHistories()) {
      runs.push(h);
    }
    expect(runs.length).toBeGreaterThan(1);
    const sdkText = historyText(runs);
    expect(sdkText).toContain(id);
    // ...and as ops export it with the Temporal CLI.
    const cli = await findTemporalCli({ build: false });
    const { stdout } = await run(
      cli,
      ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--address', stack.temporalAddress],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    const cliText = historyText(JSON.parse(stdout));
    expect(cliText).toContain(id);
    for (const secret of forbidden) {
      expect(sdkText).not.toContain(secret);
      expect(cliText).not.toContain(secret);
    }

    const shown = await stack.request('GET', `/connections/${id}`);
    const listed = await stack.request('GET', '/connections');
    for (const secret of forbidden.slice(0, 3)) {
      expect(JSON.stringify(shown.body)).not.toContain(secret);
      expect(JSON.stringify(listed.body)).not.toContain(secret);
    }
  });
});
