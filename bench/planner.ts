import { buildPlanContext } from '../sync/effective-mapping';
import type { Link, PlanContext } from '../sync/plan-types';
import { planBatch } from '../sync/decide';
import { defaultSettings } from '../sync/settings';
import type { FieldDef, FieldValue, Snapshot } from '../sync/types';

// A micro-benchmark of the planner alone: synthetic contacts, batches of 1,000 as the activities send them.
// Only planBatch is timed; building the inputs (the database's job in production) is not.

const catalogA: FieldDef[] = [
  { key: 'first', label: 'First name', type: 'text', canonical: 'firstName' },
  { key: 'last', label: 'Last name', type: 'text', canonical: 'lastName' },
  { key: 'email1', label: 'Email', type: 'email', canonical: 'email1' },
  { key: 'email2', label: 'Email 2', type: 'email', canonical: 'email2' },
  { key: 'phone', label: 'Phone', type: 'phone', canonical: 'phoneWork' },
  { key: 'mobile', label: 'Mobile', type: 'phone', canonical: 'phoneMobile' },
  { key: 'company', label: 'Company', type: 'text', canonical: 'company' },
  { key: 'title', label: 'Job title', type: 'text', canonical: 'jobTitle' },
  { key: 'city', label: 'City', type: 'text', canonical: 'city' },
  { key: 'tags', label: 'Tags', type: 'multipicklist', canonical: 'tags' },
];
const catalogB: FieldDef[] = catalogA.map((f) => ({ ...f, key: `b_${f.key}` }));

export interface BenchReport {
  contactsPerSide: number;
  /** initial sync: every contact of both sides planned, half of them matching by email */
  initial: { contacts: number; ms: number; contactsPerSecond: number; ops: number };
  /** an incremental cycle: every linked contact edited on side A */
  incremental: { contacts: number; ms: number; contactsPerSecond: number; ops: number };
}

function contact(side: 'a' | 'b', i: number, shared: boolean): Snapshot {
  const p = side === 'a' ? '' : 'b_';
  const fields: Record<string, FieldValue> = {
    [`${p}first`]: `First${i}`,
    [`${p}last`]: side === 'a' ? `Last${i}` : null,
    [`${p}email1`]: shared ? `person${i}@example.com` : `${side}only${i}@example.com`,
    [`${p}email2`]: null,
    [`${p}phone`]: side === 'a' ? `+1 (555) 01${String(i % 100).padStart(2, '0')}-${String(i % 10000).padStart(4, '0')}` : `+155501${String(i % 100).padStart(2, '0')}${String(i % 10000).padStart(4, '0')}`,
    [`${p}mobile`]: null,
    [`${p}company`]: `Company ${i % 97}`,
    [`${p}title`]: side === 'b' ? 'Buyer' : null,
    [`${p}city`]: 'Springfield',
    [`${p}tags`]: ['customer'],
  };
  return { side, id: `${side}${i}`, version: '1', fields, deleted: false };
}

const mappedValues = (ctx: PlanContext, s: Snapshot) =>
  Object.fromEntries(ctx.mapping.map((m) => (s.side === 'a' ? m.a : m.b)).map((k) => [k, s.fields[k] ?? null]));

export function benchPlannerReport(n: number, batchSize = 1000): BenchReport {
  const ctx = buildPlanContext(defaultSettings(), { a: 'bench-a', b: 'bench-b' }, { a: catalogA, b: catalogB });
  const a: Snapshot[] = [];
  const b: Snapshot[] = [];
  for (let i = 0; i < n; i++) {
    a.push(contact('a', i, i % 2 === 0));
    b.push(contact('b', i, i % 2 === 0));
  }
  const byEmail = new Map<string, Snapshot>();
  for (const r of b) byEmail.set(String(r.fields.b_email1), r);

  // Initial sync: batches of A records, each with the B records sharing an email (what the activity loads).
  let ms = 0;
  let ops = 0;
  const all = [...a, ...b];
  for (let i = 0; i < all.length; i += batchSize) {
    const changed = all.slice(i, i + batchSize);
    const related: Snapshot[] = [];
    for (const r of changed) {
      if (r.side !== 'a') continue;
      const hit = byEmail.get(String(r.fields.email1));
      if (hit) related.push(hit);
    }
    const t0 = performance.now();
    ops += planBatch({ mode: 'initial', context: ctx, changed, links: [], related }).ops.length;
    ms += performance.now() - t0;
  }
  const initial = { contacts: all.length, ms, contactsPerSecond: Math.round(all.length / (ms / 1000)), ops };

  // Incremental: every pair linked and agreed, then every A contact edited once.
  const links: Link[] = a.map((r, i) => ({ a: r.id, b: b[i].id, baselineA: mappedValues(ctx, r), baselineB: mappedValues(ctx, b[i]) }));
  let msInc = 0;
  let opsInc = 0;
  for (let i = 0; i < n; i += batchSize) {
    const changed = a.slice(i, i + batchSize).map((r) => ({ ...r, version: '2', fields: { ...r.fields, title: 'Manager' } }));
    const t0 = performance.now();
    opsInc += planBatch({ mode: 'incremental', context: ctx, changed, links: links.slice(i, i + batchSize), related: b.slice(i, i + batchSize) }).ops.length;
    msInc += performance.now() - t0;
  }
  const incremental = { contacts: n, ms: msInc, contactsPerSecond: Math.round(n / (msInc / 1000)), ops: opsInc };
  return { contactsPerSide: n, initial, incremental };
}
