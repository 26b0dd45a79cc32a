import { emailFields } from './field-catalog';
import type { Ambiguous, Link } from './plan-types';
import { otherSide, type FieldDef, type FieldValue, type Snapshot } from './types';

// Matching of unlinked records ("avoid duplicates"). The match key is every email of a contact, trimmed and
// lower-cased. A pair links only when each is the other's one candidate, so a batch holding both sides of a
// person, or duplicates on one side, never yields two links or a link and a create for the same person.

/** Keys from the given email field keys; the planner computes the keys once per catalog and calls this. */
export function emailKeysOf(fields: Record<string, FieldValue>, keys: readonly string[]): string[] {
  const out: string[] = [];
  for (const k of keys) {
    const v = fields[k];
    if (v === null || v === undefined) continue;
    const list = Array.isArray(v) ? v : [v];
    for (const item of list) {
      if (typeof item !== 'string') continue;
      // A field holding "a@x.com, b@y.com" is two addresses, not one odd key.
      for (const part of item.split(/[,;]/)) {
        const e = part.trim().toLowerCase();
        if (e !== '' && e.includes('@') && !out.includes(e)) out.push(e);
      }
    }
  }
  return out;
}

/** Every email field value of a record (mapped or not), trimmed, lower-cased, deduplicated. */
export function emailKeys(fields: Record<string, FieldValue>, catalog: FieldDef[]): string[] {
  return emailKeysOf(
    fields,
    emailFields(catalog).map((f) => f.key),
  );
}

export interface MatchInput {
  /** the records to match, in the order they are planned: unlinked, not deleted, each once */
  records: Snapshot[];
  /** every record of the batch as the links' writes leave it: where candidates are looked up */
  pool: Iterable<Snapshot>;
  /** the links of the batch by record id: a linked record is no candidate */
  linked: { a: ReadonlyMap<string, Link>; b: ReadonlyMap<string, Link> };
  /** records whose side lets them go to the other and that pass its rules */
  syncing: ReadonlySet<Snapshot>;
  /** each side's email field keys */
  emailKeys: { a: readonly string[]; b: readonly string[] };
  avoidDuplicates: boolean;
}

/** What matching decides for a record, in the order of the records. */
export type MatchDecision =
  /** no counterpart: create one on the other side */
  | { kind: 'create'; record: Snapshot }
  /** each is the other's one candidate: link them (and merge) */
  | { kind: 'link'; a: Snapshot; b: Snapshot };

export interface MatchResult {
  decisions: MatchDecision[];
  /** records with more than one candidate (or a candidate already taken): neither linked nor created */
  ambiguous: Ambiguous[];
}

/**
 * For each record, in order:
 *
 * | emails | candidates on the other side                         | syncing                        | decision  |
 * |--------|------------------------------------------------------|--------------------------------|-----------|
 * |        | (the record is already claimed in this batch)        |                                | none      |
 * | none   |                                                      | it, and avoid duplicates off   | create    |
 * | some   | none                                                 | it                             | create    |
 * | some   | not exactly one, or one linked, claimed or not mutual | it                             | ambiguous |
 * | some   | exactly one, free, and its one candidate is the record | it or the candidate            | link      |
 * |        | otherwise                                            |                                | none      |
 *
 * A create or a link claims its records: a claimed record is no one's candidate any more.
 */
export function matchRecords(input: MatchInput): MatchResult {
  const decisions: MatchDecision[] = [];
  const ambiguous: Ambiguous[] = [];
  if (input.records.length === 0) return { decisions, ambiguous };
  const { linked, syncing } = input;
  const emailsCache = new Map<Snapshot, string[]>();
  const emailsOf = (r: Snapshot) => {
    let e = emailsCache.get(r);
    if (!e) {
      e = emailKeysOf(r.fields, input.emailKeys[r.side]);
      emailsCache.set(r, e);
    }
    return e;
  };
  const index = { a: new Map<string, Snapshot[]>(), b: new Map<string, Snapshot[]>() };
  for (const r of input.pool) {
    if (r.deleted) continue;
    for (const e of emailsOf(r)) {
      const list = index[r.side].get(e);
      if (list) list.push(r);
      else index[r.side].set(e, [r]);
    }
  }
  const candidatesOf = (r: Snapshot): Snapshot[] => {
    const out: Snapshot[] = [];
    const idx = index[otherSide(r.side)];
    for (const e of emailsOf(r)) {
      for (const x of idx.get(e) ?? []) if (!out.includes(x)) out.push(x);
    }
    return out;
  };
  const claimed = new Set<Snapshot>();
  const isLinked = (r: Snapshot) => linked[r.side].has(r.id);

  for (const r of input.records) {
    if (claimed.has(r)) continue;
    const emails = emailsOf(r);
    if (emails.length === 0) {
      if (!input.avoidDuplicates && syncing.has(r)) create(r);
      continue;
    }
    const candidates = candidatesOf(r);
    if (candidates.length === 0) {
      if (syncing.has(r)) create(r);
      continue;
    }
    const cand = candidates[0];
    let mutual = candidates.length === 1 && !isLinked(cand) && !claimed.has(cand);
    if (mutual) {
      const back = candidatesOf(cand);
      mutual = back.length === 1 && back[0] === r;
    }
    if (!mutual) {
      if (syncing.has(r)) {
        const shared = emails.find((e) => candidates.some((x) => emailsOf(x).includes(e))) ?? emails[0];
        ambiguous.push({ side: r.side, id: r.id, candidates: candidates.map((x) => x.id), email: shared });
      }
      continue;
    }
    if (!syncing.has(r) && !syncing.has(cand)) continue;
    claimed.add(r);
    claimed.add(cand);
    decisions.push(r.side === 'a' ? { kind: 'link', a: r, b: cand } : { kind: 'link', a: cand, b: r });
  }
  return { decisions, ambiguous };

  function create(r: Snapshot) {
    claimed.add(r);
    decisions.push({ kind: 'create', record: r });
  }
}

