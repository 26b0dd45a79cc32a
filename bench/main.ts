// `npm run bench`: figures for the README and for spotting regressions by eye. It is not a test and gates
// nothing: timings depend on the machine. Everything runs in this process through scripts/lib/runner.ts,
// the same composition as `npm start`, against a fresh data folder and (by default) a fresh PostgreSQL database.
//
//   npm run bench                          N=10,000 contacts per side, 50 changes, PostgreSQL
//   BENCH_QUICK=1 npm run bench            N=500, 10 changes, planner at 10,000 per side
//   npm run bench -- -n 2000 --changes 20 --pglite --plan-batch-size 1000
//
// Env: BENCH_N, BENCH_CHANGES, BENCH_QUICK, BENCH_DATABASE_URL (a PostgreSQL server URL; a fresh database is
// created on it and dropped after), BENCH_DATABASE=pglite, TEMPORAL_ADDRESS (else an embedded dev server).
import { benchPlannerReport } from './planner';
import { activityProfile } from './profile';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import type { SandboxInstance } from '../sandboxes/sandbox';
import type { ConnectionStatus } from '../workflows/messages';
import { randomToken, startAllInOne, type AllInOne } from '../scripts/lib/runner';
import { freePort } from '../scripts/lib/temporal';

const quick = process.env.BENCH_QUICK === '1';
const { values: flags } = parseArgs({
  options: {
    contacts: { type: 'string', short: 'n' },
    changes: { type: 'string' },
    'planner-contacts': { type: 'string' },
    'page-size': { type: 'string' },
    'plan-batch-size': { type: 'string' },
    pglite: { type: 'boolean', default: false },
    'skip-sync': { type: 'boolean', default: false },
    'skip-carddav': { type: 'boolean', default: false },
    'skip-contacts': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help) {
  process.stdout.write(
    'usage: npm run bench -- [-n contacts per side] [--changes 50] [--planner-contacts 100000] [--page-size 100] ' +
      '[--plan-batch-size 500] [--pglite] [--skip-sync] [--skip-carddav] [--skip-contacts] [--json]\n',
  );
  process.exit(0);
}

function intOption(flag: string | undefined, env: string | undefined, fallback: number, name: string): number {
  const raw = flag ?? env;
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replace(/[_,]/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

const N = intOption(flags.contacts, process.env.BENCH_N, quick ? 500 : 10_000, 'contacts per side');
const CHANGES = intOption(flags.changes, process.env.BENCH_CHANGES, quick ? 10 : 50, 'changes');
const PLANNER_N = intOption(flags['planner-contacts'], undefined, quick ? 10_000 : 100_000, 'planner contacts');
const pageSize = flags['page-size'] ? intOption(flags['page-size'], undefined, 100, 'page size') : undefined;
const planBatchSize = flags['plan-batch-size'] ? intOption(flags['plan-batch-size'], undefined, 500, 'plan batch size') : undefined;

const note = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface Row {
  label: string;
  value: string;
}
const rows: Row[] = [];
const figures: Record<string, unknown> = {};
const record = (label: string, value: string) => rows.push({ label, value });

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  // Nearest rank: with 50 samples p95 is the 48th, an observed value rather than an interpolation.
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

// ---- database ---------------------------------------------------------------------------------------------

interface BenchDatabase {
  url?: string;
  label: string;
  drop(): Promise<void>;
}

async function benchDatabase(): Promise<BenchDatabase> {
  if (flags.pglite || process.env.BENCH_DATABASE === 'pglite') {
    return { label: 'PGlite (embedded)', drop: async () => {} };
  }
  const explicit = process.env.BENCH_DATABASE_URL;
  const serverUrl = explicit ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const admin = postgres(serverUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
  const name = `rapport_bench_${randomBytes(5).toString('hex')}`;
  let version = '';
  try {
    const [row] = await admin`show server_version`;
    version = String(row.server_version).split(' ')[0];
    await admin.unsafe(`create database ${name}`);
  } catch (err) {
    await admin.end({ timeout: 1 });
    if (explicit) throw new Error(`BENCH_DATABASE_URL: ${err instanceof Error ? err.message : String(err)}`);
    // Production runs on PostgreSQL, so that is the default; a machine without one still gets figures.
    note(`PostgreSQL does not answer at ${serverUrl} (${err instanceof Error ? err.message : String(err)}); using PGlite instead.`);
    return { label: 'PGlite (embedded; PostgreSQL not reachable)', drop: async () => {} };
  }
  await admin.end({ timeout: 1 });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    label: `PostgreSQL ${version} (fresh database ${name})`,
    async drop() {
      const sql = postgres(serverUrl, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  };
}

// ---- helpers on the running product ------------------------------------------------------------------------

function emailsOf(instance: SandboxInstance): string[] {
  return instance.all().flatMap((c) => c.emails.map((e) => e.value.trim().toLowerCase()));
}

function checkSides(alpha: SandboxInstance, beta: SandboxInstance): { ok: boolean; detail: string } {
  const a = emailsOf(alpha);
  const b = emailsOf(beta);
  const setA = new Set(a);
  const setB = new Set(b);
  const problems: string[] = [];
  if (setA.size !== a.length) problems.push(`alpha has ${a.length - setA.size} duplicate emails`);
  if (setB.size !== b.length) problems.push(`beta has ${b.length - setB.size} duplicate emails`);
  const onlyA = [...setA].filter((e) => !setB.has(e)).length;
  const onlyB = [...setB].filter((e) => !setA.has(e)).length;
  if (onlyA || onlyB) problems.push(`${onlyA} emails only in alpha, ${onlyB} only in beta`);
  const expected = Math.round(N * 1.5);
  if (alpha.count() !== expected || beta.count() !== expected) {
    problems.push(`expected ${fmt(expected)} contacts a side, got alpha ${fmt(alpha.count())}, beta ${fmt(beta.count())}`);
  }
  return problems.length
    ? { ok: false, detail: `FAILED: ${problems.join('; ')}` }
    : { ok: true, detail: `ok: ${fmt(alpha.count())} contacts a side, same ${fmt(setA.size)} emails, no duplicates` };
}

async function waitForStatus(
  app: AllInOne,
  id: string,
  done: (s: ConnectionStatus) => boolean,
  what: string,
  timeoutMs: number,
  everyMs = 50,
): Promise<ConnectionStatus> {
  const deadline = Date.now() + timeoutMs;
  let lastReport = Date.now();
  let last: ConnectionStatus | null = null;
  for (;;) {
    try {
      last = await app.control.status(id);
    } catch {
      // Not answering yet (no workflow task run so far); keep asking.
    }
    if (last && done(last)) return last;
    if (Date.now() - lastReport > 5_000 && last) {
      lastReport = Date.now();
      const c = last.counts;
      note(`  ${what}: ${last.phase}, scanned ${fmt(c.scanned.a)}|${fmt(c.scanned.b)}, matched ${fmt(c.matched)}, created ${fmt(c.created.a)}|${fmt(c.created.b)}, updated ${fmt(c.updated.a)}|${fmt(c.updated.b)}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last status ${JSON.stringify(last)}`);
    await sleep(everyMs);
  }
}

/** One change in `from`, timed until the other side holds it; the poll runs in-process every 20 ms. */
async function timeOneChange(
  from: SandboxInstance,
  to: SandboxInstance,
  contactId: string,
  value: string,
  afterWrite: () => Promise<void>,
  timeoutMs: number,
): Promise<number | null> {
  const email = from.find(contactId)!.emails[0].value;
  const [target] = to.findByEmail(email);
  if (!target) throw new Error(`no contact with ${email} on ${to.name}`);
  const t0 = performance.now();
  from.update(contactId, { job_title: value });
  await afterWrite();
  while (performance.now() - t0 < timeoutMs) {
    if (to.find(target.id)?.job_title === value) return performance.now() - t0;
    await sleep(20);
  }
  return null;
}

async function latencyRun(
  app: AllInOne,
  id: string,
  mode: 'poll' | 'sync-now',
  picks: { alpha: string[]; beta: string[] },
): Promise<{ samples: number[]; timeouts: number }> {
  const alpha = app.sandbox.instance('alpha');
  const beta = app.sandbox.instance('beta');
  const samples: number[] = [];
  let timeouts = 0;
  for (let i = 0; i < CHANGES; i++) {
    const fromAlpha = i % 2 === 0;
    const contactId = (fromAlpha ? picks.alpha : picks.beta).pop()!;
    const value = `Bench ${mode} #${i} ${randomBytes(3).toString('hex')}`;
    if (mode === 'sync-now') {
      // A fresh cycle per change: a signal that lands mid-cycle would measure the tail of the previous one too.
      await waitForStatus(app, id, (s) => !s.syncing, 'the previous cycle to end', 60_000, 10);
    } else {
      // Changes land anywhere in the 1 s poll interval, as a user's edits would.
      await sleep(Math.random() * 1000);
    }
    const ms = await timeOneChange(
      fromAlpha ? alpha : beta,
      fromAlpha ? beta : alpha,
      contactId,
      value,
      mode === 'sync-now' ? async () => void (await app.control.syncNow(id)) : async () => {},
      60_000,
    );
    if (ms === null) timeouts++;
    else samples.push(ms);
  }
  samples.sort((x, y) => x - y);
  return { samples, timeouts };
}

function pickContacts(instance: SandboxInstance, count: number): string[] {
  const all = instance.all();
  const picked = new Set<string>();
  // Spread over the whole id range so pages and batches near the start are not favoured.
  for (let i = 0; picked.size < Math.min(count, all.length); i++) {
    picked.add(all[Math.floor(((i * 7919) % all.length))].id);
  }
  return [...picked];
}

// ---- cases ----------------------------------------------------------------------------------------------------

async function syncCases(): Promise<void> {
  const database = await benchDatabase();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rapport-bench-'));
  let app: AllInOne | null = null;
  let connectionId: string | null = null;
  const cleanup = async () => {
    if (app && connectionId) {
      await app.client.workflow
        .getHandle(`connection:${connectionId}`)
        .terminate('benchmark finished')
        .catch(() => undefined);
    }
    await app?.close();
    await database.drop().catch((err: unknown) => note(`could not drop the database: ${String(err)}`));
    rmSync(dataDir, { recursive: true, force: true });
  };
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    note('interrupted: cleaning up…');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    note(`database: ${database.label}`);
    app = await startAllInOne({
      dataDir,
      apiPort: 0,
      sandboxPort: 0,
      temporal: { port: await freePort(), uiPort: false },
      databaseUrl: database.url,
      taskQueue: `bench-${randomUUID()}`,
      workerOptions: { pageSize, planBatchSize },
      log: (line) => {
        if (line.trim()) note(line);
      },
    });
    const key = app.api.firstApiKey;
    if (!key) throw new Error('a fresh data folder should have produced a first API key');
    figures.setup = {
      database: database.label,
      temporal: app.temporal.embedded ? 'embedded dev server (SQLite file)' : app.temporal.address,
      pageSize: pageSize ?? 100,
      planBatchSize: planBatchSize ?? 500,
    };

    const alpha = app.sandbox.addInstance('alpha', { token: randomToken('alpha') });
    const beta = app.sandbox.addInstance('beta', { token: randomToken('beta') });
    // Persons N/2..N-1 exist on both sides (matched by email), with the details a second app holds differently.
    alpha.seed({ count: N, start: 0, seed: 1 });
    beta.seed({ count: N, start: Math.floor(N / 2), seed: 2 });
    note(`seeded alpha and beta with ${fmt(N)} contacts each, ${fmt(N - Math.floor(N / 2))} of them shared`);

    // (a) initial sync
    const side = (name: string) => ({
      app: 'sandbox',
      credentials: { apiToken: app!.sandbox.instance(name).config.token },
      scope: { baseUrl: app!.sandbox.url, instance: name },
    });
    const t0 = performance.now();
    const created = await app.apiRequest('POST', '/connections', {
      name: 'bench',
      a: side('alpha'),
      b: side('beta'),
      settings: { pollIntervalSeconds: 3600 },
    });
    if (created.status !== 201) throw new Error(`POST /connections: ${created.status} ${JSON.stringify(created.body)}`);
    connectionId = created.body.id as string;
    const id = connectionId;
    note(`(a) initial sync of ${fmt(N)} contacts per side…`);
    const atRunning = await waitForStatus(app, id, (s) => s.phase === 'running', 'the initial sync', 60 * 60_000);
    const initialMs = performance.now() - t0;
    const total = alpha.count() + beta.count();
    const check = checkSides(alpha, beta);
    record(`(a) initial sync, ${fmt(N)}/side: wall time`, seconds(initialMs));
    record('(a) throughput (contacts on both sides at the end / s)', `${fmt(total / (initialMs / 1000))} contacts/s (${fmt(total)} contacts)`);
    record('(a) outcome', check.detail);
    const c = atRunning.counts;
    record('(a) counts', `matched ${fmt(c.matched)}, created ${fmt(c.created.a)}|${fmt(c.created.b)}, updated ${fmt(c.updated.a)}|${fmt(c.updated.b)}, failed ${c.failed}`);
    const steps = await activityProfile(app.client, `connection:${id}`);
    for (const st of steps) {
      record(`(a) step ${st.activity}`, `${fmt(st.count)} × ${fmt(st.meanMs)} ms = ${seconds(st.totalMs)}`);
    }
    figures.initial = { steps, contactsPerSide: N, ms: Math.round(initialMs), contactsPerSecond: Math.round(total / (initialMs / 1000)), total, check, counts: c };

    // The first cycle reads back the engine's own writes from both change feeds; latency is measured after it.
    const tEcho = performance.now();
    await waitForStatus(app, id, (s) => s.cycles >= 1 && !s.syncing, 'the first incremental cycle', 30 * 60_000);
    const echoMs = performance.now() - tEcho;
    record('(a) first incremental cycle after it (reads back own writes)', seconds(echoMs));
    figures.echoCycleMs = Math.round(echoMs);
    const after = checkSides(alpha, beta);
    if (!after.ok) record('(a) outcome after the first cycle', after.detail);

    // (b) incremental latency
    const picks = { alpha: pickContacts(alpha, CHANGES), beta: pickContacts(beta, CHANGES) };
    const patch = await app.apiRequest('PATCH', `/connections/${id}`, { settings: { pollIntervalSeconds: 1 } });
    if (patch.status !== 200) throw new Error(`PATCH /connections/${id}: ${patch.status} ${JSON.stringify(patch.body)}`);
    await waitForStatus(app, id, (s) => !s.syncing && s.nextCycleAt !== null && Date.parse(s.nextCycleAt) - Date.now() < 2_000, 'the 1 s poll interval', 60_000);
    note(`(b) ${CHANGES} changes with a 1 s poll interval…`);
    const polled = await latencyRun(app, id, 'poll', picks);

    const patchBack = await app.apiRequest('PATCH', `/connections/${id}`, { settings: { pollIntervalSeconds: 3600 } });
    if (patchBack.status !== 200) throw new Error(`PATCH /connections/${id}: ${patchBack.status}`);
    await waitForStatus(app, id, (s) => !s.syncing && s.nextCycleAt !== null && Date.parse(s.nextCycleAt) - Date.now() > 60_000, 'the 1 h poll interval', 60_000);
    note(`(b) ${CHANGES} changes with "sync now" (poll interval 1 h)…`);
    const pushed = await latencyRun(app, id, 'sync-now', { alpha: pickContacts(alpha, CHANGES * 2).slice(CHANGES), beta: pickContacts(beta, CHANGES * 2).slice(CHANGES) });

    for (const [label, run] of [
      ['(b) change → other side, poll every 1 s', polled],
      ['(b) change → other side, "sync now" signal', pushed],
    ] as const) {
      const lost = run.timeouts ? `, ${run.timeouts} not arrived within 60 s` : '';
      record(
        `${label}: median / p95`,
        `${fmt(percentile(run.samples, 50))} ms / ${fmt(percentile(run.samples, 95))} ms (${run.samples.length} changes, min ${fmt(run.samples[0] ?? NaN)}, max ${fmt(run.samples[run.samples.length - 1] ?? NaN)}${lost})`,
      );
    }
    figures.latency = {
      poll1s: { medianMs: Math.round(percentile(polled.samples, 50)), p95Ms: Math.round(percentile(polled.samples, 95)), n: polled.samples.length, timeouts: polled.timeouts },
      syncNow: { medianMs: Math.round(percentile(pushed.samples, 50)), p95Ms: Math.round(percentile(pushed.samples, 95)), n: pushed.samples.length, timeouts: pushed.timeouts },
    };
    const final = checkSides(alpha, beta);
    if (!final.ok) record('(b) outcome', final.detail);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (!interrupted) await cleanup();
  }
}

function plannerCase(): void {
  note(`(c) planner with ${fmt(PLANNER_N)} contacts per side…`);
  const report = benchPlannerReport(PLANNER_N);
  record(`(c) planner, initial sync, ${fmt(PLANNER_N)}/side`, `${fmt(report.initial.contactsPerSecond)} contacts/s (${fmt(report.initial.contacts)} contacts in ${seconds(report.initial.ms)}, ${fmt(report.initial.ops)} ops)`);
  record(`(c) planner, incremental, ${fmt(PLANNER_N)} edits`, `${fmt(report.incremental.contactsPerSecond)} contacts/s (${seconds(report.incremental.ms)}, ${fmt(report.incremental.ops)} ops)`);
  figures.planner = report;
}

function printTable(): void {
  const width = Math.max(...rows.map((r) => r.label.length));
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const setup = figures.setup as { database: string; temporal: string; pageSize: number; planBatchSize: number } | undefined;
  process.stdout.write('\nRapport benchmark\n');
  process.stdout.write(`  machine: ${availableParallelism()} × ${cpu}, Node ${process.version}\n`);
  if (setup) {
    process.stdout.write(`  database: ${setup.database}; Temporal: ${setup.temporal}\n`);
    process.stdout.write(`  worker: pageSize ${setup.pageSize} (Sandbox caps pages at 100), planBatchSize ${setup.planBatchSize}\n`);
  }
  process.stdout.write(`  ${fmt(N)} contacts per side, ${CHANGES} changes per latency run${quick ? ' (BENCH_QUICK)' : ''}\n\n`);
  process.stdout.write(`  ${'case'.padEnd(width)}  figure\n  ${'-'.repeat(width)}  ${'-'.repeat(40)}\n`);
  for (const r of rows) process.stdout.write(`  ${r.label.padEnd(width)}  ${r.value}\n`);
  process.stdout.write('\n');
  if (flags.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
}

async function main(): Promise<void> {
  let failed: unknown = null;
  if (!flags['skip-sync']) {
    try {
      await syncCases();
    } catch (err) {
      failed = err;
      record('(a)/(b) sync cases', `FAILED: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  plannerCase();
  printTable();
  // The Health tab's listing at 100,000 contacts a side (10,000 with BENCH_QUICK), on PostgreSQL: its own table.
  if (!flags['skip-contacts']) {
    try {
      const { runContactsBench, printContactsBench } = await import('./contacts-status');
      const perSide = quick ? 10_000 : 100_000;
      printContactsBench(await runContactsBench({ contactsPerSide: perSide }), perSide);
    } catch (err) {
      process.stdout.write(`\nContact-status benchmark FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
      failed = err;
    }
  }
  // CardDAV beside vdirsyncer, on a real Radicale: it prints its own table.
  if (!flags['skip-carddav']) {
    try {
      const { runCardDavBench } = await import('./carddav/main');
      await runCardDavBench({});
    } catch (err) {
      process.stdout.write(`\nCardDAV benchmark FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
      failed = err;
    }
  }
  if (failed) process.exitCode = 1;
}

main().then(
  // The Temporal native runtime can keep the event loop alive after everything is closed.
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
