import { translate, type Compiled, type Pair } from './compile';
import type { Conflict, Link, SideBaseline } from './plan-types';
import type { RuleVerdict } from './rules';
import { otherSide as other, type FieldDef, type FieldValue, type Side, type Snapshot } from './types';
import {
  UNSUBSCRIBES_TAG,
  addMissingTags,
  isEmpty,
  isEngineTag,
  isTrue,
  listValue,
  sameValue,
  toList,
} from './values';

// The field-level three-way merge of two linked records. It follows file synchronizers (unison, vdirsyncer)
// at field level: each side's current value is compared with the baseline, the value both sides last agreed
// on, so that a side's own edit, the other side's edit, an echo of the engine's write and a conflict can be
// told apart. It departs from them in the first merge of a match (no baseline: fill empty fields, the master
// app wins differences) and in lists (tags merge as sets, so tags added on both sides are both kept).

type Fields = Record<string, FieldValue>;
type PerSide<T> = { a: T; b: T };

const SIDES = ['a', 'b'] as const;

export interface MergeResult {
  writes: PerSide<Fields>;
  newBase: PerSide<Fields>;
  conflicts: Conflict[];
}

/**
 * Merges one linked (or just matched) pair of records. `extraTags` are tags to put on each side's tags field
 * (rule tags of a first sync, the unsubscribes tag). Rules judge a contact by what it holds after the writes:
 * a merge that brings it into (or out of) the rules is merged again, or the next cycle would write what this
 * one held back.
 */
export function mergeRecords(
  c: Compiled, link: Link, snaps: PerSide<Snapshot>, verdicts: PerSide<RuleVerdict>, extraTags: PerSide<string[]>,
): MergeResult {
  let m = mergeOnce(c, link, snaps, verdicts, extraTags);
  for (let round = 0; round < 3; round++) {
    const after = {
      a: Object.keys(m.writes.a).length > 0 ? c.side.a.rules({ ...snaps.a.fields, ...m.writes.a }) : verdicts.a,
      b: Object.keys(m.writes.b).length > 0 ? c.side.b.rules({ ...snaps.b.fields, ...m.writes.b }) : verdicts.b,
    };
    if (after.a.pass === verdicts.a.pass && after.b.pass === verdicts.b.pass) break;
    verdicts = after;
    m = mergeOnce(c, link, snaps, verdicts, extraTags);
  }
  return m;
}

/** Baselines equal when every key holds the same datum; a missing key (new mapping) is a difference. */
export function baselineSame(c: Compiled, s: Side, before: SideBaseline, after: Fields): boolean {
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

/**
 * The merge of one pair of fields. Kept as plain functions over this state (no closures per field): the
 * planner runs them millions of times in an initial sync.
 */
interface PairState {
  p: Pair;
  sides: PerSide<MergeSide>;
  va: FieldValue;
  vb: FieldValue;
}

const valueOf = (st: PairState, s: Side): FieldValue => (s === 'a' ? st.va : st.vb);
const flows = (st: PairState, from: Side): boolean => st.p.flow[from] && st.sides[from].passes;

/** Whether the two sides' values of a pair hold the same datum, seen through the pair's translation. */
function pairEqual(p: Pair, va: FieldValue, vb: FieldValue): boolean {
  const t = p.tr.aToB(va);
  if (t !== undefined && sameValue(t, vb, p.kind)) return true;
  const u = p.tr.bToA(vb);
  return u !== undefined && sameValue(va, u, p.kind);
}

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

/** One pass of the merge over every pair, under the given rule verdicts. */
function mergeOnce(
  c: Compiled, link: Link, snaps: PerSide<Snapshot>, verdicts: PerSide<RuleVerdict>, extraTags: PerSide<string[]>,
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
        sides[s].writes[k] = listValue(p.def[s], next);
        // This side's own change, if it may not flow, stays pending: its baseline moves only by what was written.
        sides[s].newBase[k] = listValue(p.def[s], d[s] && !flows(st, s) ? applyDelta(sides[s].base![k] ?? null, incoming) : next);
        continue;
      }
    }
    // This side's own change that could not flow stays pending against its old baseline, moved only by what
    // the other side brought (even when the list already held it).
    const base = sides[s].base![k] ?? null;
    if (!(d[s] && !flows(st, s))) sides[s].newBase[k] = current;
    else if (!incoming) sides[s].newBase[k] = base;
    else sides[s].newBase[k] = listValue(p.def[s], applyDelta(base, incoming));
  }
}

function enforceListContainment(st: PairState, from: Side) {
  const to = other(from);
  const k = st.p.key[to];
  const current = k in st.sides[to].writes ? st.sides[to].writes[k] : valueOf(st, to);
  const source = toList(translate(st.p, from, valueOf(st, from)) ?? []).filter((t) => !isEngineTag(t));
  const next = applyDelta(current, { adds: source, removes: [] });
  if (next.length === toList(current).length) return;
  const v = listValue(st.p.def[to], next);
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
  addMissingTags(list, local);
  return listValue(def, list);
}

/** The unsubscribes policy: a contact that becomes unsubscribed gets the tag on the other side. */
function addUnsubscribe(c: Compiled, sides: PerSide<MergeSide>, s: Side, extraTags: PerSide<string[]>) {
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
  if (!addMissingTags(list, tags)) return;
  side.writes[f.key] = listValue(f, list);
  // Only mapped keys live in the baseline; an unmapped tags field is simply written. The tags join whatever the
  // baseline held, so a change still pending in this list stays pending.
  if (f.key in side.newBase) {
    const base = toList(side.newBase[f.key]);
    addMissingTags(base, tags);
    side.newBase[f.key] = listValue(f, base);
  }
}
