// `npm start`: the whole product on one machine (embedded Temporal, PGlite unless DATABASE_URL, Sandbox app,
// worker, API) with a demo connection between two Sandbox accounts, so a first-time user sees a sync happen.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { asc, isNull } from 'drizzle-orm';
import { createApiKey } from '../db/queries/api-keys';
import { updateConnection } from '../db/queries/connections';
import { countUnresolvedContacts } from '../db/queries/ops';
import { connections, workspaces } from '../db/schema';
import type { ConnectionStatus } from '../workflows/messages';
import { startAllInOne, randomToken, type AllInOne } from './lib/runner';
import { preferredPort, projectRoot } from './lib/temporal';
import { ensureWebBuilt } from './lib/web';

const DEMO_INSTANCES = {
  // Persons 100..199 are on both sides, with the details a second app would hold differently (see sandboxes/kit/seed.ts).
  alpha: { count: 200, start: 0, seed: 1 },
  beta: { count: 200, start: 100, seed: 2 },
} as const;
const DEMO_POLL_SECONDS = 30;
const DEFAULT_SANDBOX_PORT = 4010;

const say = (line = '') => process.stdout.write(`${line}\n`);
const time = () => new Date().toTimeString().slice(0, 8);

interface DemoState {
  connectionId?: string;
  sandboxUrl?: string;
}

function readDemoState(file: string): DemoState {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DemoState;
  } catch {
    return {};
  }
}

function writeDemoState(file: string, state: DemoState): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, file);
}

function portFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`${name}=${raw} is not a port number`);
  return port;
}

/** Creates the two demo accounts on first start; their tokens stay in the Sandbox's own saved state. */
function ensureDemoInstances(app: AllInOne): boolean {
  let seeded = false;
  for (const [name, seed] of Object.entries(DEMO_INSTANCES)) {
    if (app.sandbox.instances().some((i) => i.name === name)) continue;
    const instance = app.sandbox.addInstance(name, { token: randomToken(name) });
    instance.seed({ ...seed });
    seeded = true;
  }
  return seeded;
}

async function liveConnections(app: AllInOne) {
  return app.database.db.select().from(connections).where(isNull(connections.deletedAt)).orderBy(asc(connections.createdAt));
}

/** The key to create the demo connection with: the first key when this start made it, else a new one (printed). */
async function keyForCreating(app: AllInOne): Promise<{ key: string; minted: boolean }> {
  if (app.api.firstApiKey) return { key: app.api.firstApiKey, minted: false };
  const [workspace] = await app.database.db.select().from(workspaces).orderBy(asc(workspaces.createdAt)).limit(1);
  if (!workspace) throw new Error('The database has API keys but no workspace; it looks damaged.');
  const created = await createApiKey(app.database.db, workspace.id, 'demo (npm start)');
  return { key: created.key, minted: true };
}

async function createDemoConnection(app: AllInOne, key: string): Promise<string> {
  const side = (name: keyof typeof DEMO_INSTANCES) => ({
    app: 'sandbox',
    credentials: { apiToken: app.sandbox.instance(name).config.token },
    scope: { baseUrl: app.sandbox.url, instance: name },
  });
  const res = await app.apiRequest(
    'POST',
    '/connections',
    { name: 'Demo: alpha ↔ beta', a: side('alpha'), b: side('beta'), settings: { pollIntervalSeconds: DEMO_POLL_SECONDS } },
    key,
  );
  if (res.status !== 201) throw new Error(`Creating the demo connection failed: POST /connections answered ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

/**
 * The Sandbox may have had to move to another port since the connection was made (its old one taken); the
 * connection's scope is repointed so the demo keeps working. Only URLs this script handed out are touched.
 */
async function repointSandbox(app: AllInOne, connectionId: string, previousUrl: string | undefined): Promise<void> {
  if (!previousUrl || previousUrl === app.sandbox.url) return;
  const row = (await liveConnections(app)).find((r) => r.id === connectionId);
  if (!row) return;
  const repointed = (appId: string, scope: Record<string, unknown>) =>
    appId === 'sandbox' && scope.baseUrl === previousUrl ? { ...scope, baseUrl: app.sandbox.url } : null;
  const scopeA = repointed(row.appA, row.scopeA);
  const scopeB = repointed(row.appB, row.scopeB);
  if (!scopeA && !scopeB) return;
  // Activities read the scope from the row on every call, so the next step already uses the new URL.
  await updateConnection(app.database.db, row.workspaceId, row.id, { ...(scopeA && { scopeA }), ...(scopeB && { scopeB }) });
  say(`The Sandbox moved from ${previousUrl} to ${app.sandbox.url} (the old port is taken); the demo connection now points there.`);
}

/** Starts the workflow again when it is not running, e.g. after temporal.db was deleted; a running one is left alone. */
async function ensureWorkflow(app: AllInOne, connectionId: string): Promise<void> {
  let running = false;
  try {
    const description = await app.client.workflow.getHandle(`connection:${connectionId}`).describe();
    running = description.status.name === 'RUNNING';
  } catch {
    running = false;
  }
  if (!running) {
    await app.control.start(connectionId);
    say(`The workflow of connection ${connectionId} was not running in Temporal; started it again (it rescans both sides).`);
  }
}

/**
 * One line of counts. Failed is the contacts that do not sync now (from the failures table), not the
 * workflow's count of failed writes, which grows with every retry of the same contact.
 */
function describeCounts(s: ConnectionStatus, failedContacts: number): string {
  const c = s.counts;
  const of = (side: 'a' | 'b') => (c.total[side] === null ? `${c.scanned[side]}` : `${c.scanned[side]}/${c.total[side]}`);
  const parts = [`scanned ${of('a')} | ${of('b')}`, `matched ${c.matched}`, `created ${c.created.a} | ${c.created.b}`];
  if (c.updated.a || c.updated.b) parts.push(`updated ${c.updated.a} | ${c.updated.b}`);
  if (c.deleted.a || c.deleted.b) parts.push(`deleted ${c.deleted.a} | ${c.deleted.b}`);
  parts.push(`failed contacts ${failedContacts}`);
  if (c.conflicts) parts.push(`conflicts ${c.conflicts}`);
  return parts.join(' · ');
}

/** Prints the initial sync as it goes, then the outcome of later cycles; stops when asked. */
function watchProgress(app: AllInOne, connectionId: string): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let lastKey = '';
  let announcedRunning = false;
  let lastError: string | null = null;
  let queryFailures = 0;
  let failedContacts = 0;

  const tick = async () => {
    let status: ConnectionStatus | null = null;
    try {
      status = await app.control.status(connectionId);
      queryFailures = 0;
    } catch (err) {
      // A workflow that has not run its first task cannot answer yet; only a lasting failure is worth a line.
      if (++queryFailures === 10) say(`[${time()}] the workflow does not answer its status query yet: ${err instanceof Error ? err.message : String(err)}`);
    }
    // The database is ours and answers while the workflow may not; the last count stands if it does not.
    failedContacts = await countUnresolvedContacts(app.database.db, connectionId).catch(() => failedContacts);
    if (stopped) return;
    if (status) {
      const phase = status.phase;
      const key = `${phase}|${describeCounts(status, failedContacts)}`;
      if (status.lastError && status.lastError !== lastError) say(`[${time()}] last error: ${status.lastError}`);
      lastError = status.lastError;
      if (phase === 'running' && !announcedRunning) {
        announcedRunning = true;
        const alpha = app.sandbox.instance('alpha').count();
        const beta = app.sandbox.instance('beta').count();
        say(`[${time()}] ${'running'.padEnd(12)} ${describeCounts(status, failedContacts)}`);
        say('');
        say(`✔ Demo connection ${connectionId} is running: alpha has ${alpha} contacts, beta has ${beta} (cycle ${status.cycles}).`);
        say(`  Edit a contact in either Sandbox and it reaches the other side within ${DEMO_POLL_SECONDS} s (or POST /connections/${connectionId}/sync).`);
        say('  Press Ctrl-C to stop; a restart continues where this left off.');
        say('');
      } else if (key !== lastKey) {
        say(`[${time()}] ${phase.padEnd(12)} ${describeCounts(status, failedContacts)}`);
      }
      lastKey = key;
    }
    // Fast while the initial sync moves, calmer once it only polls.
    if (!stopped) timer = setTimeout(() => void tick(), announcedRunning ? 2_000 : 1_000);
  };
  void tick();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

function printWhere(app: AllInOne, connectionId: string, apiKey: string | null, keyNote: string): void {
  const ui = app.temporal.uiUrl;
  const keyShown = apiKey ?? '$RAPPORT_API_KEY';
  say('');
  say('Rapport is up.');
  say(`  Dashboard        ${app.api.url}/   (sign in with the API key below)`);
  say(`  API              ${app.api.url}   (OpenAPI: ${app.api.url}/openapi.json)`);
  say(`  Temporal         ${app.temporal.address}${app.temporal.embedded ? ' (embedded dev server)' : ''}`);
  say(`  Temporal UI      ${ui ?? '(none: set TEMPORAL_UI_URL to link to your UI)'}`);
  const wf = app.workflowUrl(connectionId);
  if (wf) say(`  Demo workflow    ${wf}`);
  say(`  Sandbox alpha    ${app.sandbox.instanceUrl('alpha')}/v1/contacts`);
  say(`  Sandbox beta     ${app.sandbox.instanceUrl('beta')}/v1/contacts   (tokens in ${path.join(app.dataDir, 'sandbox')}/<name>.json)`);
  say(`  Data folder      ${app.dataDir}${app.database.driver === 'postgres' ? ' (database: DATABASE_URL)' : ''}`);
  say(`  Demo connection  ${connectionId}`);
  say('');
  if (apiKey) {
    say(`API key (shown once, store it now${keyNote}):`);
    say(`  ${apiKey}`);
  } else {
    const whenStopped = app.database.driver === 'pglite' ? ' after stopping this (the embedded database takes one process at a time)' : '';
    say(`API key: the one printed at the first start ${keyNote}. Make another with \`npm run api-key\`${whenStopped}.`);
  }
  say('');
  say('List connections:');
  say(`  curl -s -H "Authorization: Bearer ${keyShown}" ${app.api.url}/connections`);
  say('');
}

let app: AllInOne | null = null;

async function main(): Promise<void> {
  const dataDir = path.resolve(process.env.RAPPORT_DATA_DIR ?? path.join(projectRoot, '.data'));
  const stateFile = path.join(dataDir, 'demo.json');
  say(`Starting Rapport on this machine (data in ${dataDir})…`);
  // Before anything starts, so a failed build stops here rather than leaving a running stack without its page.
  await ensureWebBuilt(say);

  let watcher: { stop(): void } | null = null;
  let stopping: Promise<void> | null = null;
  const shutdown = (reason: string, code: number) => {
    if (stopping) return;
    say(`\n${reason}: stopping Rapport…`);
    stopping = (async () => {
      watcher?.stop();
      // A signal during startup waits for it to finish (below), so everything started gets stopped.
      await app?.close();
      say(code === 0 ? 'Stopped cleanly.' : 'Stopped.');
      process.exit(code);
    })();
  };
  let pendingSignal: NodeJS.Signals | null = null;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return say('Already stopping…');
      if (!app) {
        pendingSignal = signal;
        return say(`${signal}: will stop as soon as startup has finished…`);
      }
      shutdown(signal, 0);
    });
  }

  const saved = readDemoState(stateFile);
  const envSandboxPort = portFromEnv('RAPPORT_SANDBOX_PORT');
  const savedPort = saved.sandboxUrl ? Number(new URL(saved.sandboxUrl).port) : undefined;
  const sandboxPort = envSandboxPort ?? (await preferredPort(savedPort || DEFAULT_SANDBOX_PORT));

  app = await startAllInOne({
    dataDir,
    apiPort: portFromEnv('PORT'),
    sandboxPort,
    temporal: { port: portFromEnv('TEMPORAL_PORT'), uiPort: portFromEnv('TEMPORAL_UI_PORT') },
    log: (line) => say(line),
  });
  if (pendingSignal) return shutdown(pendingSignal, 0);

  const seeded = ensureDemoInstances(app);
  if (seeded) {
    const [a, b] = [app.sandbox.instance('alpha').count(), app.sandbox.instance('beta').count()];
    say(`Seeded the Sandbox: alpha with ${a} people, beta with ${b}; ${DEMO_INSTANCES.alpha.start + DEMO_INSTANCES.alpha.count - DEMO_INSTANCES.beta.start} are on both sides with different details.`);
  }

  const live = await liveConnections(app);
  let connectionId = live.find((r) => r.id === saved.connectionId)?.id ?? live[0]?.id ?? null;
  let shownKey: string | null = app.api.firstApiKey;
  let keyNote = '';
  if (connectionId) {
    await repointSandbox(app, connectionId, saved.sandboxUrl);
    await ensureWorkflow(app, connectionId);
    if (!app.api.firstApiKey) keyNote = '(no new key was made, the existing ones still work)';
    say(`Continuing with connection ${connectionId}.`);
  } else {
    const { key, minted } = await keyForCreating(app);
    if (minted) {
      shownKey = key;
      keyNote = ', made because the demo connection had to be created again';
    }
    connectionId = await createDemoConnection(app, key);
    say(`Created the demo connection ${connectionId} (alpha ↔ beta, poll every ${DEMO_POLL_SECONDS} s) through the API.`);
  }
  writeDemoState(stateFile, { connectionId, sandboxUrl: app.sandbox.url });

  printWhere(app, connectionId, shownKey, keyNote);
  watcher = watchProgress(app, connectionId);

  app.workerDone.then(
    () => {
      if (!stopping) shutdown('The worker stopped unexpectedly', 1);
    },
    (err: unknown) => {
      say(`The worker failed: ${err instanceof Error ? err.message : String(err)}`);
      shutdown('Worker failure', 1);
    },
  );
}

main().catch(async (err: unknown) => {
  process.stderr.write(`\nRapport could not start: ${err instanceof Error ? err.message : String(err)}\n`);
  if (process.env.DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  await app?.close().catch(() => undefined);
  process.exit(1);
});
