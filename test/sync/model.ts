import { buildPlanContext } from '../../sync/effective-mapping';
import { emailKeys } from '../../sync/match';
import type { Link, Operation, PlanContext, PlanOutput } from '../../sync/plan-types';
import { planBatch } from '../../sync/decide';
import type { ConnectionSettings } from '../../sync/settings';
import type { FieldDef, FieldValue, Side, Snapshot } from '../../sync/types';
import { isEmpty } from '../../sync/values';

// An in-memory model of a connection: two apps, the engine's tables (records with dirty flags, links with
// baselines) and a cycle that calls planBatch the way the activities do. It plays the database and the apps,
// and checks on the way what must never happen (a second link for a record, a write against a stale version,
// a deletion no setting asked for).

type Fields = Record<string, FieldValue>;

interface AppRecord {
  version: number;
  fields: Fields;
}

interface DbRecord {
  version: number;
  fields: Fields;
  deleted: boolean;
  dirty: boolean;
  emails: string[];
}

export interface ModelLink extends Link {
  state: string;
}

export interface CycleStats {
  ops: Operation[];
  appWrites: number;
  conflicts: number;
  ambiguous: PlanOutput['ambiguous'];
}

const other = (s: Side): Side => (s === 'a' ? 'b' : 'a');

export class Model {
  readonly ctx: PlanContext;
  readonly apps: Record<Side, Map<string, AppRecord>> = { a: new Map(), b: new Map() };
  readonly db: Record<Side, Map<string, DbRecord>> = { a: new Map(), b: new Map() };
  readonly links: ModelLink[] = [];
  readonly linkOf: Record<Side, Map<string, ModelLink>> = { a: new Map(), b: new Map() };
  /** (side, id, key) a user emptied at some point: the only fields the engine may empty on the other side */
  readonly userCleared = new Set<string>();
  readonly createdFrom = new Set<string>();
  private nextId = 0;

  constructor(
    readonly settings: ConnectionSettings,
    readonly catalogs: { a: FieldDef[]; b: FieldDef[] },
    /** how an app stores a written value (e.g. phones reformatted), to test echoes that look different */
    readonly storeAs: (side: Side, key: string, v: FieldValue) => FieldValue = (_s, _k, v) => v,
    readonly batchSize = 3,
  ) {
    this.ctx = buildPlanContext(settings, { a: 'model-a', b: 'model-b' }, catalogs);
  }

  // ---- what users do in the apps ----

  userCreate(side: Side, fields: Fields): string {
    const id = `${side}${++this.nextId}`;
    this.apps[side].set(id, { version: 1, fields: this.stored(side, fields) });
    return id;
  }

  userEdit(side: Side, id: string, changes: Fields) {
    const r = this.apps[side].get(id);
    if (!r) return;
    for (const [k, v] of Object.entries(changes)) {
      if (isEmpty(v) && !isEmpty(r.fields[k] ?? null)) this.userCleared.add(`${side}:${id}:${k}`);
    }
    r.fields = { ...r.fields, ...this.stored(side, changes) };
    r.version += 1;
  }

  userDelete(side: Side, id: string) {
    this.apps[side].delete(id);
  }

  private stored(side: Side, fields: Fields): Fields {
    return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, this.storeAs(side, k, v)]));
  }

  // ---- the engine ----

  /** A full scan of both sides: changed and vanished records become dirty. */
  scan() {
    for (const s of ['a', 'b'] as const) {
      for (const [id, r] of this.apps[s]) {
        const d = this.db[s].get(id);
        if (d && !d.deleted && d.version === r.version) continue;
        this.db[s].set(id, {
          version: r.version,
          fields: structuredClone(r.fields),
          deleted: false,
          dirty: true,
          emails: emailKeys(r.fields, this.catalogs[s]),
        });
      }
      for (const [id, d] of this.db[s]) {
        if (!d.deleted && !this.apps[s].has(id)) {
          d.deleted = true;
          d.dirty = true;
        }
      }
    }
  }

  private snapshot(side: Side, id: string): Snapshot | undefined {
    const d = this.db[side].get(id);
    if (!d) return undefined;
    return { side, id, version: String(d.version), fields: d.fields, deleted: d.deleted };
  }

  /** Runs one cycle: scan, then plan and apply dirty records a batch at a time, as the activities do. */
  cycle(): CycleStats {
    this.scan();
    const stats: CycleStats = { ops: [], appWrites: 0, conflicts: 0, ambiguous: [] };
    // Like the activity: take dirty records a batch at a time until none are left.
    for (let guard = 0; guard < 10_000; guard++) {
      const batch: [Side, string][] = [];
      for (const s of ['a', 'b'] as const) {
        for (const [id, d] of this.db[s]) if (d.dirty && batch.length < this.batchSize) batch.push([s, id]);
      }
      if (batch.length === 0) return stats;
      const out = this.planBatchOf(batch);
      stats.ops.push(...out.ops);
      stats.conflicts += out.conflicts.length;
      stats.ambiguous.push(...out.ambiguous);
      // The candidates' state is taken as the plan saw it, before its own writes (a delete may resolve it).
      for (const amb of out.ambiguous) this.ambiguous.set(`${amb.side}:${amb.id}`, this.candidateState(amb));
      stats.appWrites += this.apply(out.ops);
      this.reopenAmbiguous();
    }
    throw new Error('the cycle never ran out of dirty records');
  }

  /** Open ambiguous matches, with the state of their candidates when they were found ambiguous. */
  private readonly ambiguous = new Map<string, { side: Side; id: string; state: string }>();

  private candidateState(amb: { side: Side; id: string; candidates: string[] }) {
    const o = other(amb.side);
    const state = amb.candidates
      .map((c) => {
        const d = this.db[o].get(c);
        if (!d || d.deleted) return `${c}=gone`;
        // Its rivals on the ambiguous record's side count too: when one leaves, the match may become unique.
        const rivals = [...this.db[amb.side]]
          .filter(([, r]) => !r.deleted && r.emails.some((e) => d.emails.includes(e)))
          .map(([id]) => id)
          .sort();
        return `${c}=${d.emails.join(',')}/${this.linkOf[o].get(c)?.state ?? '-'}/${rivals.join(',')}`;
      })
      .join(';');
    return { side: amb.side, id: amb.id, state };
  }

  /**
   * An ambiguous match is looked at again when one of its candidates changes emails, disappears or gets
   * linked: what the activity does so that an ambiguity the engine's own writes resolved does not linger.
   */
  private reopenAmbiguous() {
    for (const [key, amb] of this.ambiguous) {
      const d = this.db[amb.side].get(amb.id);
      if (!d || d.deleted || this.linkOf[amb.side].has(amb.id)) {
        this.ambiguous.delete(key);
        continue;
      }
      const candidates = amb.state.split(';').map((x) => x.split('=')[0]).filter((x) => x !== '');
      if (this.candidateState({ side: amb.side, id: amb.id, candidates }).state !== amb.state) {
        this.ambiguous.delete(key);
        d.dirty = true;
      }
    }
  }

  private planBatchOf(batch: [Side, string][]): PlanOutput {
    const changed = batch.map(([s, id]) => this.snapshot(s, id)!);
    const related = new Map<string, Snapshot>();
    const links = new Set<ModelLink>();
    const addRelated = (s: Side, id: string) => {
      const snap = this.snapshot(s, id);
      if (snap) related.set(`${s}:${id}`, snap);
      const l = this.linkOf[s].get(id);
      if (l) links.add(l);
    };
    const sharing = (s: Side, emails: string[]) => {
      const out: string[] = [];
      for (const [id, d] of this.db[s]) if (!d.deleted && d.emails.some((e) => emails.includes(e))) out.push(id);
      return out;
    };
    for (const r of changed) {
      const l = this.linkOf[r.side].get(r.id);
      if (l) {
        links.add(l);
        addRelated(other(r.side), r.side === 'a' ? l.b : l.a);
        continue;
      }
      const emails = this.db[r.side].get(r.id)!.emails;
      // Candidates on the other side, and (second hop) the records on this side sharing their emails.
      for (const c of sharing(other(r.side), emails)) {
        addRelated(other(r.side), c);
        for (const back of sharing(r.side, this.db[other(r.side)].get(c)!.emails)) addRelated(r.side, back);
      }
    }
    const out = planBatch({ mode: 'incremental', context: this.ctx, changed, links: [...links], related: [...related.values()] });
    for (const r of out.settled ?? []) {
      const d = this.db[r.side].get(r.id);
      if (d && String(d.version) === r.version) d.dirty = false;
    }
    return out;
  }

  /**
   * The activity stores what the app returned for a write, so later batches of the cycle see it; the version
   * is left unknown so that the next scan delivers the write back as a change (the echo the planner must ignore).
   */
  private recordWrite(side: Side, id: string) {
    const r = this.apps[side].get(id)!;
    const d = this.db[side].get(id);
    if (!d) return;
    d.fields = structuredClone(r.fields);
    d.emails = emailKeys(r.fields, this.catalogs[side]);
    d.version = -1;
  }

  private addLink(l: ModelLink) {
    if (this.linkOf.a.has(l.a) || this.linkOf.b.has(l.b)) throw new Error(`second link for ${l.a} or ${l.b}`);
    this.links.push(l);
    this.linkOf.a.set(l.a, l);
    this.linkOf.b.set(l.b, l);
  }

  private findLink(ref: { a: string; b: string }): ModelLink {
    const l = this.linkOf.a.get(ref.a);
    if (!l || l.b !== ref.b) throw new Error(`no link ${ref.a}-${ref.b}`);
    return l;
  }

  /** Applies operations; returns how many app writes were made. */
  private apply(ops: Operation[]): number {
    let writes = 0;
    for (const op of ops) {
      switch (op.kind) {
        case 'link':
          this.addLink({ a: op.a, b: op.b, baselineA: op.baselineA, baselineB: op.baselineB, state: 'active' });
          break;
        case 'create': {
          const key = `${other(op.target)}:${op.sourceId}`;
          if (this.createdFrom.has(key)) throw new Error(`created twice from ${key}`);
          this.createdFrom.add(key);
          for (const v of Object.values(op.fields)) if (isEmpty(v)) throw new Error('a create writes an empty value');
          const id = this.userCreate(op.target, op.fields);
          // The activity records the created contact, so that a deletion of it is noticed like any other.
          const created = this.apps[op.target].get(id)!;
          this.db[op.target].set(id, {
            version: created.version,
            fields: structuredClone(created.fields),
            deleted: false,
            dirty: false,
            emails: emailKeys(created.fields, this.catalogs[op.target]),
          });
          const base = op.baselineTarget ?? op.fields;
          const [a, b] = op.target === 'a' ? [id, op.sourceId] : [op.sourceId, id];
          this.addLink({
            a,
            b,
            baselineA: op.target === 'a' ? base : op.baselineSource,
            baselineB: op.target === 'b' ? base : op.baselineSource,
            state: 'active',
          });
          writes += 1;
          break;
        }
        case 'update': {
          const r = this.apps[op.target].get(op.id);
          if (!r) throw new Error(`update of missing ${op.target}:${op.id}`);
          if (String(r.version) !== op.version) throw new Error(`stale write to ${op.target}:${op.id}`);
          const l = this.findLink(op.link);
          const partner = op.target === 'a' ? l.b : l.a;
          for (const [k, v] of Object.entries(op.fields)) {
            // Lists shrink by the other side's removals, which set merging accepts; only scalars are checked.
            if (!isEmpty(v) || isEmpty(r.fields[k] ?? null) || Array.isArray(r.fields[k])) continue;
            const pairs = this.ctx.mapping.filter((m) => (op.target === 'a' ? m.a : m.b) === k);
            const cleared = pairs.some((m) => this.userCleared.has(`${other(op.target)}:${partner}:${op.target === 'a' ? m.b : m.a}`));
            if (!cleared) throw new Error(`the engine emptied ${op.target}:${op.id}.${k} though no user cleared it`);
          }
          r.fields = { ...r.fields, ...this.stored(op.target, op.fields) };
          r.version += 1;
          this.recordWrite(op.target, op.id);
          if (op.target === 'a') {
            l.baselineA = op.baseline;
            if (op.otherBaseline) l.baselineB = op.otherBaseline;
          } else {
            l.baselineB = op.baseline;
            if (op.otherBaseline) l.baselineA = op.otherBaseline;
          }
          writes += 1;
          break;
        }
        case 'delete': {
          const d = this.settings.deletions;
          const protectedSide = op.target === 'a' ? d.protectA : d.protectB;
          if (d.policy !== 'delete' || protectedSide) throw new Error('a deletion no setting asked for');
          this.apps[op.target].delete(op.id);
          const gone = this.db[op.target].get(op.id);
          if (gone) gone.deleted = true;
          this.findLink(op.link).state = `deleted-${other(op.target)}`;
          writes += 1;
          break;
        }
        case 'unlink':
          this.findLink(op).state = op.reason;
          break;
        case 'baseline': {
          const l = this.findLink(op);
          l.baselineA = op.baselineA;
          l.baselineB = op.baselineB;
          break;
        }
      }
    }
    return writes;
  }
}
