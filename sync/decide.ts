import { compile, translate, type Compiled } from './compile';
import { emailKeysOf, matchRecords } from './match';
import { baselineSame, mergeRecords } from './merge';
import type { Ambiguous, Conflict, Link, Operation, PlanInput, PlanOutput, Settled } from './plan-types';
import type { RuleVerdict } from './rules';
import { otherSide as other, type FieldValue, type Side, type Snapshot } from './types';
import { TRASH_TAG, UNSUBSCRIBES_TAG, addMissingTags, isEmpty, isTrue, listValue, sameValue, toList } from './values';

// The planner's decisions: snapshots, links and baselines in; operations out. As in vdirsyncer's
// `_get_actions`, each changed record's situation decides its action, and only the action looks at fields:
// the field-level merge is sync/merge.ts, matching by email sync/match.ts, the compiled mapping sync/compile.ts.

type Fields = Record<string, FieldValue>;

/** Where a changed record stands, which is all its action depends on. */
type Situation =
  | { is: 'unlinked' }
  | { is: 'linked'; link: Link; a: Snapshot; b: Snapshot }
  | { is: 'deleted'; link: Link; a: Snapshot | undefined; b: Snapshot | undefined }
  | { is: 'none'; why: 'deleted-unlinked' | 'superseded' | 'link-planned' | 'link-stopped' | 'partner-missing' };

const none = (why: Extract<Situation, { is: 'none' }>['why']): Situation => ({ is: 'none', why });
const UNLINKED: Situation = { is: 'unlinked' };
const DELETED_UNLINKED = none('deleted-unlinked');
const SUPERSEDED = none('superseded');
const LINK_PLANNED = none('link-planned');
const LINK_STOPPED = none('link-stopped');
const PARTNER_MISSING = none('partner-missing');

/**
 * Plans one batch. Pure and deterministic: the same input gives the same operations, in the order of
 * `changed`. Each changed record, by its situation:
 *
 * | linked | link    | deleted         | partner in the batch | action                                                      |
 * |--------|---------|-----------------|----------------------|-------------------------------------------------------------|
 * | no     |         | yes             |                      | none: there is nothing to tell the other side               |
 * | no     |         | no              |                      | matching by email (`planMatches`): link and merge, create, or ambiguous |
 * | yes    | stopped |                 |                      | none: a stopped link keeps both records out of sync and out of matching |
 * | yes    | active  | on a, b or both |                      | the deletion policy (`planDeletion`)                        |
 * | yes    | active  | no              | no                   | none: left for later                                        |
 * | yes    | active  | no              | yes                  | the field-level merge (`planMerge`, sync/merge.ts)          |
 *
 * A record listed twice in `changed` is planned once, as its later entry; a link once, by whichever of its
 * records comes first. Linked records are planned before any matching, so that matching knows every record a
 * link holds and sees records as the links' writes leave them.
 */
export function planBatch(input: PlanInput): PlanOutput {
  const plan = new BatchPlan(input);
  const unlinked: Snapshot[] = [];
  for (const r of input.changed) {
    const s = plan.situationOf(r);
    switch (s.is) {
      case 'unlinked':
        unlinked.push(r);
        break;
      case 'deleted':
        plan.planDeletion(s.link, s.a, s.b);
        break;
      case 'linked':
        plan.planMerge(s.link, s.a, s.b, false, { a: [], b: [] });
        break;
      case 'none':
        break;
    }
  }
  plan.planMatches(unlinked);
  return plan.output();
}

const snapKey = (s: Side, id: string) => `${s}\u0000${id}`;

/** One batch being planned: what it knows of each record and link, and the operations decided so far. */
class BatchPlan {
  private readonly c: Compiled;
  private readonly ops: Operation[] = [];
  private readonly conflicts: Conflict[] = [];
  private ambiguous: Ambiguous[] = [];
  /** every record's latest snapshot, as the writes planned so far leave it */
  private readonly snaps = new Map<string, Snapshot>();
  private readonly linkOf = { a: new Map<string, Link>(), b: new Map<string, Link>() };
  private readonly planned = new Set<Link>();
  private readonly verdicts = new Map<string, RuleVerdict>();
  private readonly settled = new Map<string, Settled>();

  constructor(input: PlanInput) {
    this.c = compile(input.context);
    for (const r of input.related) this.snaps.set(snapKey(r.side, r.id), r);
    // A changed record is newer than any related copy of it.
    for (const r of input.changed) this.snaps.set(snapKey(r.side, r.id), r);
    for (const l of input.links) {
      this.linkOf.a.set(l.a, l);
      this.linkOf.b.set(l.b, l);
    }
    for (const r of input.changed) this.settle(r);
  }

  output(): PlanOutput {
    return { ops: this.ops, conflicts: this.conflicts, ambiguous: this.ambiguous, settled: [...this.settled.values()] };
  }

  /** Where a changed record stands. Asking for a linked record takes its link: its partner then finds it planned. */
  situationOf(r: Snapshot): Situation {
    const link = this.linkOf[r.side].get(r.id);
    if (!link) {
      if (r.deleted) return DELETED_UNLINKED;
      return this.snap(r.side, r.id) === r ? UNLINKED : SUPERSEDED;
    }
    if (this.planned.has(link)) return LINK_PLANNED;
    this.planned.add(link);
    // A deletion, a manual unlink: the link's records are neither synced nor matched again.
    if (link.state !== undefined && link.state !== 'active') return LINK_STOPPED;
    const a = this.snap('a', link.a);
    const b = this.snap('b', link.b);
    if (a?.deleted || b?.deleted) return { is: 'deleted', link, a, b };
    if (a && b) return { is: 'linked', link, a, b };
    return PARTNER_MISSING;
  }

  private snap(s: Side, id: string): Snapshot | undefined {
    return this.snaps.get(snapKey(s, id));
  }

  private verdict(r: Snapshot): RuleVerdict {
    const k = snapKey(r.side, r.id);
    let v = this.verdicts.get(k);
    if (!v) {
      v = this.c.side[r.side].rules(r.fields);
      this.verdicts.set(k, v);
    }
    return v;
  }

  private settle(r: Snapshot) {
    this.settled.set(snapKey(r.side, r.id), { side: r.side, id: r.id, version: r.version });
  }

  /** The merge of a linked or just matched pair, as operations: the link, the writes, the baselines. */
  planMerge(link: Link, a: Snapshot, b: Snapshot, isNew: boolean, extra: { a: string[]; b: string[] }) {
    const { c, ops } = this;
    this.settle(a);
    this.settle(b);
    const m = mergeRecords(c, link, { a, b }, { a: this.verdict(a), b: this.verdict(b) }, extra);
    this.conflicts.push(...m.conflicts);
    const wa = Object.keys(m.writes.a).length > 0;
    const wb = Object.keys(m.writes.b).length > 0;
    // Matching (after the links) sees records as they will be: an email just moved away is no candidate.
    if (wa) this.snaps.set(snapKey('a', a.id), { ...a, fields: { ...a.fields, ...m.writes.a } });
    if (wb) this.snaps.set(snapKey('b', b.id), { ...b, fields: { ...b.fields, ...m.writes.b } });
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
  }

  /**
   * A linked record deleted on one side or both:
   *
   * | deleted on | policy | the survivor                                                        | action                   |
   * |------------|--------|---------------------------------------------------------------------|--------------------------|
   * | both       |        |                                                                     | unlink                   |
   * | one        | never  |                                                                     | unlink                   |
   * | one        |        | not loaded; or the deleted side's contacts may not flow; or edited since the baseline (an edit beats a deletion) | unlink |
   * | one        | delete | on a protected side                                                 | unlink                   |
   * | one        | delete | otherwise                                                           | delete it                |
   * | one        | trash  | has a writable tags field without the trash tag                      | tag it, unlink           |
   * | one        | trash  | otherwise                                                           | unlink                   |
   */
  planDeletion(link: Link, a: Snapshot | undefined, b: Snapshot | undefined) {
    const { c, ops } = this;
    const { deletions } = c.ctx.settings;
    if (a) this.settle(a);
    if (b) this.settle(b);
    const deletedA = a?.deleted ?? false;
    const deletedB = b?.deleted ?? false;
    if (deletedA && deletedB) {
      ops.push({ kind: 'unlink', a: link.a, b: link.b, reason: 'deleted-both' });
      return;
    }
    const gone: Side = deletedA ? 'a' : 'b';
    const survivorSide = other(gone);
    const survivor = survivorSide === 'a' ? a : b;
    const unlink = () => ops.push({ kind: 'unlink', a: link.a, b: link.b, reason: `deleted-${gone}` });
    if (
      deletions.policy === 'never' ||
      !survivor ||
      !c.side[gone].flows ||
      editedSinceBaseline(c, survivorSide, survivor, link)
    ) {
      return unlink();
    }
    const ref = { a: link.a, b: link.b };
    if (deletions.policy === 'delete') {
      if (survivorSide === 'a' ? deletions.protectA : deletions.protectB) return unlink();
      ops.push({ kind: 'delete', target: survivorSide, id: survivor.id, version: survivor.version, link: ref });
      return;
    }
    const f = c.side[survivorSide].tags;
    if (f && !f.readOnly) {
      const list = toList(survivor.fields[f.key] ?? null);
      if (addMissingTags(list, [TRASH_TAG])) {
        const v = listValue(f, list);
        const base = (survivorSide === 'a' ? link.baselineA : link.baselineB) ?? {};
        ops.push({
          kind: 'update', target: survivorSide, id: survivor.id, version: survivor.version, fields: { [f.key]: v },
          link: ref, baseline: { ...base, ...(f.key in base ? { [f.key]: v } : {}) }, purpose: 'trash',
        });
      }
    }
    unlink();
  }

  /** Matching of the unlinked records (sync/match.ts), then each decision as operations. */
  planMatches(unlinked: Snapshot[]) {
    if (unlinked.length === 0) return;
    const { c } = this;
    const syncing = new Set<Snapshot>();
    for (const r of this.snaps.values()) {
      if (r.deleted || this.linkOf[r.side].has(r.id)) continue;
      if (c.side[r.side].flows && this.verdict(r).pass) syncing.add(r);
    }
    const { decisions, ambiguous } = matchRecords({
      records: unlinked,
      pool: this.snaps.values(),
      linked: this.linkOf,
      syncing,
      emailKeys: { a: c.side.a.emailKeys, b: c.side.b.emailKeys },
      avoidDuplicates: c.ctx.settings.avoidDuplicates,
    });
    this.ambiguous = ambiguous;
    for (const d of decisions) {
      if (d.kind === 'create') {
        this.planCreate(d.record);
        continue;
      }
      const link: Link = { a: d.a.id, b: d.b.id, baselineA: null, baselineB: null };
      // A first sync brings the rule's tags to the side the contact arrives on.
      const extra = {
        a: syncing.has(d.b) ? this.verdict(d.b).tags : [],
        b: syncing.has(d.a) ? this.verdict(d.a).tags : [],
      };
      this.planMerge(link, d.a, d.b, true, extra);
    }
  }

  /** The counterpart of a record no one matched, created on the other side with the record's mapped values. */
  private planCreate(r: Snapshot) {
    const { c } = this;
    const from = r.side;
    const to = other(from);
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
    const tags = [...this.verdict(r).tags];
    const u = c.side[from].unsubscribed;
    if (u) {
      const now = r.fields[u.key] ?? null;
      baselineSource[u.key] = now;
      if (isTrue(now)) tags.push(UNSUBSCRIBES_TAG);
    }
    const tf = c.side[to].tags;
    if (tags.length > 0 && tf && !tf.readOnly) {
      const list = toList(fields[tf.key] ?? null);
      addMissingTags(list, tags);
      const v = listValue(tf, list);
      fields[tf.key] = v;
      if (tf.key in baselineTarget) baselineTarget[tf.key] = v;
    }
    const tu = c.side[to].unsubscribed;
    if (tu && !(tu.key in baselineTarget)) baselineTarget[tu.key] = fields[tu.key] ?? null;
    this.ops.push({
      kind: 'create',
      target: to,
      sourceId: r.id,
      fields,
      emails: emailKeysOf(r.fields, c.side[from].emailKeys),
      baselineSource,
      baselineTarget,
    });
  }
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
