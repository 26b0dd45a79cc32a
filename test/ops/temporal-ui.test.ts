import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contactFailureWorkflowId, failureCasesQuery } from '../../api/health';
import { freePort, projectRoot, startDevServer, type TemporalServer } from '../../scripts/lib/temporal';
import { eventually } from '../support/stack';
import { findChromium, launchChromium, type Browser } from './support/browser';
import type { FailureCaseInput } from './support/failure-case-workflow';

// Ops find a contact that failed to sync in the Temporal UI: listed by a search-attribute query, and its
// history shows the app's own message. Runs a dev server of its own, because the shared one is headless.

const APP_MESSAGE = 'Pipeliner: Field "Industry" is required';
const SCREENSHOTS = path.join(projectRoot, '.data', 'ops-ui');

const chromium = findChromium();
const chromiumPath = 'path' in chromium ? chromium.path : null;
const title = 'a failed contact in the Temporal UI';

describe.skipIf(!chromiumPath)(chromiumPath ? title : `${title} (skipped: ${'missing' in chromium ? chromium.missing : ''})`, () => {
  let server: TemporalServer;
  let native: NativeConnection;
  let connection: Connection;
  let client: Client;
  let worker: Worker;
  let running: Promise<void>;
  let browser: Browser;
  let page: Page;
  const taskQueue = `ops-ui-${randomUUID()}`;
  const connectionId = `con_ui${randomUUID().replace(/-/g, '').slice(0, 14)}`;
  const otherConnectionId = `con_ui${randomUUID().replace(/-/g, '').slice(0, 14)}`;
  const workflowId = contactFailureWorkflowId(connectionId, 'a', 'pl-4711');
  const otherWorkflowId = contactFailureWorkflowId(otherConnectionId, 'a', 'pl-4711');

  /**
   * Opens the failure case of one contact. A stand-in workflow (support/failure-case-workflow.ts) with the
   * engine's type name, id shape and search attributes; the engine's own case can replace it here.
   */
  async function openFailureCase(id: string, input: FailureCaseInput): Promise<void> {
    await client.workflow.start('contactFailureWorkflow', { workflowId: id, taskQueue, args: [input] });
  }

  async function screenshot(name: string) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  beforeAll(async () => {
    // The stand-in activity fails on purpose; the SDK would log each of those failures as a warning.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    server = await startDevServer({ uiPort: await freePort(), log: () => undefined });
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.join(projectRoot, 'test', 'ops', 'support', 'failure-case-workflow.ts'),
      logger: { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: console.warn, error: console.error, log: () => undefined },
    });
    native = await NativeConnection.connect({ address: server.address });
    worker = await Worker.create({
      connection: native,
      taskQueue,
      workflowBundle: { code },
      activities: {
        async syncOneContact() {
          throw ApplicationFailure.nonRetryable(APP_MESSAGE, 'ContactError');
        },
      },
    });
    running = worker.run();
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection });

    await openFailureCase(workflowId, { connectionId, kind: 'contact', app: 'pipeliner' });
    await openFailureCase(otherWorkflowId, { connectionId: otherConnectionId, kind: 'contact', app: 'pipeliner' });
    for (const id of [workflowId, otherWorkflowId]) {
      await eventually(async () => {
        const history = await client.workflow.getHandle(id).fetchHistory();
        return history.events?.some((e) => e.activityTaskFailedEventAttributes) ?? false;
      }, `the activity of ${id} to fail`, 30_000);
    }
    // Visibility trails the history a little; the UI reads visibility.
    await eventually(async () => {
      for await (const execution of client.workflow.list({ query: failureCasesQuery(connectionId) })) {
        if (execution.workflowId === workflowId) return true;
      }
      return false;
    }, 'the case to be searchable', 30_000);

    browser = await launchChromium(chromiumPath!);
    page = await browser.context.newPage();
    page.setDefaultTimeout(30_000);
  });

  afterAll(async () => {
    for (const id of [workflowId, otherWorkflowId]) {
      await client?.workflow.getHandle(id).terminate('test finished').catch(() => undefined);
    }
    await browser?.close();
    if (worker && worker.getState() === 'RUNNING') worker.shutdown();
    await running?.catch(() => undefined);
    await native?.close();
    await connection?.close();
    await server?.stop();
  });

  it("is listed by a query on the connection's search attributes, and no other connection's case is", async () => {
    const query = `${failureCasesQuery(connectionId)} AND FailureKind="contact" AND ContactApp="pipeliner" AND ExecutionStatus="Running"`;
    await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
    const link = page.getByRole('link', { name: workflowId, exact: true });
    await link.waitFor();
    await screenshot('workflow-list');
    const row = page.getByRole('row').filter({ has: link });
    expect(await row.innerText()).toMatch(/Running/);
    const listed = await page.getByRole('link', { name: /^contact-failure:/ }).allInnerTexts();
    expect(listed).toEqual([workflowId]);
    expect(await page.getByText(otherConnectionId).count()).toBe(0);
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
