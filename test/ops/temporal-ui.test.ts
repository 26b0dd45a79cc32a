import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureCasesQuery } from '../../api/health';
import { freePort, projectRoot, startDevServer, type TemporalServer } from '../../scripts/lib/temporal';
import { contactFailureWorkflowId } from '../../workflows/messages';
import { eventually, startStack, terminateAll, type Stack } from '../support/stack';
import { findChromium, launchChromium, type Browser } from './support/browser';

// Ops find a contact that failed to sync in the Temporal UI: listed by a search-attribute query, and its
// history shows the app's own message. Runs the product on a dev server of its own, because the shared one
// is headless.

const APP_MESSAGE = '"company" is required';
const SCREENSHOTS = path.join(projectRoot, '.data', 'ops-ui');

const chromium = findChromium();
const chromiumPath = 'path' in chromium ? chromium.path : null;
const title = 'a failed contact in the Temporal UI';

describe.skipIf(!chromiumPath)(chromiumPath ? title : `${title} (skipped: ${'missing' in chromium ? chromium.missing : ''})`, () => {
  let server: TemporalServer;
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let connectionId: string;
  let workflowId: string;
  const started: string[] = [];

  async function screenshot(name: string) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  beforeAll(async () => {
    server = await startDevServer({ uiPort: await freePort(), log: () => undefined });
    stack = await startStack({
      temporalAddress: server.address,
      instances: { alpha: { token: 'alpha-ui-token' }, beta: { token: 'beta-ui-token', requiredFields: ['company'] } },
    });
    const alpha = stack.sandbox.instance('alpha');
    alpha.seed({ count: 3, start: 0 });
    const refused = alpha.create({ first_name: 'Ada', last_name: 'Nocompany', emails: [{ type: 'work', value: 'ada@nocompany.example' }] });
    // A second connection with a failing contact of its own: its case must not show in the first one's list.
    stack.sandbox.addInstance('gamma', { token: 'gamma-ui-token' });
    stack.sandbox.instance('gamma').create({ first_name: 'Other', last_name: 'Case', emails: [{ type: 'work', value: 'other@nocompany.example' }] });
    connectionId = await stack.connect('alpha', 'beta', { pollIntervalSeconds: 3600 });
    const other = await stack.connect('gamma', 'beta', { pollIntervalSeconds: 3600 });
    started.push(connectionId, other);
    workflowId = contactFailureWorkflowId(connectionId, 'a', refused.id);
    for (const id of [workflowId]) {
      await eventually(async () => {
        const history = await stack.client.workflow.getHandle(id).fetchHistory();
        return history.events?.some((e) => e.activityTaskFailedEventAttributes?.failure?.message?.includes(APP_MESSAGE)) ?? false;
      }, `the case ${id} to record the app's message`);
    }
    // Visibility trails the history a little; the UI reads visibility.
    await eventually(async () => {
      for await (const execution of stack.client.workflow.list({ query: failureCasesQuery(connectionId) })) {
        if (execution.workflowId === workflowId) return true;
      }
      return false;
    }, 'the case to be searchable');

    browser = await launchChromium(chromiumPath!);
    page = await browser.context.newPage();
    page.setDefaultTimeout(30_000);
  });

  afterAll(async () => {
    if (stack) {
      await terminateAll(stack, started);
      for await (const wf of stack.client.workflow.list({ query: 'WorkflowType = "contactFailureWorkflow"' })) {
        await stack.client.workflow.getHandle(wf.workflowId).terminate().catch(() => undefined);
      }
    }
    await browser?.close();
    await stack?.close();
    await server?.stop();
  });

  it("is listed by a query on the connection's search attributes, and no other connection's case is", async () => {
    const query = `${failureCasesQuery(connectionId)} AND FailureKind="contact" AND ContactApp="sandbox" AND ExecutionStatus="Running"`;
    await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
    const link = page.getByRole('link', { name: workflowId, exact: true });
    await link.waitFor();
    await screenshot('workflow-list');
    const row = page.getByRole('row').filter({ has: link });
    expect(await row.innerText()).toMatch(/Running/);
    const listed = await page.getByRole('link', { name: /^contact-failure:/ }).allInnerTexts();
    expect(listed).toEqual([workflowId]);
  });

  it("shows the app's own message in the history of the case", async () => {
    await page.getByRole('link', { name: workflowId, exact: true }).click();
    await page.waitForURL(/\/history/);
    expect(decodeURIComponent(page.url())).toContain(workflowId);
    const failed = page.getByRole('row').filter({ hasText: 'Activity Task Failed' });
    await failed.first().waitFor();
    await failed.first().scrollIntoViewIfNeeded();
    await screenshot('workflow-history');
    expect(await failed.first().innerText()).toContain(APP_MESSAGE);
  });
});
