import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileRules } from '../../sync/rules';
import { connectionSettingsSchema, type ConnectionSettings } from '../../sync/settings';
import type { FieldDef, FieldValue, Side } from '../../sync/types';
import { compareKind, isEmpty, isEngineTag, makeTranslator, sameValue, toList } from '../../sync/values';
import { Model } from './model';

// Property tests of "What stays true whatever happens", over random settings and random edits of two
// in-memory apps. FC_RUNS raises the number of cases (default 200); FC_SEED replays a failure.

const RUNS = Number(process.env.FC_RUNS ?? 200);
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;

const catalogA: FieldDef[] = [
  { key: 'first', label: 'First name', type: 'text', canonical: 'firstName' },
  { key: 'email1', label: 'Email', type: 'email', canonical: 'email1' },
  { key: 'email2', label: 'Email 2', type: 'email', canonical: 'email2' },
  { key: 'phone', label: 'Phone', type: 'phone', canonical: 'phoneWork' },
  { key: 'company', label: 'Company', type: 'text', canonical: 'company' },
  { key: 'tags', label: 'Tags', type: 'multipicklist', canonical: 'tags' },
  { key: 'stage', label: 'Stage', type: 'picklist', values: [{ value: 'hot', label: 'Hot' }, { value: 'cold', label: 'Cold' }] },
  { key: 'optOut', label: 'Opted out', type: 'boolean', canonical: 'unsubscribed' },
];
const catalogB: FieldDef[] = [
  { key: 'given', label: 'Given name', type: 'text', canonical: 'firstName' },
  { key: 'mail', label: 'Email', type: 'email', canonical: 'email1' },
  { key: 'mail2', label: 'Other email', type: 'email', canonical: 'email2' },
  { key: 'tel', label: 'Work phone', type: 'phone', canonical: 'phoneWork' },
  { key: 'org', label: 'Organization', type: 'text', canonical: 'company' },
  { key: 'groups', label: 'Groups', type: 'multipicklist', canonical: 'tags' },
  { key: 'status', label: 'Status', type: 'picklist', values: [{ value: 'H', label: 'hot' }, { value: 'C', label: 'cold' }] },
];

const pools: Record<string, fc.Arbitrary<FieldValue>> = {
  first: fc.constantFrom('Ann', 'Bob', ' Ann ', '', null),
  email: fc.constantFrom('ann@x.com', 'ANN@x.com', 'bob@x.com', 'cy@x.com', 'dee@x.com', null),
  phone: fc.constantFrom('+1 (555) 010-2000', '+15550102000', '+1 555 010 3000', '', null),
  company: fc.constantFrom('Acme', 'Beta', 'Private', '', null),
  tags: fc.subarray(['t1', 't2', 'T2', 't3']),
  stageA: fc.constantFrom('hot', 'cold', null),
  stageB: fc.constantFrom('H', 'C', null),
  optOut: fc.constantFrom(true, false, null),
};
const keysOf = { a: ['first', 'email1', 'email2', 'phone', 'company', 'tags', 'stage', 'optOut'], b: ['given', 'mail', 'mail2', 'tel', 'org', 'groups', 'status'] };
const poolOf = (side: Side, key: string): fc.Arbitrary<FieldValue> => {
  const i = keysOf[side].indexOf(key);
  return [pools.first, pools.email, pools.email, pools.phone, pools.company, pools.tags, side === 'a' ? pools.stageA : pools.stageB, pools.optOut][i];
};
const fieldsArb = (side: Side) =>
  fc.record(Object.fromEntries(keysOf[side].map((k) => [k, poolOf(side, k)])), { requiredKeys: [] }) as fc.Arbitrary<
    Record<string, FieldValue>
  >;

const settingsArb: fc.Arbitrary<ConnectionSettings> = fc
  .record({
    direction: fc.constantFrom('two-way', 'two-way', 'a-to-b', 'b-to-a'),
    master: fc.constantFrom('a', 'b'),
    avoidDuplicates: fc.boolean(),
    policy: fc.constantFrom('never', 'trash', 'delete'),
    protectA: fc.boolean(),
    protectB: fc.boolean(),
    unsubscribes: fc.constantFrom('off', 'tag'),
    rulesA: fc.boolean(),
    rulesB: fc.boolean(),
    stage: fc.constantFrom(undefined, 'two-way', 'a-to-b', 'b-to-a'),
  })
  .map((r) =>
    connectionSettingsSchema.parse({
      direction: r.direction,
      master: r.master,
      avoidDuplicates: r.avoidDuplicates,
      deletions: { policy: r.policy, protectA: r.protectA, protectB: r.protectB },
      unsubscribes: r.unsubscribes,
      rules: {
        ...(r.rulesA ? { aToB: [{ filter: { field: 'company', operator: 'notEquals', value: 'Private' }, tags: ['from A'] }] } : {}),
        ...(r.rulesB ? { bToA: [{ filter: { or: [{ field: 'org', operator: 'isEmpty' }, { field: 'org', operator: 'startsWith', value: 'a' }] } }] } : {}),
      },
      mapping: r.stage ? { custom: [{ a: 'stage', b: 'status', direction: r.stage }] } : {},
    }),
  );

type Action =
  | { t: 'create'; side: Side; fields: Record<string, FieldValue> }
  | { t: 'edit'; side: Side; pick: number; fields: Record<string, FieldValue> }
  | { t: 'editBoth'; pick: number; field: number; va: FieldValue; vb: FieldValue }
  | { t: 'delete'; side: Side; pick: number }
  | { t: 'cycle' };

const sideArb = fc.constantFrom<Side>('a', 'b');
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: sideArb.chain((side) => fieldsArb(side).map((fields) => ({ t: 'create' as const, side, fields }))) },
  { weight: 4, arbitrary: fc.tuple(sideArb, fc.nat()).chain(([side, pick]) => fieldsArb(side).map((fields) => ({ t: 'edit' as const, side, pick, fields }))) },
  {
    weight: 2,
    arbitrary: fc.record({ pick: fc.nat(), field: fc.nat({ max: 6 }) }).chain(({ pick, field }) =>
      fc.tuple(poolOf('a', keysOf.a[field]), poolOf('b', keysOf.b[field])).map(([va, vb]) => ({ t: 'editBoth' as const, pick, field, va, vb })),
    ),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('delete' as const), side: sideArb, pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.constant({ t: 'cycle' as const }) },
);

/** B stores phones the way many apps do, in E.164, so the engine's echoes come back looking different. */
const storeAs = (side: Side, key: string, v: FieldValue): FieldValue =>
  side === 'b' && key === 'tel' && typeof v === 'string' && v.trim() !== '' ? '+' + v.replace(/\D/g, '') : v;

function run(settings: ConnectionSettings, actions: Action[], batchSize: number) {
  const m = new Model(settings, { a: catalogA, b: catalogB }, storeAs, batchSize);
  for (const act of actions) {
    const ids = (s: Side) => [...m.apps[s].keys()];
    switch (act.t) {
      case 'create':
        m.userCreate(act.side, act.fields);
        break;
      case 'edit': {
        const list = ids(act.side);
        if (list.length > 0) m.userEdit(act.side, list[act.pick % list.length], act.fields);
        break;
      }
      case 'editBoth': {
        const live = m.links.filter((l) => l.state === 'active' && m.apps.a.has(l.a) && m.apps.b.has(l.b));
        if (live.length === 0) break;
        const l = live[act.pick % live.length];
        m.userEdit('a', l.a, { [keysOf.a[act.field]]: act.va });
        m.userEdit('b', l.b, { [keysOf.b[act.field]]: act.vb });
        break;
      }
      case 'delete': {
        const list = ids(act.side);
        if (list.length > 0) m.userDelete(act.side, list[act.pick % list.length]);
        break;
      }
      case 'cycle':
        m.cycle();
        break;
    }
  }
  const last = m.cycle();
  const quiet = m.cycle();
  return { m, last, quiet };
}

function checkAgreement(m: Model) {
  const s = m.settings;
  const rules = { a: compileRules(s.rules.aToB, catalogA), b: compileRules(s.rules.bToA, catalogB) };
  const flowsConn = { a: s.direction !== 'b-to-a', b: s.direction !== 'a-to-b' };
  const ruleTags = new Set([...(s.rules.aToB ?? []), ...(s.rules.bToA ?? [])].flatMap((r) => r.tags).map((t) => t.toLowerCase()));
  const cleanList = (v: FieldValue) => toList(v).map((t) => t.toLowerCase()).filter((t) => !isEngineTag(t) && !ruleTags.has(t));
  for (const l of m.links) {
    if (l.state !== 'active') continue;
    const A = m.apps.a.get(l.a);
    const B = m.apps.b.get(l.b);
    expect(A && B, `active link ${l.a}-${l.b} with a missing contact`).toBeTruthy();
    if (!A || !B) continue;
    // A contact outside the rules stops syncing: nothing is promised for its pair.
    if ((flowsConn.a && !rules.a(A.fields).pass) || (flowsConn.b && !rules.b(B.fields).pass)) continue;
    for (const p of m.ctx.mapping) {
      const fa = catalogA.find((f) => f.key === p.a)!;
      const fb = catalogB.find((f) => f.key === p.b)!;
      const va = A.fields[p.a] ?? null;
      const vb = B.fields[p.b] ?? null;
      const where = `${l.a}.${p.a}=${JSON.stringify(va)} / ${l.b}.${p.b}=${JSON.stringify(vb)} (${p.direction})`;
      if (fa.type === 'multipicklist') {
        const la = new Set(cleanList(va));
        const lb = new Set(cleanList(vb));
        if (p.direction !== 'b-to-a') for (const t of la) expect(lb.has(t), where).toBe(true);
        if (p.direction !== 'a-to-b') for (const t of lb) expect(la.has(t), where).toBe(true);
        continue;
      }
      const tr = makeTranslator(fa, fb, p.valueMap);
      const kind = compareKind(fa.type, fb.type);
      const t = tr.aToB(va);
      const equal = t !== undefined && sameValue(t, vb, kind);
      if (p.direction === 'two-way') expect(equal, where).toBe(true);
      else if (p.direction === 'a-to-b') expect(equal || isEmpty(va), where).toBe(true);
      else expect(equal || isEmpty(vb), where).toBe(true);
    }
  }
}

function checkPresence(m: Model) {
  const s = m.settings;
  const rules = { a: compileRules(s.rules.aToB, catalogA), b: compileRules(s.rules.bToA, catalogB) };
  for (const side of ['a', 'b'] as const) {
    if ((side === 'a' && s.direction === 'b-to-a') || (side === 'b' && s.direction === 'a-to-b')) continue;
    const o: Side = side === 'a' ? 'b' : 'a';
    for (const [id, r] of m.apps[side]) {
      const emails = m.db[side].get(id)!.emails;
      if ((s.avoidDuplicates && emails.length === 0) || !rules[side](r.fields).pass) continue;
      const link = m.linkOf[side].get(id);
      if (link) continue; // active links are checked by checkAgreement; stopped ones are excused
      const candidates = [...m.db[o]].filter(([, d]) => !d.deleted && d.emails.some((e) => emails.includes(e)));
      expect(candidates.length, `${side}:${id} passes the rules but is missing on the other side`).toBeGreaterThan(0);
      if (candidates.length === 1) {
        const [cid, c] = candidates[0];
        const back = [...m.db[side]].filter(([, d]) => !d.deleted && d.emails.some((e) => c.emails.includes(e)));
        const mutual = !m.linkOf[o].has(cid) && back.length === 1 && back[0][0] === id;
        expect(mutual, `${side}:${id} has one free candidate ${o}:${cid} but no link`).toBe(false);
      }
    }
  }
}

describe('What stays true whatever happens', () => {
  it('after both sides stop changing and a cycle completes, every promise holds and a second cycle writes nothing', () => {
    fc.assert(
      fc.property(settingsArb, fc.array(actionArb, { maxLength: 40 }), fc.integer({ min: 1, max: 6 }), (settings, actions, batchSize) => {
        const { m, quiet } = run(settings, actions, batchSize);
        // every linked pair agrees on every mapped field (within its direction)
        checkAgreement(m);
        // no contact that passes the rules is missing on the other side
        checkPresence(m);
        // no ping-pong: the engine's own writes come back and cause none
        expect(quiet.appWrites, JSON.stringify(quiet.ops)).toBe(0);
        // "no contact created twice", "no filled field emptied", "no deletion unless a setting asked" are
        // checked by the model at every write.
      }),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
    );
  });
});
