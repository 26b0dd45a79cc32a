// The CardDAV benchmark: Rapport (API, worker and Temporal, composed as `npm start` does) beside vdirsyncer,
// on identical copies of the same Radicale data. Figures for the docs, not a test: timings depend on the machine.
//
//   npx tsx bench/carddav/main.ts              1,000 contacts per book, 100 edits, 10,000 for the quiet cycle
//   BENCH_QUICK=1 npx tsx bench/carddav/main.ts  100 contacts, 20 edits, 1,000 for the quiet cycle
//
// vdirsyncer links cards by UID and Rapport by email, so the timed runs give the shared people one UID on both
// sides; one more run gives them different UIDs, to show what each tool then does.
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { CardDavClient } from '../../connectors/carddav/client';
import { applyFields, cardFields, newCard, parseCard, printCard } from '../../connectors/carddav/vcard';
import { person } from '../../sandboxes/sandbox';
import { startAllInOne, type AllInOne } from '../../scripts/lib/runner';
import { freePort } from '../../scripts/lib/temporal';
import { connectionWorkflowId } from '../../client';
import { startRadicale, type Radicale } from '../../sandboxes/carddav/radicale';

export interface CardDavBenchOptions {
  /** Contacts per address book in the initial sync (half of them shared). */
  contacts?: number;
  /** Cards edited on one side before the incremental cycle. */
  edits?: number;
  /** Contacts per address book for the cycle with no change. */
  quietContacts?: number;
  /** Contacts per book in the run where shared people have different UIDs. */
  uidRunContacts?: number;
  /** PUTs timed to measure Radicale's own write rate. */
  putProbe?: number;
  /** PostgreSQL server URL for a fresh database; PGlite when absent and none answers locally. */
  databaseUrl?: string;
  log?: (line: string) => void;
}

const USER = 'bench';
const PASSWORD = 'bench-password';
const now = () => performance.now();
const sec = (ms: number) => Math.round(ms) / 1000;

interface Card {
  name: string;
  vcard: string;
}

/** Person i as a vCard 3.0, from the Sandbox's generator; `seed` varies the details the way two apps differ. */
function card(i: number, seed: number, uid: string): Card {
  const p = person(i, seed);
  const phone = (type: string) => p.phones?.find((x) => x.type === type)?.value ?? null;
  const comp = newCard(uid, {
    'N.given': p.first_name ?? null,
    'N.surname': p.last_name ?? null,
    'ORG.name': p.company ?? null,
    TITLE: p.job_title ?? null,
    'EMAIL.1': p.emails?.[0]?.value ?? null,
    'EMAIL.2': p.emails?.[1]?.value ?? null,
    'TEL.cell': phone('mobile'),
    'TEL.work': phone('work'),
    'ADR.street': p.address?.street ?? null,
    'ADR.locality': p.address?.city ?? null,
    'ADR.region': p.address?.region ?? null,
    'ADR.code': p.address?.postal_code ?? null,
    'ADR.country': p.address?.country ?? null,
    CATEGORIES: p.tags && p.tags.length ? p.tags : null,
  });
  return { name: `${uid}.vcf`, vcard: printCard(comp) };
}

/** Two books: A holds people [0, n), B holds [n/2, 3n/2). Shared people get one UID on both sides, or two. */
function books(n: number, sameUid: boolean): { a: Card[]; b: Card[] } {
  const half = Math.floor(n / 2);
  const a = Array.from({ length: n }, (_, i) => card(i, 1, `person-${i}`));
  const b = Array.from({ length: n }, (_, k) => {
    const i = half + k;
    return card(i, 2, sameUid || i >= n ? `person-${i}` : `other-${i}`);
  });
  return { a, b };
}

interface BookState {
  count: number;
  emails: Set<string>;
  duplicates: number;
  byEmail: Map<string, string>;
}

async function readBook(r: Radicale, slug: string): Promise<BookState> {
  // Radicale's first look at thousands of new files (parsing each into its cache) takes minutes.
  const client = new CardDavClient(USER, PASSWORD, 1_800_000);
  const url = `${r.url}/${USER}/${slug}/`;
  const listing = await client.propfind(url, { 'd:getetag': {} }, '1');
  const hrefs = listing.map((x) => String(x.href ?? '')).filter((h) => h && !h.endsWith('/'));
  const emails: string[] = [];
  const byEmail = new Map<string, string>();
  for (let i = 0; i < hrefs.length; i += 200) {
    for (const m of await client.multiget(url, hrefs.slice(i, i + 200))) {
      if (m.status !== 200 || !m.data) continue;
      const f = cardFields(parseCard(m.data));
      const email = String(f['EMAIL.1'] ?? '').toLowerCase();
      emails.push(email);
      byEmail.set(email, JSON.stringify([f['N.given'], f['N.surname'], f['ORG.name'], f.TITLE]));
    }
  }
  return { count: emails.length, emails: new Set(emails), duplicates: emails.length - new Set(emails).size, byEmail };
}

const sameSet = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((x) => b.has(x));

/** A Radicale whose storage holds books "a" and "b" with these cards, caches warmed. */
async function serverWith(root: string, cards: { a: Card[]; b: Card[] }, extra: string[] = []): Promise<Radicale> {
  const storage = path.join(root, `storage-${randomUUID().slice(0, 6)}`);
  mkdirSync(storage, { recursive: true });
  const r = await startRadicale({ storage });
  r.addUser(USER, PASSWORD);
  r.writeAddressBook(USER, 'a', cards.a, 'A');
  r.writeAddressBook(USER, 'b', cards.b, 'B');
  for (const slug of extra) r.writeAddressBook(USER, slug, [], slug);
  // Radicale parses every new file once and caches it, and computes a book's first sync-token by hashing every
  // card (seconds for thousands): both tools should meet a warm server.
  const client = new CardDavClient(USER, PASSWORD, 1_800_000);
  for (const slug of ['a', 'b']) {
    await readBook(r, slug);
    await client.propfind(`${r.url}/${USER}/${slug}/`, { 'd:sync-token': {} }, '0');
  }
  return r;
}

async function editCards(r: Radicale, slug: string, count: number): Promise<void> {
  const client = new CardDavClient(USER, PASSWORD);
  for (let i = 0; i < count; i++) {
    const url = `${r.url}/${USER}/${slug}/person-${i}.vcf`;
    const got = await client.request(url, { method: 'GET' });
    if (got.status !== 200) throw new Error(`GET ${url}: ${got.status}`);
    const comp = parseCard(got.text);
    applyFields(comp, { TITLE: `Edited title ${i}` });
    const put = await client.request(url, { method: 'PUT', headers: { 'if-match': got.headers.get('etag') ?? '*', 'content-type': 'text/vcard' }, body: printCard(comp) });
    if (put.status >= 300) throw new Error(`PUT ${url}: ${put.status}`);
  }
}

// ---- vdirsyncer ----------------------------------------------------------------------------------------------

function vdirsyncer(dir: string, r: Radicale) {
  const config = path.join(dir, `vdirsyncer-${randomUUID().slice(0, 6)}.conf`);
  const status = path.join(dir, `vdirsyncer-status-${randomUUID().slice(0, 6)}`);
  const storage = (slug: string) =>
    `type = "carddav"\nurl = "${r.url}/${USER}/${slug}/"\nusername = "${USER}"\npassword = "${PASSWORD}"\n`;
  // "a wins" mirrors Rapport's default master app (A); collections = null: the URLs are the address books.
  writeFileSync(
    config,
    `[general]\nstatus_path = "${status}/"\n\n[pair bench]\na = "bench_a"\nb = "bench_b"\ncollections = null\nconflict_resolution = "a wins"\n\n` +
      `[storage bench_a]\n${storage('a')}\n[storage bench_b]\n${storage('b')}`,
  );
  const run = (...args: string[]) => {
    const started = now();
    const res = spawnSync('vdirsyncer', ['-c', config, ...args], { encoding: 'utf8', input: 'y\n', maxBuffer: 64 * 1024 * 1024 });
    const ms = now() - started;
    if (res.status !== 0) throw new Error(`vdirsyncer ${args.join(' ')} exited ${res.status}: ${(res.stderr || res.stdout).slice(-1500)}`);
    return ms;
  };
  return {
    discover: () => run('discover', 'bench'),
    sync: () => run('sync'),
  };
}

// ---- Rapport ---------------------------------------------------------------------------------------------------

async function rapportConnect(app: AllInOne, r: Radicale): Promise<string> {
  const side = (slug: string) => ({
    app: 'carddav',
    credentials: { username: USER, password: PASSWORD },
    scope: { serverUrl: r.url, addressBook: `/${USER}/${slug}/` },
  });
  const res = await app.apiRequest('POST', '/connections', { name: 'bench A ↔ B', a: side('a'), b: side('b'), settings: { pollIntervalSeconds: 3600 } });
  if (res.status !== 201) throw new Error(`POST /connections: ${res.status} ${JSON.stringify(res.body)}`);
  return String(res.body.id);
}

async function cycleDone(app: AllInOne, id: string, after: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await app.control.status(id).catch(() => null);
    if (s && s.cycles > after && !s.syncing) return;
    if (s?.lastError && /auth|config/i.test(s.lastError)) throw new Error(`connection ${id}: ${s.lastError}`);
    if (Date.now() > deadline) throw new Error(`connection ${id}: no cycle finished within ${timeoutMs / 1000} s (last: ${JSON.stringify(s)})`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function rapportCycle(app: AllInOne, id: string, timeoutMs: number): Promise<number> {
  const before = (await app.control.status(id))?.cycles ?? 0;
  const started = now();
  const res = await app.apiRequest('POST', `/connections/${id}/sync`);
  if (res.status !== 202) throw new Error(`POST /connections/${id}/sync: ${res.status}`);
  await cycleDone(app, id, before, timeoutMs);
  return now() - started;
}

async function stopConnection(app: AllInOne, id: string): Promise<void> {
  await app.client.workflow
    .getHandle(connectionWorkflowId(id))
    .terminate('benchmark case finished')
    .catch(() => undefined);
}

async function benchDatabase(explicit: string | undefined, log: (l: string) => void): Promise<{ url?: string; label: string; drop(): Promise<void> }> {
  const serverUrl = explicit ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const admin = postgres(serverUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
  const name = `rapport_carddav_bench_${randomBytes(4).toString('hex')}`;
  try {
    await admin.unsafe(`create database ${name}`);
  } catch (err) {
    await admin.end({ timeout: 1 });
    log(`PostgreSQL does not answer (${err instanceof Error ? err.message : String(err)}); using PGlite`);
    return { label: 'PGlite', drop: async () => {} };
  }
  await admin.end({ timeout: 1 });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    label: `PostgreSQL (fresh database ${name})`,
    async drop() {
      const sql = postgres(serverUrl, { max: 1, onnotice: () => {} });
      await sql.unsafe(`drop database if exists ${name} with (force)`).catch(() => undefined);
      await sql.end({ timeout: 5 });
    },
  };
}

// ---- the cases ---------------------------------------------------------------------------------------------------

export async function runCardDavBench(opts: CardDavBenchOptions = {}): Promise<Record<string, unknown>> {
  const quick = process.env.BENCH_QUICK === '1';
  const N = opts.contacts ?? (quick ? 100 : 1000);
  const EDITS = Math.min(opts.edits ?? (quick ? 20 : 100), N);
  const QUIET = opts.quietContacts ?? (quick ? 1000 : 10_000);
  const UID_N = opts.uidRunContacts ?? (quick ? 40 : 200);
  const PROBE = opts.putProbe ?? (quick ? 50 : 200);
  const log = opts.log ?? ((line: string) => process.stderr.write(`[bench:carddav] ${line}\n`));
  const root = mkdtempSync(path.join(tmpdir(), 'rapport-carddav-bench-'));
  const figures: Record<string, unknown> = { contacts: N, editCount: EDITS, quietContacts: QUIET, uidRunContacts: UID_N };
  const database = await benchDatabase(opts.databaseUrl, log);
  let app: AllInOne | null = null;
  const servers: Radicale[] = [];
  const serve = async (cards: { a: Card[]; b: Card[] }, extra?: string[]) => {
    const r = await serverWith(root, cards, extra);
    servers.push(r);
    return r;
  };
  const release = async (r: Radicale) => {
    servers.splice(servers.indexOf(r), 1);
    await r.stop();
  };

  try {
    log(`database: ${database.label}`);
    app = await startAllInOne({
      dataDir: path.join(root, 'rapport'),
      apiPort: 0,
      sandboxPort: 0,
      temporal: { port: await freePort(), uiPort: false },
      databaseUrl: database.url,
      taskQueue: `bench-carddav-${randomUUID()}`,
      log: (line) => line.trim() && log(line),
    });

    // Radicale's own write rate: sequential PUTs of new cards, the bound of any initial sync here. Measured into an
    // empty book and into one already holding N cards: Radicale checks a new card's UID against every card of the
    // book, so its rate falls as the book grows, and the initial sync writes into books of N and more.
    {
      const filled = Array.from({ length: N }, (_, i) => card(300_000 + i, 1, `fill-${i}`));
      const r = await serve({ a: filled, b: [] });
      const client = new CardDavClient(USER, PASSWORD);
      const probe = async (slug: string, from: number) => {
        const cards = Array.from({ length: PROBE }, (_, i) => card(100_000 + from + i, 1, `probe-${from + i}`));
        const started = now();
        for (const c of cards) {
          const res = await client.request(`${r.url}/${USER}/${slug}/${c.name}`, { method: 'PUT', headers: { 'if-none-match': '*', 'content-type': 'text/vcard' }, body: c.vcard });
          if (res.status !== 201) throw new Error(`probe PUT: ${res.status}`);
        }
        return Math.round((PROBE / ((now() - started) / 1000)) * 10) / 10;
      };
      figures.radicalePutsPerSecondEmptyBook = await probe('b', 0);
      figures.radicalePutsPerSecond = await probe('a', PROBE);
      log(`Radicale takes ${figures.radicalePutsPerSecondEmptyBook} new cards a second into an empty book, ${figures.radicalePutsPerSecond} into one of ${N} (${PROBE} sequential PUTs each)`);
      await release(r);
    }

    // (a) initial sync, then (b) edits and one cycle, each tool on its own copy of the same data.
    const data = books(N, true);
    const writesNeeded = 2 * (N - Math.floor(N / 2));
    const tools: Record<string, { initialMs: number; editMs: number; a: BookState; b: BookState; discoverMs?: number }> = {};
    {
      log(`(a) Rapport: initial sync of 2 × ${N}`);
      const r = await serve(data);
      const started = now();
      const id = await rapportConnect(app, r);
      await cycleDone(app, id, 0, 3_600_000);
      const initialMs = now() - started;
      await editCards(r, 'a', EDITS);
      log(`(b) Rapport: ${EDITS} edits, one cycle`);
      const editMs = await rapportCycle(app, id, 600_000);
      tools.rapport = { initialMs, editMs, a: await readBook(r, 'a'), b: await readBook(r, 'b') };
      await stopConnection(app, id);
      await release(r);
    }
    {
      log(`(a) vdirsyncer: initial sync of 2 × ${N}`);
      const r = await serve(data);
      const v = vdirsyncer(root, r);
      const discoverMs = v.discover();
      const initialMs = v.sync();
      await editCards(r, 'a', EDITS);
      log(`(b) vdirsyncer: ${EDITS} edits, one sync`);
      const editMs = v.sync();
      tools.vdirsyncer = { initialMs, editMs, discoverMs, a: await readBook(r, 'a'), b: await readBook(r, 'b') };
      await release(r);
    }
    const rate = (ms: number) => Math.round((writesNeeded / (ms / 1000)) * 10) / 10;
    const agreeing = (x: BookState, y: BookState) => [...x.byEmail].filter(([email, v]) => y.byEmail.get(email) === v).length;
    figures.initial = {
      writesNeeded,
      rapport: { seconds: sec(tools.rapport.initialMs), cardsPerSecond: rate(tools.rapport.initialMs) },
      vdirsyncer: { seconds: sec(tools.vdirsyncer.initialMs), cardsPerSecond: rate(tools.vdirsyncer.initialMs), discoverSeconds: sec(tools.vdirsyncer.discoverMs!) },
    };
    figures.edits = { rapport: { seconds: sec(tools.rapport.editMs) }, vdirsyncer: { seconds: sec(tools.vdirsyncer.editMs) } };
    figures.endState = Object.fromEntries(
      Object.entries(tools).map(([tool, t]) => [tool, { a: t.a.count, b: t.b.count, duplicates: t.a.duplicates + t.b.duplicates, sidesAgree: sameSet(t.a.emails, t.b.emails) }]),
    );
    figures.toolsAgree = {
      sameEmails: sameSet(tools.rapport.a.emails, tools.vdirsyncer.a.emails) && sameSet(tools.rapport.b.emails, tools.vdirsyncer.b.emails),
      samePeopleInA: `${agreeing(tools.rapport.a, tools.vdirsyncer.a)} of ${tools.rapport.a.count}`,
      samePeopleInB: `${agreeing(tools.rapport.b, tools.vdirsyncer.b)} of ${tools.rapport.b.count}`,
    };

    log(`(a)+(b) ${JSON.stringify({ initial: figures.initial, edits: figures.edits, endState: figures.endState, toolsAgree: figures.toolsAgree })}`);

    // The shared people with different UIDs: matched by email (Rapport) or not at all (vdirsyncer).
    {
      const other = books(UID_N, false);
      const result: Record<string, unknown> = {};
      {
        const r = await serve(other);
        const id = await rapportConnect(app, r);
        await cycleDone(app, id, 0, 3_600_000);
        const a = await readBook(r, 'a');
        const b = await readBook(r, 'b');
        result.rapport = { a: a.count, b: b.count, duplicates: a.duplicates + b.duplicates };
        await stopConnection(app, id);
        await release(r);
      }
      {
        const r = await serve(other);
        const v = vdirsyncer(root, r);
        v.discover();
        v.sync();
        const a = await readBook(r, 'a');
        const b = await readBook(r, 'b');
        result.vdirsyncer = { a: a.count, b: b.count, duplicates: a.duplicates + b.duplicates };
        await release(r);
      }
      result.expectedPerBook = UID_N + Math.floor(UID_N / 2) + (UID_N % 2);
      figures.differentUids = result;
      log(`different UIDs ${JSON.stringify(result)}`);
    }

    // (c) a cycle with nothing changed, on two identical books written straight into Radicale's storage.
    {
      const same = Array.from({ length: QUIET }, (_, i) => card(i, 1, `person-${i}`));
      const quiet: Record<string, unknown> = {};
      {
        log(`(c) Rapport: 2 × ${QUIET} identical cards, first sync then a quiet cycle`);
        const r = await serve({ a: same, b: same });
        const started = now();
        const id = await rapportConnect(app, r);
        await cycleDone(app, id, 0, 3_600_000);
        const firstMs = now() - started;
        const cycleMs = await rapportCycle(app, id, 600_000);
        quiet.rapport = { firstSyncSeconds: sec(firstMs), quietCycleSeconds: sec(cycleMs) };
        await stopConnection(app, id);
        await release(r);
      }
      {
        log(`(c) vdirsyncer: 2 × ${QUIET} identical cards, first sync then a quiet sync`);
        const r = await serve({ a: same, b: same });
        const v = vdirsyncer(root, r);
        v.discover();
        const firstMs = v.sync();
        const cycleMs = v.sync();
        quiet.vdirsyncer = { firstSyncSeconds: sec(firstMs), quietCycleSeconds: sec(cycleMs) };
        await release(r);
      }
      figures.quiet = quiet;
      log(`(c) ${JSON.stringify(quiet)}`);
    }
    printTable(figures);
    return figures;
  } finally {
    for (const r of [...servers]) await r.stop().catch(() => undefined);
    await app?.close();
    await database.drop();
    rmSync(root, { recursive: true, force: true });
  }
}

function printTable(f: Record<string, unknown>): void {
  const initial = f.initial as { writesNeeded: number; rapport: { seconds: number; cardsPerSecond: number }; vdirsyncer: { seconds: number; cardsPerSecond: number } };
  const edits = f.edits as { rapport: { seconds: number }; vdirsyncer: { seconds: number } };
  const quiet = f.quiet as { rapport: { firstSyncSeconds: number; quietCycleSeconds: number }; vdirsyncer: { firstSyncSeconds: number; quietCycleSeconds: number } };
  const end = f.endState as Record<string, { a: number; b: number; duplicates: number; sidesAgree: boolean }>;
  const uids = f.differentUids as Record<string, { a: number; b: number; duplicates: number }> & { expectedPerBook: number };
  const bound = Number(f.radicalePutsPerSecond);
  const ratio = (r: number, v: number) => (v > 0 ? `${(r / v).toFixed(2)}×` : '–');
  const rows: [string, string, string, string][] = [
    ['case', 'Rapport', 'vdirsyncer', 'Rapport / vdirsyncer'],
    [`Radicale's own rate (sequential PUT; empty book / book of ${f.contacts})`, `${f.radicalePutsPerSecondEmptyBook} / ${bound} cards/s`, '', ''],
    [
      `(a) initial sync, 2 × ${f.contacts}, half shared (${initial.writesNeeded} creates)`,
      `${initial.rapport.seconds} s (${initial.rapport.cardsPerSecond}/s, ${Math.round((initial.rapport.cardsPerSecond / bound) * 100)}% of bound)`,
      `${initial.vdirsyncer.seconds} s (${initial.vdirsyncer.cardsPerSecond}/s, ${Math.round((initial.vdirsyncer.cardsPerSecond / bound) * 100)}% of bound)`,
      ratio(initial.rapport.seconds, initial.vdirsyncer.seconds),
    ],
    [`(b) ${f.editCount} edits on A, one cycle`, `${edits.rapport.seconds} s`, `${edits.vdirsyncer.seconds} s`, ratio(edits.rapport.seconds, edits.vdirsyncer.seconds)],
    [`(c) first sync, 2 × ${f.quietContacts} identical`, `${quiet.rapport.firstSyncSeconds} s`, `${quiet.vdirsyncer.firstSyncSeconds} s`, ratio(quiet.rapport.firstSyncSeconds, quiet.vdirsyncer.firstSyncSeconds)],
    [`(c) cycle with no change, 2 × ${f.quietContacts}`, `${quiet.rapport.quietCycleSeconds} s`, `${quiet.vdirsyncer.quietCycleSeconds} s`, ratio(quiet.rapport.quietCycleSeconds, quiet.vdirsyncer.quietCycleSeconds)],
    [
      'end state after (a)+(b): A / B cards, duplicates, sides agree',
      `${end.rapport.a} / ${end.rapport.b}, ${end.rapport.duplicates}, ${end.rapport.sidesAgree}`,
      `${end.vdirsyncer.a} / ${end.vdirsyncer.b}, ${end.vdirsyncer.duplicates}, ${end.vdirsyncer.sidesAgree}`,
      '',
    ],
    [
      `shared people with different UIDs, 2 × ${f.uidRunContacts} (expect ${uids.expectedPerBook} per book)`,
      `${uids.rapport.a} / ${uids.rapport.b}, ${uids.rapport.duplicates} duplicates`,
      `${uids.vdirsyncer.a} / ${uids.vdirsyncer.b}, ${uids.vdirsyncer.duplicates} duplicates`,
      '',
    ],
  ];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ');
  process.stdout.write(`\nCardDAV benchmark (Radicale ${spawnSync('radicale', ['--version'], { encoding: 'utf8' }).stdout.trim()}, vdirsyncer ${spawnSync('vdirsyncer', ['--version'], { encoding: 'utf8' }).stdout.trim().split(' ').pop()})\n`);
  process.stdout.write(`${line(rows[0])}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of rows.slice(1)) process.stdout.write(`${line(r)}\n`);
  process.stdout.write(`tools agree on the end state: ${JSON.stringify(f.toolsAgree)}\n\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runCardDavBench()
    .then((figures) => {
      if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
      process.exit(0);
    })
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    });
}
