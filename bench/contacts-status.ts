// The Health tab's listing at scale: GET /connections/:id/contacts over 100,000 contacts a side, on
// PostgreSQL, through the real HTTP app. Figures for the README, not a test: timings depend on the machine.
//
//   npx tsx bench/contacts-status.ts              100,000 contacts a side
//   npx tsx bench/contacts-status.ts -n 20000     fewer
//
// Env: BENCH_DATABASE_URL (a PostgreSQL server; a fresh database is created on it and dropped after).
// Also run by `npm run bench` (bench/main.ts) unless --skip-contacts.
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { createApp } from '../api/app';
import type { ConnectionControlPort } from '../api/control';
import { createLogger } from '../api/logging';
import { openDatabase, type Database } from '../db/client';
import { createApiKey, createWorkspace } from '../db/queries/api-keys';
import { insertConnection } from '../db/queries/connections';
import { countContacts, encodeContactCursor } from '../db/queries/contacts';
import { newId } from '../db/queries/ids';
import { connectionSettingsSchema } from '../sync/settings';

export interface ContactsBenchFigure {
  label: string;
  /** median of the runs, and the slowest */
  medianMs: number;
  maxMs: number;
  rows: number;
}

const note = (line: string) => process.stderr.write(`[bench contacts] ${line}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const RUNS = 7;

/** The contacts of both sides, as the engine leaves them after an initial sync with some trouble. */
async function load(database: Database, connectionId: string, n: number): Promise<void> {
  const { db } = database;
  // Per side: 90% linked and in sync, 2% excluded by the rules, 1% without email, 1% dirty, the rest unlinked
  // (pending); on side a 0.5% failed and 0.2% ambiguous. Ids are hashes, as apps' ids are in no useful order.
  await db.execute(sql`
    INSERT INTO records (connection_id, side, ext_id, version, fields, emails, dirty, excluded_by)
    SELECT ${connectionId}, s.side, s.side || '-' || md5(s.side || i), '1',
      jsonb_build_object('first_name', 'First' || i, 'last_name', 'Last' || (i % 5000), 'company', 'Company ' || (i % 300),
        'email_1', CASE WHEN i % 100 = 7 THEN NULL ELSE 'person' || i || '@example' || (i % 50) || '.com' END,
        'job_title', 'Title ' || (i % 40), 'phone_work', '+1 555 ' || lpad(i::text, 7, '0')),
      CASE WHEN i % 100 = 7 THEN '{}'::text[] ELSE ARRAY['person' || i || '@example' || (i % 50) || '.com'] END,
      i % 100 = 3,
      CASE WHEN i % 50 = 1 THEN 'rules' END
    FROM generate_series(0, ${n - 1}) AS i, (VALUES ('a'), ('b')) AS s(side)`);
  await db.execute(sql`
    INSERT INTO links (connection_id, a_id, b_id, baseline_a, baseline_b)
    SELECT ${connectionId}, 'a-' || md5('a' || i), 'b-' || md5('b' || i), '{}'::jsonb, '{}'::jsonb
    FROM generate_series(0, ${n - 1}) AS i
    WHERE i % 10 <> 9 AND i % 50 <> 1 AND i % 100 <> 7`);
  await db.execute(sql`
    INSERT INTO failures (connection_id, side, ext_id, step, kind, message, attempts)
    SELECT ${connectionId}, 'a', 'a-' || md5('a' || i), CASE WHEN i % 1000 = 9 THEN 'match' ELSE 'create' END,
      CASE WHEN i % 1000 = 9 THEN 'ambiguous' ELSE 'contact' END,
      CASE WHEN i % 1000 = 9 THEN 'ambiguous match: 2 contacts on the other side share the email x@example.com (b-1, b-2)'
           ELSE 'Field "Industry" is required' END,
      1 + i % 4
    FROM generate_series(0, ${n - 1}) AS i
    WHERE i % 10 = 9 AND (i % 200 = 9 OR i % 1000 = 9)`);
  await db.execute(sql`ANALYZE records`);
  await db.execute(sql`ANALYZE links`);
  await db.execute(sql`ANALYZE failures`);
}

const noControl = new Proxy({} as ConnectionControlPort, {
  get: () => async () => {
    throw new Error('not used by this benchmark');
  },
});

export async function runContactsBench(opts: { contactsPerSide?: number; databaseUrl?: string } = {}): Promise<ContactsBenchFigure[]> {
  const n = opts.contactsPerSide ?? 100_000;
  const serverUrl = opts.databaseUrl ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `rapport_bench_contacts_${randomBytes(4).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let database: Database | null = null;
  let server: Server | null = null;
  try {
    database = await openDatabase({ url: url.toString() });
    const ws = await createWorkspace(database.db, 'Bench');
    const { key } = await createApiKey(database.db, ws.id, 'bench');
    const row = await insertConnection(database.db, {
      id: newId('con'),
      workspaceId: ws.id,
      name: 'bench',
      appA: 'sandbox',
      appB: 'sandbox',
      scopeA: {},
      scopeB: {},
      credentialsA: 'unused',
      credentialsB: 'unused',
      settings: connectionSettingsSchema.parse({ rules: { aToB: [{ filter: { field: 'company', operator: 'contains', value: 'Company 1' } }] } }),
    });
    const t0 = performance.now();
    await load(database, row.id, n);
    note(`loaded ${fmt(n)} contacts a side in ${fmt(performance.now() - t0)} ms`);

    const app = createApp({ db: database.db, control: noControl, masterKey: randomBytes(32), logger: createLogger({ level: 'warn' }) });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/connections/${row.id}/contacts`;
    const call = async (qs: string) => {
      const res = await fetch(`${base}?${qs}`, { headers: { authorization: `Bearer ${key}` } });
      if (res.status !== 200) throw new Error(`GET ${qs}: ${res.status} ${await res.text()}`);
      return (await res.json()) as { contacts: unknown[]; nextCursor: string | null };
    };

    // A cursor three quarters of the way through: the position a person reaches by paging far.
    const [deep] = (await database.db.execute(sql`
      SELECT side, ext_id AS "extId" FROM records WHERE connection_id = ${row.id}
      ORDER BY side, ext_id OFFSET ${Math.floor(n * 1.5)} LIMIT 1`)) as unknown as { side: 'a' | 'b'; extId: string }[];
    const deepCursor = encodeContactCursor(deep);

    const cases: [string, string][] = [
      ['first page (50)', 'limit=50'],
      ['deep page (at 75% of the contacts)', `limit=50&cursor=${deepCursor}`],
      ['status=failed (0.5% of side a)', 'status=failed&limit=50'],
      ['status=ambiguous (0.1% of side a)', 'status=ambiguous&limit=50'],
      ['status=excluded (2%)', 'status=excluded&limit=50'],
      ['status=no-email (1%)', 'status=no-email&limit=50'],
      ['status=pending (10%)', 'status=pending&limit=50'],
      ['status=in-sync, side=b, deep', `status=in-sync&side=b&limit=50&cursor=${deepCursor}`],
      ['search by name, many matches ("last12")', 'q=last12&limit=50'],
      ['search by email, one match', `q=person${n - 17}@&limit=50`],
      ['search, no match', 'q=nobody-is-called-this&limit=50'],
    ];
    const figures: ContactsBenchFigure[] = [];
    for (const [label, qs] of cases) {
      await call(qs); // warm: the first call plans the statement and fills the caches
      const times: number[] = [];
      let rows = 0;
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now();
        const body = await call(qs);
        times.push(performance.now() - t);
        rows = body.contacts.length;
      }
      times.sort((x, y) => x - y);
      figures.push({ label, medianMs: times[Math.floor(RUNS / 2)], maxMs: times[RUNS - 1], rows });
    }
    // The counts alone, as every request would pay without the cache (api/contacts.ts CountsCache).
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      await countContacts(database.db, row.id, { avoidDuplicates: true });
      times.push(performance.now() - t);
    }
    times.sort((x, y) => x - y);
    figures.push({ label: 'the counts alone, uncached (SQL only)', medianMs: times[Math.floor(RUNS / 2)], maxMs: times[RUNS - 1], rows: 6 });
    return figures;
  } finally {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await database?.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end({ timeout: 5 });
  }
}

export function printContactsBench(figures: ContactsBenchFigure[], contactsPerSide: number): void {
  const width = Math.max(...figures.map((f) => f.label.length));
  process.stdout.write(`\nContact statuses (GET /connections/:id/contacts), ${fmt(contactsPerSide)} contacts a side, PostgreSQL, HTTP round trip, median of ${RUNS}; counts from the 5 s cache except the last line\n\n`);
  process.stdout.write(`  ${'case'.padEnd(width)}  median    max    rows\n  ${'-'.repeat(width)}  ------  ------  ----\n`);
  for (const f of figures) {
    process.stdout.write(`  ${f.label.padEnd(width)}  ${`${fmt(f.medianMs)} ms`.padStart(6)}  ${`${fmt(f.maxMs)} ms`.padStart(6)}  ${String(f.rows).padStart(4)}\n`);
  }
  process.stdout.write('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { contacts: { type: 'string', short: 'n' } } });
  const n = values.contacts ? Number(values.contacts.replace(/[_,]/g, '')) : 100_000;
  if (!Number.isInteger(n) || n < 100) throw new Error(`-n must be an integer of at least 100, got ${values.contacts}`);
  runContactsBench({ contactsPerSide: n }).then(
    (figures) => {
      printContactsBench(figures, n);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`contacts benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
