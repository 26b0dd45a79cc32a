import { fieldByKey, tagsField, unsubscribedField, emailFields } from './field-catalog';
import { emailKeysOf } from './match';
import type {
  Ambiguous,
  Conflict,
  Link,
  MappingPair,
  Operation,
  PlanContext,
  PlanInput,
  PlanOutput,
  Settled,
  SideBaseline,
} from './plan-types';
import { compileRules, type RuleSet, type RuleVerdict } from './rules';
import type { FieldDef, FieldValue, Side, Snapshot } from './types';
import {
  TRASH_TAG,
  UNSUBSCRIBES_TAG,
  compareKind,
  isEmpty,
  isEngineTag,
  makeTranslator,
  sameValue,
  toList,
  type CompareKind,
  type Translator,
} from './values';

// The planner: snapshots, links and baselines in; operations out. It follows the three-way merge of
// file synchronizers (unison, vdirsyncer) at field level: each side's current value is compared with the
// baseline, the value both sides last agreed on, so that a side's own edit, the other side's edit, an echo
// of the engine's write and a conflict can be told apart. It departs from them in the first merge of a
// match (no baseline: fill empty fields, the master app wins differences) and in lists (tags merge as sets,
// so tags added on both sides are both kept).

type Fields = Record<string, FieldValue>;

interface Pair {
  key: { a: string; b: string };
  def: { a: FieldDef; b: FieldDef };
  kind: CompareKind;
  tr: Translator;
  /** values may flow from this side to the other (pair direction, clipped to the connection's) */
  flow: { a: boolean; b: boolean };
  /** one-way by setting: the source side is the truth, the target's own edits are overwritten */
  oneWay: { a: boolean; b: boolean };
}

interface SideConfig {
  rules: RuleSet;
  emailKeys: string[];
  tags?: FieldDef;
  unsubscribed?: FieldDef;
  /** the connection lets contacts of this side go to the other */
  flows: boolean;
}

interface Compiled {
  ctx: PlanContext;
  pairs: Pair[];
  side: { a: SideConfig; b: SideConfig };
  /** every key a side's baseline records */
  baselineKeys: { a: string[]; b: string[] };
  /** how each field of a side compares with itself */
  kindOf: { a: Map<string, CompareKind>; b: Map<string, CompareKind> };
}

const compiledCache = new WeakMap<PlanContext, Compiled>();

function compile(ctx: PlanContext): Compiled {
  const hit = compiledCache.get(ctx);
  if (hit) return hit;
  const { settings, catalogs } = ctx;
  const pairs: Pair[] = [];
  for (const m of ctx.mapping) {
    const fa = fieldByKey(catalogs.a, m.a);
    const fb = fieldByKey(catalogs.b, m.b);
    if (!fa || !fb) continue;
    pairs.push(compilePair(m, fa, fb));
  }
  const sideConfig = (s: Side): SideConfig => {
    const catalog = catalogs[s];
    return {
      rules: compileRules(s === 'a' ? settings.rules.aToB : settings.rules.bToA, catalog),
      emailKeys: emailFields(catalog).map((f) => f.key),
      tags: tagsField(catalog),
      unsubscribed: settings.unsubscribes === 'tag' ? unsubscribedField(catalog) : undefined,
      flows: s === 'a' ? settings.direction !== 'b-to-a' : settings.direction !== 'a-to-b',
    };
  };
  const side = { a: sideConfig('a'), b: sideConfig('b') };
  const baselineKeys = { a: [] as string[], b: [] as string[] };
  for (const s of ['a', 'b'] as const) {
    const keys = new Set(pairs.map((p) => p.key[s]));
    const u = side[s].unsubscribed;
    if (u) keys.add(u.key);
    baselineKeys[s] = [...keys];
  }
  const kindOf = {
    a: new Map(catalogs.a.map((f) => [f.key, compareKind(f.type, f.type)])),
    b: new Map(catalogs.b.map((f) => [f.key, compareKind(f.type, f.type)])),
  };
  const compiled: Compiled = { ctx, pairs, side, baselineKeys, kindOf };
  compiledCache.set(ctx, compiled);
  return compiled;
}

function compilePair(m: MappingPair, fa: FieldDef, fb: FieldDef): Pair {
  return {
    key: { a: m.a, b: m.b },
    def: { a: fa, b: fb },
    kind: compareKind(fa.type, fb.type),
    tr: makeTranslator(fa, fb, m.valueMap),
    flow: { a: m.direction !== 'b-to-a' && !fb.readOnly, b: m.direction !== 'a-to-b' && !fa.readOnly },
    oneWay: { a: m.direction === 'a-to-b', b: m.direction === 'b-to-a' },
  };
}

const other = (s: Side): Side => (s === 'a' ? 'b' : 'a');
const translate = (p: Pair, from: Side, v: FieldValue): FieldValue | undefined =>
  from === 'a' ? p.tr.aToB(v) : p.tr.bToA(v);

/** Whether the two sides' values of a pair hold the same datum, seen through the pair's translation. */
function pairEqual(p: Pair, va: FieldValue, vb: FieldValue): boolean {
  const t = p.tr.aToB(va);
  if (t !== undefined && sameValue(t, vb, p.kind)) return true;
  const u = p.tr.bToA(vb);
  return u !== undefined && sameValue(va, u, p.kind);
}

/** One side of a pair being merged: what it holds, what it agreed to, and what the plan does to it. */
interface MergeSide {
  side: Side;
  snap: Snapshot;
  base: SideBaseline;
  /** the contact passes this side's rules, so its values may go to the other side */
  passes: boolean;
  verdict: RuleVerdict;
  writes: Fields;
  newBase: Fields;
}

interface MergeResult {
  writes: { a: Fields; b: Fields };
  newBase: { a: Fields; b: Fields };
  conflicts: Conflict[];
}

/**
 * The merge of one pair of fields. Kept as plain functions over this state (no closures per field): the
 * planner runs them millions of times in an initial sync.
 */
interface PairState {
  p: Pair;
  sides: { a: MergeSide; b: MergeSide };
  va: FieldValue;
  vb: FieldValue;
}

const valueOf = (st: PairState, s: Side): FieldValue => (s === 'a' ? st.va : st.vb);
const flows = (st: PairState, from: Side): boolean => st.p.flow[from] && st.sides[from].passes;

function agree(st: PairState) {
  st.sides.a.newBase[st.p.key.a] = st.va;
  st.sides.b.newBase[st.p.key.b] = st.vb;
}

/**
 * A change that cannot flow now stays a change: the old baseline is kept so that it flows once it may. With
 * no baseline yet, a side that may not flow records the other side's value as agreed, so that its own value
 * counts as a change when it comes into the rules.
 */
function pending(st: PairState) {
  for (const s of SIDES) {
    const base = st.sides[s].base;
    const k = st.p.key[s];
    if (base && k in base) st.sides[s].newBase[k] = base[k];
    // An empty value has nothing to say: it must never later count as a change that empties the other side.
    else if (flows(st, s) || isEmpty(valueOf(st, s))) st.sides[s].newBase[k] = valueOf(st, s);
    else st.sides[s].newBase[k] = translate(st.p, other(s), valueOf(st, other(s))) ?? valueOf(st, s);
  }
}

function copy(st: PairState, from: Side) {
  const to = other(from);
  let v = translate(st.p, from, valueOf(st, from));
  if (v === undefined) return pending(st);
  if (st.p.kind === 'list') v = keepEngineTags(v, valueOf(st, to), st.p.def[to]);
  st.sides[to].writes[st.p.key[to]] = v;
  st.sides[to].newBase[st.p.key[to]] = v;
  st.sides[from].newBase[st.p.key[from]] = valueOf(st, from);
}

/** The first merge of a pair: equal, nothing; one side empty, fill it; both filled, the master app wins. */
function initialRule(st: PairState, master: Side) {
  const ea = isEmpty(st.va);
  const eb = isEmpty(st.vb);
  if (ea && eb) return agree(st);
  if (ea || eb) {
    // An empty value never wipes a filled one: the filled side fills the empty one.
    const from: Side = ea ? 'b' : 'a';
    return flows(st, from) ? copy(st, from) : pending(st);
  }
  const loser = other(master);
  if (flows(st, master)) return copy(st, master);
  // The direction of a one-way pair outranks the master app.
  if (flows(st, loser) && st.p.oneWay[loser]) return copy(st, loser);
  return pending(st);
}

const SIDES = ['a', 'b'] as const;

/**
 * Merges one linked (or just matched) pair of records. `extraTags` are tags to put on each side's tags field
 * (rule tags of a first sync, the unsubscribes tag).
 */
function mergeRecords(
  c: Compiled,
  link: Link,
  snaps: { a: Snapshot; b: Snapshot },
  verdicts: { a: RuleVerdict; b: RuleVerdict },
  extraTags: { a: string[]; b: string[] },
): MergeResult {
  const master = c.ctx.settings.master;
  const sides = {
    a: newMergeSide(c, 'a', snaps.a, link.baselineA, verdicts.a),
    b: newMergeSide(c, 'b', snaps.b, link.baselineB, verdicts.b),
  };
  const conflicts: Conflict[] = [];
  const ba = sides.a.base;
  const bb = sides.b.base;
  const st: PairState = { p: c.pairs[0], sides, va: null, vb: null };

  for (const p of c.pairs) {
    st.p = p;
    const va = (st.va = snaps.a.fields[p.key.a] ?? null);
    const vb = (st.vb = snaps.b.fields[p.key.b] ?? null);
    if (pairEqual(p, va, vb)) {
      agree(st);
      continue;
    }
    if (ba === null || bb === null || !(p.key.a in ba) || !(p.key.b in bb)) {
      initialRule(st, master);
      continue;
    }
    const changedA = !sameValue(va, ba[p.key.a], p.kind);
    const changedB = !sameValue(vb, bb[p.key.b], p.kind);

    if (p.kind === 'list') {
      if (changedA || changedB) mergeList(st, { a: changedA, b: changedB });
      else pending(st);
      // A one-way pair's target keeps every source tag (its own extra tags, rule tags among them, stay).
      for (const from of SIDES) if (p.oneWay[from] && flows(st, from)) enforceListContainment(st, from);
      continue;
    }
    if (changedA !== changedB) {
      const from: Side = changedA ? 'a' : 'b';
      const to = other(from);
      if (flows(st, from)) copy(st, from);
      // A one-way pair overwrites the target's own edit, but never with an empty value.
      else if (flows(st, to) && p.oneWay[to] && !isEmpty(valueOf(st, to))) copy(st, to);
      else pending(st);
      continue;
    }
    if (changedA && changedB) {
      if (flows(st, 'a') && flows(st, 'b')) {
        let winner: Side = master;
        // An edit beats a clear: the side that emptied the field loses to the side that wrote a value.
        if (isEmpty(valueOf(st, winner)) && !isEmpty(valueOf(st, other(winner)))) winner = other(winner);
        conflicts.push({ a: link.a, b: link.b, fieldA: p.key.a, fieldB: p.key.b, valueA: va, valueB: vb, winner });
        copy(st, winner);
      } else if (flows(st, 'a')) copy(st, 'a');
      else if (flows(st, 'b')) copy(st, 'b');
      else pending(st);
      continue;
    }
    // Both sides unchanged yet different (a write that never happened, a flow blocked earlier): merge as at
    // the first match. (Lists never get here: side-local tags, rule tags among them, are meant to differ.)
    initialRule(st, master);
  }

  for (const s of SIDES) addUnsubscribe(c, sides, s, extraTags);
  for (const s of SIDES) {
    if (extraTags[s].length > 0) addTags(c, sides[s], extraTags[s]);
  }
  return {
    writes: { a: sides.a.writes, b: sides.b.writes },
    newBase: { a: sides.a.newBase, b: sides.b.newBase },
    conflicts,
  };
}

function newMergeSide(c: Compiled, side: Side, snap: Snapshot, base: SideBaseline, verdict: RuleVerdict): MergeSide {
  return { side, snap, base, passes: verdict.pass && c.side[side].flows, verdict, writes: {}, newBase: {} };
}

/** Tags added on either side since the baseline are added to the other, removed ones removed. */
function mergeList(st: PairState, changed: { a: boolean; b: boolean }) {
  const { p, sides } = st;
  const d = { a: changed.a ? listDelta(st, 'a') : null, b: changed.b ? listDelta(st, 'b') : null };
  for (const s of SIDES) {
    const o = other(s);
    let incoming = d[o] && flows(st, o) ? d[o] : null;
    // A tag one side removed and the other added stays: an addition beats a removal, on both sides.
    if (incoming && d[s]) {
      const own = new Set((d[s].ownAdds ?? []).map((t) => t.toLowerCase()));
      incoming = { ...incoming, removes: incoming.removes.filter((t) => !own.has(t.toLowerCase())) };
    }
    const current = valueOf(st, s);
    const k = p.key[s];
    if (incoming) {
      const next = applyDelta(current, incoming);
      if (toList(current).join('\u0000') !== next.join('\u0000')) {
        const asField = (list: string[]) => (p.def[s].type === 'multipicklist' ? list : list.join(', '));
        sides[s].writes[k] = asField(next);
        // This side's own change, if it may not flow, stays pending: its baseline moves only by what was written.
        sides[s].newBase[k] =
          d[s] && !flows(st, s) ? asField(applyDelta(sides[s].base![k] ?? null, incoming)) : asField(next);
        continue;
      }
    }
    // This side's own change that could not flow stays pending against its old baseline, moved only by what
    // the other side brought (even when the list already held it).
    const base = sides[s].base![k] ?? null;
    if (!(d[s] && !flows(st, s))) sides[s].newBase[k] = current;
    else if (!incoming) sides[s].newBase[k] = base;
    else {
      const moved = applyDelta(base, incoming);
      sides[s].newBase[k] = p.def[s].type === 'multipicklist' ? moved : moved.join(', ');
    }
  }
}

function enforceListContainment(st: PairState, from: Side) {
  const to = other(from);
  const k = st.p.key[to];
  const current = k in st.sides[to].writes ? st.sides[to].writes[k] : valueOf(st, to);
  const source = toList(translate(st.p, from, valueOf(st, from)) ?? []).filter((t) => !isEngineTag(t));
  const next = applyDelta(current, { adds: source, removes: [] });
  if (next.length === toList(current).length) return;
  const v = st.p.def[to].type === 'multipicklist' ? next : next.join(', ');
  st.sides[to].writes[k] = v;
  st.sides[to].newBase[k] = v;
  st.sides[from].newBase[st.p.key[from]] = valueOf(st, from);
}

interface ListDelta {
  /** in the other side's vocabulary */
  adds: string[];
  removes: string[];
  /** the additions in this side's own vocabulary */
  ownAdds?: string[];
}

/** What a side added and removed since the baseline, in the other side's vocabulary. */
function listDelta(st: PairState, s: Side): ListDelta {
  const base = toList(st.sides[s].base![st.p.key[s]] ?? null);
  const now = toList(valueOf(st, s));
  const baseSet = new Set(base.map((t) => t.toLowerCase()));
  const nowSet = new Set(now.map((t) => t.toLowerCase()));
  const adds = now.filter((t) => !baseSet.has(t.toLowerCase()) && !isEngineTag(t));
  const removes = base.filter((t) => !nowSet.has(t.toLowerCase()) && !isEngineTag(t));
  return {
    adds: toList(translate(st.p, s, adds) ?? []),
    removes: toList(translate(st.p, s, removes) ?? []),
    ownAdds: adds,
  };
}

function applyDelta(list: FieldValue, d: ListDelta): string[] {
  const removed = new Set(d.removes.map((t) => t.toLowerCase()));
  const out = toList(list).filter((t) => !removed.has(t.toLowerCase()));
  const have = new Set(out.map((t) => t.toLowerCase()));
  for (const t of d.adds) if (!have.has(t.toLowerCase())) out.push(t);
  return out;
}

/** The target's engine tags survive a write of the source's list. */
function keepEngineTags(v: FieldValue, target: FieldValue, def: FieldDef): FieldValue {
  const local = toList(target).filter(isEngineTag);
  if (local.length === 0) return v;
  const list = toList(v);
  for (const t of local) if (!list.some((x) => x.toLowerCase() === t.toLowerCase())) list.push(t);
  return def.type === 'multipicklist' ? list : list.join(', ');
}

function isTrue(v: FieldValue | undefined): boolean {
  if (v === true) return true;
  if (typeof v === 'string') return ['true', 'yes', '1'].includes(v.trim().toLowerCase());
  return typeof v === 'number' && v !== 0;
}

/** The unsubscribes policy: a contact that becomes unsubscribed gets the tag on the other side. */
function addUnsubscribe(c: Compiled, sides: { a: MergeSide; b: MergeSide }, s: Side, extraTags: { a: string[]; b: string[] }) {
  const u = c.side[s].unsubscribed;
  if (!u) return;
  const now = sides[s].snap.fields[u.key] ?? null;
  if (!(u.key in sides[s].newBase)) sides[s].newBase[u.key] = now;
  const before = sides[s].base?.[u.key];
  if (isTrue(now) && !isTrue(before) && c.side[s].flows && sides[s].verdict.pass) {
    const o = other(s);
    if (!extraTags[o].includes(UNSUBSCRIBES_TAG)) extraTags[o] = [...extraTags[o], UNSUBSCRIBES_TAG];
  }
}

function addTags(c: Compiled, side: MergeSide, tags: string[]) {
  const f = c.side[side.side].tags;
  if (!f || f.readOnly) return;
  const current = f.key in side.writes ? side.writes[f.key] : (side.snap.fields[f.key] ?? null);
  const list = toList(current);
  let changed = false;
  for (const t of tags) {
    if (!list.some((x) => x.toLowerCase() === t.toLowerCase())) {
      list.push(t);
      changed = true;
    }
  }
  if (!changed) return;
  const v = f.type === 'multipicklist' ? list : list.join(', ');
  side.writes[f.key] = v;
  // Only mapped keys live in the baseline; an unmapped tags field is simply written. The tags join whatever the
  // baseline held, so a change still pending in this list stays pending.
  if (f.key in side.newBase) {
    const base = toList(side.newBase[f.key]);
    for (const t of tags) if (!base.some((x) => x.toLowerCase() === t.toLowerCase())) base.push(t);
    side.newBase[f.key] = f.type === 'multipicklist' ? base : base.join(', ');
  }
}

/** Baselines equal when every key holds the same datum; a missing key (new mapping) is a difference. */
function baselineSame(c: Compiled, s: Side, before: SideBaseline, after: Fields): boolean {
  if (before === null) return false;
  const kinds = c.kindOf[s];
  for (const k in after) {
    if (!(k in before)) return false;
    const x = before[k];
    const y = after[k];
    if (x === y) continue;
    if (!sameValue(x, y, kinds.get(k) ?? 'text')) return false;
  }
  return true;
}

const snapKey = (s: Side, id: string) => `${s}\u0000${id}`;

/**
 * Plans one batch. Pure and deterministic: the same input gives the same operations, in the order of
 * `changed`. Records it cannot plan (a link whose partner is missing from `related`) are left for later.
 */
export function planBatch(input: PlanInput): PlanOutput {
  const c = compile(input.context);
  const settings = c.ctx.settings;
  const ops: Operation[] = [];
  const conflicts: Conflict[] = [];
  const ambiguous: Ambiguous[] = [];

  const snaps = new Map<string, Snapshot>();
  for (const r of input.related) snaps.set(snapKey(r.side, r.id), r);
  // A changed record is newer than any related copy of it.
  for (const r of input.changed) snaps.set(snapKey(r.side, r.id), r);
  const linkOf = { a: new Map<string, Link>(), b: new Map<string, Link>() };
  for (const l of input.links) {
    linkOf.a.set(l.a, l);
    linkOf.b.set(l.b, l);
  }
  const snap = (s: Side, id: string) => snaps.get(snapKey(s, id));

  const verdictCache = new Map<string, RuleVerdict>();
  const verdict = (r: Snapshot): RuleVerdict => {
    const k = snapKey(r.side, r.id);
    let v = verdictCache.get(k);
    if (!v) {
      v = c.side[r.side].rules(r.fields);
      verdictCache.set(k, v);
    }
    return v;
  };

  const settled = new Map<string, Settled>();
  const settle = (r: Snapshot) => settled.set(snapKey(r.side, r.id), { side: r.side, id: r.id, version: r.version });
  for (const r of input.changed) settle(r);

  const emitMerge = (link: Link, a: Snapshot, b: Snapshot, isNew: boolean, extra: { a: string[]; b: string[] }) => {
    settle(a);
    settle(b);
    let verdicts = { a: verdict(a), b: verdict(b) };
    let m = mergeRecords(c, link, { a, b }, verdicts, extra);
    // Rules judge a contact by what it holds after the writes: a merge that brings it into (or out of) the
    // rules is merged again, or the next cycle would write what this one held back.
    for (let round = 0; round < 3; round++) {
      const after = {
        a: Object.keys(m.writes.a).length > 0 ? c.side.a.rules({ ...a.fields, ...m.writes.a }) : verdicts.a,
        b: Object.keys(m.writes.b).length > 0 ? c.side.b.rules({ ...b.fields, ...m.writes.b }) : verdicts.b,
      };
      if (after.a.pass === verdicts.a.pass && after.b.pass === verdicts.b.pass) break;
      verdicts = after;
      m = mergeRecords(c, link, { a, b }, verdicts, extra);
    }
    conflicts.push(...m.conflicts);
    const wa = Object.keys(m.writes.a).length > 0;
    const wb = Object.keys(m.writes.b).length > 0;
    // Matching (after the links) sees records as they will be: an email just moved away is no candidate.
    if (wa) snaps.set(snapKey('a', a.id), { ...a, fields: { ...a.fields, ...m.writes.a } });
    if (wb) snaps.set(snapKey('b', b.id), { ...b, fields: { ...b.fields, ...m.writes.b } });
    const ref = { a: link.a, b: link.b };
    if (isNew) {
      ops.push({ kind: 'link', a: link.a, b: link.b, baselineA: wa ? null : m.newBase.a, baselineB: wb ? null : m.newBase.b });
    }
    const movedA = !baselineSame(c, 'a', link.baselineA, m.newBase.a);
    const movedB = !baselineSame(c, 'b', link.baselineB, m.newBase.b);
    if (wa) {
      ops.push({
        kind: 'update', target: 'a', id: a.id, version: a.version, fields: m.writes.a, link: ref, baseline: m.newBase.a,
        ...(!wb && movedB && !isNew ? { otherBaseline: m.newBase.b } : {}),
      });
    }
    if (wb) {
      ops.push({
        kind: 'update', target: 'b', id: b.id, version: b.version, fields: m.writes.b, link: ref, baseline: m.newBase.b,
        ...(!wa && movedA && !isNew ? { otherBaseline: m.newBase.a } : {}),
      });
    }
    if (!isNew && !wa && !wb && (movedA || movedB)) {
      ops.push({ kind: 'baseline', a: link.a, b: link.b, baselineA: m.newBase.a, baselineB: m.newBase.b });
    }
  };

  const planDeletion = (link: Link, a: Snapshot | undefined, b: Snapshot | undefined) => {
    const deletedA = a?.deleted ?? false;
    const deletedB = b?.deleted ?? false;
    if (deletedA && deletedB) {
      ops.push({ kind: 'unlink', a: link.a, b: link.b, reason: 'deleted-both' });
      return;
    }
    const gone: Side = deletedA ? 'a' : 'b';
    const survivorSide = other(gone);
    const survivor = survivorSide === 'a' ? a : b;
    const reason = `deleted-${gone}`;
    const unlink = () => ops.push({ kind: 'unlink', a: link.a, b: link.b, reason });
    const policy = settings.deletions.policy;
    if (policy === 'never' || !survivor || !c.side[gone].flows || editedSinceBaseline(c, survivorSide, survivor, link)) {
      return unlink();
    }
    const ref = { a: link.a, b: link.b };
    if (policy === 'delete') {
      const protectedSide = survivorSide === 'a' ? settings.deletions.protectA : settings.deletions.protectB;
      if (protectedSide) return unlink();
      ops.push({ kind: 'delete', target: survivorSide, id: survivor.id, version: survivor.version, link: ref });
      return;
    }
    const f = c.side[survivorSide].tags;
    if (f && !f.readOnly) {
      const list = toList(survivor.fields[f.key] ?? null);
      if (!list.some((t) => t.toLowerCase() === TRASH_TAG.toLowerCase())) {
        list.push(TRASH_TAG);
        const v = f.type === 'multipicklist' ? list : list.join(', ');
        const base = (survivorSide === 'a' ? link.baselineA : link.baselineB) ?? {};
        ops.push({
          kind: 'update', target: survivorSide, id: survivor.id, version: survivor.version, fields: { [f.key]: v },
          link: ref, baseline: { ...base, ...(f.key in base ? { [f.key]: v } : {}) }, purpose: 'trash',
        });
      }
    }
    unlink();
  };

  // Linked records first, so that matching below knows every record a link already holds.
  const planned = new Set<Link>();
  const unlinked: Snapshot[] = [];
  for (const r of input.changed) {
    const link = linkOf[r.side].get(r.id);
    if (!link) {
      if (!r.deleted) unlinked.push(r);
      continue;
    }
    if (planned.has(link)) continue;
    planned.add(link);
    // A stopped link (a deletion, a manual unlink) keeps both records out of sync and out of matching.
    if (link.state !== undefined && link.state !== 'active') continue;
    const a = snap('a', link.a);
    const b = snap('b', link.b);
    if (a?.deleted || b?.deleted) {
      if (a) settle(a);
      if (b) settle(b);
      planDeletion(link, a, b);
    }
    else if (a && b) emitMerge(link, a, b, false, { a: [], b: [] });
  }

  planMatches(c, unlinked, { snap, linkOf, verdict, emitMerge, ops, ambiguous, snaps });
  return { ops, conflicts, ambiguous, settled: [...settled.values()] };
}

/** The survivor of a deletion was edited since both sides last agreed (or never agreed): an edit beats a deletion. */
function editedSinceBaseline(c: Compiled, s: Side, r: Snapshot, link: Link): boolean {
  const base = s === 'a' ? link.baselineA : link.baselineB;
  if (base === null) return true;
  for (const p of c.pairs) {
    const k = p.key[s];
    if (!(k in base)) continue;
    if (!sameValue(r.fields[k] ?? null, base[k], p.kind)) return true;
  }
  return false;
}

interface MatchEnv {
  snap: (s: Side, id: string) => Snapshot | undefined;
  linkOf: { a: Map<string, Link>; b: Map<string, Link> };
  verdict: (r: Snapshot) => RuleVerdict;
  emitMerge: (link: Link, a: Snapshot, b: Snapshot, isNew: boolean, extra: { a: string[]; b: string[] }) => void;
  ops: Operation[];
  ambiguous: Ambiguous[];
  snaps: Map<string, Snapshot>;
}

/**
 * Matching of unlinked records on email. A pair links only when each is the other's one candidate, so a
 * batch holding both sides of a person, or duplicates on one side, never yields two links or a link and a
 * create for the same person.
 */
function planMatches(c: Compiled, unlinked: Snapshot[], env: MatchEnv) {
  if (unlinked.length === 0) return;
  const settings = c.ctx.settings;
  const emailsCache = new Map<Snapshot, string[]>();
  const emailsOf = (r: Snapshot) => {
    let e = emailsCache.get(r);
    if (!e) {
      e = emailKeysOf(r.fields, c.side[r.side].emailKeys);
      emailsCache.set(r, e);
    }
    return e;
  };
  const index = { a: new Map<string, Snapshot[]>(), b: new Map<string, Snapshot[]>() };
  for (const r of env.snaps.values()) {
    if (r.deleted) continue;
    for (const e of emailsOf(r)) {
      const list = index[r.side].get(e);
      if (list) list.push(r);
      else index[r.side].set(e, [r]);
    }
  }
  const candidatesOf = (r: Snapshot): Snapshot[] => {
    const out: Snapshot[] = [];
    const idx = index[other(r.side)];
    for (const e of emailsOf(r)) {
      for (const x of idx.get(e) ?? []) if (!out.includes(x)) out.push(x);
    }
    return out;
  };
  const claimed = new Set<Snapshot>();
  const isLinked = (r: Snapshot) => env.linkOf[r.side].has(r.id);
  const wantsToSync = (r: Snapshot) => c.side[r.side].flows && env.verdict(r).pass;

  for (const r of unlinked) {
    if (claimed.has(r) || isLinked(r)) continue;
    const current = env.snap(r.side, r.id);
    if (current !== r) continue; // a duplicate entry of `changed`; the later one was planned
    const emails = emailsOf(r);
    if (emails.length === 0) {
      if (!settings.avoidDuplicates && wantsToSync(r)) planCreate(c, r, env, claimed);
      continue;
    }
    const candidates = candidatesOf(r);
    if (candidates.length === 0) {
      if (wantsToSync(r)) planCreate(c, r, env, claimed);
      continue;
    }
    const cand = candidates[0];
    let mutual = candidates.length === 1 && !isLinked(cand) && !claimed.has(cand);
    if (mutual) {
      const back = candidatesOf(cand);
      mutual = back.length === 1 && back[0] === r;
    }
    if (!mutual) {
      if (wantsToSync(r)) {
        const shared = emails.find((e) => candidates.some((x) => emailsOf(x).includes(e))) ?? emails[0];
        env.ambiguous.push({ side: r.side, id: r.id, candidates: candidates.map((x) => x.id), email: shared });
      }
      continue;
    }
    if (!wantsToSync(r) && !wantsToSync(cand)) continue;
    claimed.add(r);
    claimed.add(cand);
    const a = r.side === 'a' ? r : cand;
    const b = r.side === 'a' ? cand : r;
    const link: Link = { a: a.id, b: b.id, baselineA: null, baselineB: null };
    // A first sync brings the rule's tags to the side the contact arrives on.
    const extra = {
      a: wantsToSync(b) ? env.verdict(b).tags : [],
      b: wantsToSync(a) ? env.verdict(a).tags : [],
    };
    env.emitMerge(link, a, b, true, extra);
  }
}

function planCreate(c: Compiled, r: Snapshot, env: MatchEnv, claimed: Set<Snapshot>) {
  const from = r.side;
  const to = other(from);
  claimed.add(r);
  const fields: Fields = {};
  const baselineSource: Fields = {};
  const baselineTarget: Fields = {};
  for (const p of c.pairs) {
    const v = r.fields[p.key[from]] ?? null;
    baselineSource[p.key[from]] = v;
    if (!(p.key[to] in baselineTarget)) baselineTarget[p.key[to]] = null;
    if (!p.flow[from] || isEmpty(v)) continue;
    const t = translate(p, from, v);
    if (t === undefined || isEmpty(t)) continue;
    fields[p.key[to]] = t;
    baselineTarget[p.key[to]] = t;
  }
  const tags = [...env.verdict(r).tags];
  const u = c.side[from].unsubscribed;
  if (u) {
    const now = r.fields[u.key] ?? null;
    baselineSource[u.key] = now;
    if (isTrue(now)) tags.push(UNSUBSCRIBES_TAG);
  }
  const tf = c.side[to].tags;
  if (tags.length > 0 && tf && !tf.readOnly) {
    const list = toList(fields[tf.key] ?? null);
    for (const t of tags) if (!list.some((x) => x.toLowerCase() === t.toLowerCase())) list.push(t);
    const v = tf.type === 'multipicklist' ? list : list.join(', ');
    fields[tf.key] = v;
    if (tf.key in baselineTarget) baselineTarget[tf.key] = v;
  }
  const tu = c.side[to].unsubscribed;
  if (tu && !(tu.key in baselineTarget)) baselineTarget[tu.key] = fields[tu.key] ?? null;
  env.ops.push({
    kind: 'create',
    target: to,
    sourceId: r.id,
    fields,
    emails: emailKeysOf(r.fields, c.side[from].emailKeys),
    baselineSource,
    baselineTarget,
  });
}
