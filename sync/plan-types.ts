import type { ConnectionSettings } from './settings';
import type { FieldDef, FieldValue, Side, Snapshot } from './types';

// The planner's input and output: plain data in, plain operations out. Activities gather the input from
// the database and perform the output; the planner never touches either.

/** Mapped field values of one side as they were when both sides last agreed; null: never agreed yet. */
export type SideBaseline = Record<string, FieldValue> | null;

export interface Link {
  a: string;
  b: string;
  baselineA: SideBaseline;
  baselineB: SideBaseline;
  /**
   * 'active' (or absent) while syncing; otherwise why it stopped ('deleted-a', 'deleted-b', ...). Stopped links
   * must be passed too: their records are neither synced nor matched again (a deleted contact's partner is not
   * re-created).
   */
  state?: string;
}

/** One effective mapping pair after defaults, custom pairs, toggles and directions are resolved. */
export interface MappingPair {
  a: string;
  b: string;
  /** Which way values may flow for this pair. */
  direction: 'two-way' | 'a-to-b' | 'b-to-a';
  valueMap?: Record<string, string>;
}

export interface PlanContext {
  settings: ConnectionSettings;
  apps: { a: string; b: string };
  catalogs: { a: FieldDef[]; b: FieldDef[] };
  mapping: MappingPair[];
}

export interface PlanInput {
  mode: 'initial' | 'incremental';
  context: PlanContext;
  /** Records that changed (or were scanned) since they were last planned, on either side. */
  changed: Snapshot[];
  /** Every link that touches a changed record or a candidate. */
  links: Link[];
  /** Current snapshots of linked partners and of email-match candidates, on either side. */
  related: Snapshot[];
}

export type Operation =
  /** Record a link between two existing contacts (a match); baselines are set for sides that need no write. */
  | { kind: 'link'; a: string; b: string; baselineA: SideBaseline; baselineB: SideBaseline }
  /** Create the source's counterpart on the target side, then link them with the given baselines. */
  | {
      kind: 'create';
      target: Side;
      sourceId: string;
      fields: Record<string, FieldValue>;
      /** lower-cased emails, used to find a create that succeeded before a crash */
      emails: string[];
      baselineSource: Record<string, FieldValue>;
      /** the new contact's baseline: its mapped keys as written (null where nothing was written) */
      baselineTarget?: Record<string, FieldValue>;
    }
  /** Write changed mapped fields to an existing contact; on success the target's baseline becomes `baseline`. */
  | {
      kind: 'update';
      target: Side;
      id: string;
      version: string;
      fields: Record<string, FieldValue>;
      link: { a: string; b: string };
      baseline: Record<string, FieldValue>;
      /** when the other side's baseline moves too (its change was accepted) */
      otherBaseline?: Record<string, FieldValue>;
      /** why the engine writes besides merging: 'trash' counts toward the safety brake */
      purpose?: 'trash';
    }
  | { kind: 'delete'; target: Side; id: string; version: string; link: { a: string; b: string } }
  /** Stop syncing a pair (a deletion under the "never" policy, a contact gone from the rules...). */
  | { kind: 'unlink'; a: string; b: string; reason: string }
  /** Only the baselines move: both sides already agree. */
  | { kind: 'baseline'; a: string; b: string; baselineA: SideBaseline; baselineB: SideBaseline };

export interface Conflict {
  a: string;
  b: string;
  fieldA: string;
  fieldB: string;
  valueA: FieldValue;
  valueB: FieldValue;
  winner: Side;
}

export interface Ambiguous {
  side: Side;
  id: string;
  candidates: string[];
  email: string;
}

/** A record whose snapshot (at this version) the plan fully accounts for. */
export interface Settled {
  side: Side;
  id: string;
  version: string;
}

export interface PlanOutput {
  ops: Operation[];
  conflicts: Conflict[];
  ambiguous: Ambiguous[];
  /**
   * Every changed record plus every partner whose current state a planned link read (a linked partner, a
   * matched candidate). Clear the dirty flag of each, where the version still matches: a partner left dirty
   * would be planned again later in the cycle from its pre-write snapshot and undo the writes just made.
   */
  settled?: Settled[];
}
