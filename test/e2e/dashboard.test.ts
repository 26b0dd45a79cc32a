import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../scripts/lib/temporal';
import { ensureWebBuilt } from '../../scripts/lib/web';
import type { Contact, SandboxInstance } from '../../sandboxes/sandbox';
import { findChromium, launchChromium, type Browser } from '../ops/support/browser';
import { eventually, startStack, terminateAll, type Stack } from '../support/stack';

// The dashboard as a person uses it: real Chromium on the built web app, served by the real API, over a
// connection between two Sandbox apps synced by a real worker on Temporal. Screenshots of the overview,
// the activity chart and Health go to .data/screenshots/dashboard/ (CI keeps them as artifacts).

export const SCREENSHOTS = path.join(projectRoot, '.data', 'screenshots', 'dashboard');
const APP_MESSAGE = '"company" is required';
const HOSTILE = '<img src=x onerror=alert(1)>';
const POLL_SECONDS = 2;
/** The API reads TEMPORAL_UI_URL for the dashboard's links into the Temporal UI. */
const TEMPORAL_UI = 'http://127.0.0.1:8233';

const chromium = findChromium();
const chromiumPath = 'path' in chromium ? chromium.path : null;
const title = 'the dashboard in a browser';

describe.skipIf(!chromiumPath)(chromiumPath ? title : `${title} (skipped: ${'missing' in chromium ? chromium.missing : ''})`, () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let alpha: SandboxInstance;
  let beta: SandboxInstance;
  let connectionId: string;
  let refused: Contact;
  const dialogs: string[] = [];
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];
  let previousUiUrl: string | undefined;

  const partnerOf = (c: Contact) => beta.findByEmail(c.emails[0].value)[0];
  const row = () => page.locator(`tr[data-connection="${connectionId}"]`);
  const badge = (scope: Locator | Page) => scope.locator('[data-phase]').first();

  async function screenshot(name: string, target: Locator | Page = page) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const file = path.join(SCREENSHOTS, `${name}.png`);
    if ('goto' in target) await target.screenshot({ path: file, fullPage: true });
    else await target.screenshot({ path: file });
  }

  async function openConnection(tab = '') {
    await page.goto(`${stack.api.url}/c/${connectionId}${tab}`);
    await page.getByRole('heading', { level: 1, name: 'alpha ↔ beta' }).waitFor();
  }

  beforeAll(async () => {
    // The API serves web/dist; a test run on its own (not through npm test) builds it here.
    await ensureWebBuilt(() => undefined);
    previousUiUrl = process.env.TEMPORAL_UI_URL;
    process.env.TEMPORAL_UI_URL = TEMPORAL_UI;
    stack = await startStack({
      instances: { alpha: { token: 'alpha-dash-token' }, beta: { token: 'beta-dash-token', requiredFields: ['company'] } },
    });
    alpha = stack.sandbox.instance('alpha');
    beta = stack.sandbox.instance('beta');
    alpha.seed({ count: 30, start: 0 });
    refused = alpha.create({ first_name: 'Ada', last_name: 'Nocompany', emails: [{ type: 'work', value: 'ada@nocompany.example' }] });
    alpha.create({ first_name: HOSTILE, company: 'Hostile Ltd', emails: [{ type: 'work', value: 'hostile@example.com' }] });
    connectionId = await stack.connect('alpha', 'beta', { pollIntervalSeconds: POLL_SECONDS, deletions: { policy: 'delete' } });
    await eventually(async () => (await stack.status(connectionId))?.phase === 'running', 'the initial sync to finish', 120_000);
    expect(beta.count()).toBe(31);

    browser = await launchChromium(chromiumPath!);
    page = await browser.context.newPage();
    // The width the dashboard is made to read well at.
    await page.setViewportSize({ width: 1280, height: 900 });
    page.setDefaultTimeout(30_000);
    page.on('dialog', (dialog) => {
      dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss();
    });
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  afterAll(async () => {
    if (stack) {
      await terminateAll(stack, connectionId ? [connectionId] : []);
      for await (const wf of stack.client.workflow.list({ query: `WorkflowType = "contactFailureWorkflow" AND ConnectionId = "${connectionId}"` })) {
        await stack.client.workflow.getHandle(wf.workflowId).terminate().catch(() => undefined);
      }
    }
    await browser?.close();
    await stack?.close();
    if (previousUiUrl === undefined) delete process.env.TEMPORAL_UI_URL;
    else process.env.TEMPORAL_UI_URL = previousUiUrl;
  });

  it('signs in with an API key into a session cookie the page cannot read, and shows the workspace', async () => {
    const first = await page.goto(stack.api.url);
    // The policy the page runs under: the console check at the end is about this one.
    expect(first?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.getByLabel('API key').fill('rk_not_a_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: /invalid/i }).waitFor();

    await page.getByLabel('API key').fill(stack.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('workspace-name').waitFor();
    expect((await page.getByTestId('workspace-name').innerText()).trim()).not.toBe('');
    // Evaluated in the page (the root tsconfig has no DOM types, hence globalThis).
    const stored = await page.evaluate(() => {
      const w = globalThis as any;
      return { cookie: w.document.cookie, local: w.localStorage.length, session: w.sessionStorage.length };
    });
    expect(stored).toEqual({ cookie: '', local: 0, session: 0 });
    const cookies = await browser.context.cookies(stack.api.url);
    expect(cookies.find((c) => c.name === 'rapport_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

    // A reload keeps the session (GET /session), with nothing kept in the page.
    await page.reload();
    await page.getByTestId('workspace-name').waitFor();
  });

  it('lists the connection with both apps, its phase and a non-zero count in sync', async () => {
    await row().waitFor();
    await expect.poll(() => badge(row()).getAttribute('data-phase')).toBe('running');
    await expect.poll(async () => Number((await row().getByTestId('in-sync').innerText()).replace(/\D/g, '') || 0)).toBeGreaterThan(0);
    // Ada, refused by beta, is the one contact that does not sync.
    await expect.poll(() => row().getByTestId('failures').innerText()).toBe('1');
    const text = await row().innerText();
    expect(text).toContain('sandbox · alpha');
    expect(text).toContain('sandbox · beta');
    await screenshot('overview');
  });

  it("shows the initial sync's creates in the 24-hour chart, and the hostile name as text", async () => {
    await openConnection();
    const createdOnB = page.locator('table.totals tr[data-side="b"] td[data-kind="created"]');
    await expect.poll(() => createdOnB.innerText()).toBe('31');
    // The chart itself is a canvas with bars drawn; it must have been laid out, not left blank.
    const canvas = page.locator('.activity-chart canvas').nth(1);
    expect((await canvas.boundingBox())?.height).toBeGreaterThan(100);
    await screenshot('activity-chart', page.locator('.activity-chart'));

    const hostile = page.locator('table.events .contact-name', { hasText: HOSTILE });
    await hostile.first().waitFor();
    expect(await hostile.first().innerText()).toBe(HOSTILE);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    await screenshot('activity');

    const workflow = page.getByRole('link', { name: 'Workflow in Temporal UI' });
    expect(await workflow.getAttribute('href')).toBe(`${TEMPORAL_UI}/namespaces/default/workflows/${encodeURIComponent(`connection:${connectionId}`)}`);
  });

  it("shows a failed contact in Health with the app's message, and Retry turns it in sync once the cause is fixed", async () => {
    await openConnection('/health');
    await page.getByRole('button', { name: /^Failed/ }).click();
    const failed = page.locator(`tr[data-contact="a:${refused.id}"]`);
    await failed.waitFor();
    expect(await failed.getAttribute('data-status')).toBe('failed');
    expect(await failed.innerText()).toContain(APP_MESSAGE);
    const caseLink = failed.getByRole('link', { name: 'case in Temporal UI' });
    expect(await caseLink.getAttribute('href')).toBe(
      `${TEMPORAL_UI}/namespaces/default/workflows/${encodeURIComponent(`contact-failure:${connectionId}:a:${refused.id}`)}`,
    );
    await screenshot('health');

    // 64 contacts over both sides: two pages of 50, paged by the server.
    await page.getByRole('button', { name: /^All/ }).click();
    const rows = page.locator('table.contacts tbody tr');
    await expect.poll(() => rows.count()).toBe(50);
    const firstOfPage1 = await rows.first().getAttribute('data-contact');
    await page.getByRole('button', { name: 'Next →' }).click();
    await page.getByText('Page 2').waitFor();
    await expect.poll(() => rows.first().getAttribute('data-contact')).not.toBe(firstOfPage1);
    expect(await rows.count()).toBeLessThan(50);

    await page.getByLabel('Search name or email').fill('nocompany');
    await page.locator('table.contacts tbody tr').first().waitFor();
    await expect.poll(() => page.locator('table.contacts tbody tr').count()).toBe(1);

    // The cause: beta requires a company. Fixed in the app, then retried from the page.
    beta.configure({ requiredFields: [] });
    // The case's own schedule would retry in 20 minutes: what turns it is this click.
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && /\/failures\/[^/]+\/retry$/.test(new URL(r.url()).pathname)),
      failed.getByRole('button', { name: 'Retry' }).click(),
    ]);
    expect(answer.status()).toBe(202);
    await expect.poll(() => failed.getAttribute('data-status'), { timeout: 60_000 }).toBe('in-sync');
    expect(partnerOf(refused)).toBeDefined();
    await screenshot('health-after-retry');
  });

  it('lists an update in the recent events with the contact, and the field it changed from what to what', async () => {
    const edited = alpha.all().find((c) => c.company && c.job_title && c.first_name !== HOSTILE)!;
    alpha.update(edited.id, { job_title: 'Chief Tester' });
    await openConnection();
    // "Sync now" says it is syncing, then what the cycle did.
    await page.locator('.connection-header').getByRole('button', { name: 'Sync now' }).click();
    const result = page.locator('.connection-header .action-result');
    await expect.poll(() => result.innerText(), { timeout: 60_000 }).toMatch(/^Cycle \d+: /);
    const update = page.locator('table.events tr[data-kind="updated"]').filter({ hasText: 'Chief Tester' });
    await update.first().waitFor({ timeout: 60_000 });
    const text = await update.first().innerText();
    expect(text).toContain(`${edited.first_name} ${edited.last_name}`);
    expect(text).toContain(`${edited.job_title} → Chief Tester`);
    await screenshot('activity-update', page.locator('table.events'));
  });

  it('pauses and resumes from the overview, and no write reaches either app while paused', async () => {
    await page.goto(stack.api.url);
    await row().waitFor();
    await expect.poll(() => badge(row()).getAttribute('data-phase')).toBe('running');
    await row().getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => badge(row()).getAttribute('data-phase')).toBe('paused');
    await row().getByRole('status').filter({ hasText: 'Paused' }).waitFor();

    const before = { alpha: alpha.stats().writes, beta: beta.stats().writes };
    const pausedAt = Date.now();
    const added = alpha.create({ first_name: 'Made', last_name: 'WhilePaused', company: 'Paused Inc', emails: [{ type: 'work', value: 'paused@example.com' }] });
    // The condition: two of the connection's poll intervals have gone by, each of which would have carried the
    // new contact over had the connection not been paused.
    await eventually(() => Date.now() - pausedAt > 2 * POLL_SECONDS * 1000, 'two poll intervals');
    expect(await badge(row()).getAttribute('data-phase')).toBe('paused');
    expect({ alpha: alpha.stats().writes, beta: beta.stats().writes }).toEqual({ alpha: before.alpha + 1, beta: before.beta });
    expect(partnerOf(added)).toBeUndefined();

    await row().getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => badge(row()).getAttribute('data-phase')).toBe('running');
    await eventually(() => partnerOf(added), 'the contact made while paused to arrive after resuming');
  });

  it("shows the safety brake's banner with what it holds, and Confirm lets the deletions through", async () => {
    await openConnection();
    const seeded = alpha.all().filter((c) => c.company && c.first_name !== HOSTILE && c.id !== refused.id);
    const gone = seeded.slice(0, 5);
    const bBefore = beta.count();
    for (const c of gone) alpha.remove(c.id);

    const banner = page.getByTestId('brake-banner');
    await banner.waitFor({ timeout: 60_000 });
    expect(await banner.innerText()).toMatch(/5 of \d+ linked contacts/);
    await expect.poll(() => badge(page.locator('.connection-header')).getAttribute('data-phase')).toBe('needs-confirmation');
    // Before Confirm, the banner says which contacts it would delete on the other side, each by name.
    const held = banner.getByRole('table', { name: 'Deletions held' }).locator('tbody tr');
    await expect.poll(() => held.count(), { timeout: 10_000 }).toBe(gone.length);
    for (const c of gone) {
      const line = held.filter({ hasText: `${c.first_name} ${c.last_name}` });
      expect(await line.count(), `${c.first_name} ${c.last_name} is listed`).toBe(1);
      expect(await line.innerText()).toContain('its linked contact is deleted in');
    }
    expect(beta.count()).toBe(bBefore);
    await screenshot('safety-brake');

    await banner.getByRole('button', { name: 'Confirm deletions' }).click();
    await eventually(() => beta.count() === bBefore - 5, 'the confirmed deletions');
    for (const c of gone) expect(partnerOf(c)).toBeUndefined();
    await banner.waitFor({ state: 'detached' });
  });

  it('refuses a state-changing request that lacks the CSRF token', async () => {
    const answers = await page.evaluate(async (id) => {
      const post = async (headers: Record<string, string>) => {
        const res = await fetch(`/connections/${id}/pause`, { method: 'POST', headers });
        return { status: res.status, code: ((await res.json()) as { error?: { code?: string } }).error?.code };
      };
      return { none: await post({}), wrong: await post({ 'X-CSRF-Token': 'not-the-token' }) };
    }, connectionId);
    expect(answers).toEqual({ none: { status: 403, code: 'csrf' }, wrong: { status: 403, code: 'csrf' } });
    expect((await stack.status(connectionId))?.phase).not.toBe('paused');
  });

  it('signs out: the session is over on the server too', async () => {
    const cookie = (await browser.context.cookies(stack.api.url)).find((c) => c.name === 'rapport_session')!;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    const replayed = await fetch(`${stack.api.url}/connections`, { headers: { cookie: `rapport_session=${cookie.value}` } });
    expect(replayed.status).toBe(401);
  });

  it('ran without a CSP violation, a script error or a dialog', () => {
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(dialogs).toEqual([]);
    expect(existsSync(path.join(SCREENSHOTS, 'overview.png'))).toBe(true);
  });
});
