import type { Operation } from './plan-types';
import type { Side } from './types';

// The safety brake. API outages and paging bugs make contacts look deleted; before a cycle turns that into
// real deletions, it stops and waits for someone to confirm.

export interface BrakeInput {
  /** active links before the cycle */
  linkedCount: number;
  /** every operation the cycle plans (all batches) */
  ops: Operation[];
  /** contacts each side listed at the previous full scan / cycle, and now */
  previousCounts: { a: number; b: number };
  currentCounts: { a: number; b: number };
  /** share of the linked contacts a cycle may trash or delete (settings.safetyBrakeShare) */
  share: number;
  /** fewest contacts a side must have had for an empty listing to look suspicious; default 5 */
  minPreviousForEmpty?: number;
}

export interface BrakeVerdict {
  needsConfirmation: boolean;
  reasons: string[];
  /** deletes plus trash tags the cycle would write */
  destructive: number;
}

/** Deletes and trash tags: the writes the brake guards. An unlink deletes nothing and never counts. */
export function countDestructive(ops: Operation[]): number {
  let n = 0;
  for (const op of ops) {
    if (op.kind === 'delete' || (op.kind === 'update' && op.purpose === 'trash')) n += 1;
  }
  return n;
}

export function brakeCheck(input: BrakeInput): BrakeVerdict {
  const reasons: string[] = [];
  const minPrevious = input.minPreviousForEmpty ?? 5;
  for (const s of ['a', 'b'] as Side[]) {
    const before = input.previousCounts[s];
    if (input.currentCounts[s] === 0 && before >= minPrevious) {
      reasons.push(`side ${s.toUpperCase()} lists no contacts where it had ${before}`);
    }
  }
  const destructive = countDestructive(input.ops);
  const allowed = input.share * input.linkedCount;
  if (destructive > 0 && destructive > allowed) {
    const pct = Math.round(input.share * 1000) / 10;
    reasons.push(
      `the cycle would trash or delete ${destructive} of ${input.linkedCount} linked contacts (more than ${pct}%)`,
    );
  }
  return { needsConfirmation: reasons.length > 0, reasons, destructive };
}
