import { FeedExpiredError } from '../errors';
import type { ListSnapshot } from './lists';

// The position of HubSpot's changes feed, which HubSpot does not have: Rapport builds one from the search API
// (contacts with lastmodifieddate ≥ a time, oldest first). Deletions are not in it: the archived list cannot be
// filtered by date, so the engine's reconcile finds them (see hubspotCapabilities).
//
// - Keyset paging: each page restarts the query at the newest time already read, instead of paging deep with
//   `after`. Paging by offset skips a contact whenever one read earlier is modified meanwhile (it moves to the
//   end), and stops at the search API's 10,000-result cap. Offsets are used only inside one millisecond.
// - A cycle re-reads the last OVERLAP_MS before the newest time seen, because HubSpot's search index lags
//   writes by seconds: a contact written just before another may be indexed after it.
// - `seen` holds "id:time" of what was already reported within that overlap, so re-reading reports nothing
//   twice (and "x" + "id:time" for archive events). It is capped; dropping entries only means an unchanged
//   contact may be reported again, which the engine ignores because its content did not change.
// - Times are HubSpot's own (lastmodifieddate, archivedAt), never this machine's clock.

export const OVERLAP_MS = 60_000;
export const MAX_SEEN = 1000;

export interface FeedState {
  v: 1;
  /**
   * With tags from lists, a cycle ends by comparing list memberships (phase "lists"), see lists.ts. "archived"
   * is a phase of the earlier feed, read only from cursors it wrote.
   */
  phase: 'search' | 'archived' | 'lists';
  /** Where the search query of this page starts (epoch ms, GTE). */
  at: number;
  /** Offset within `at`'s millisecond, when one millisecond holds more than a page. */
  after?: string;
  /** The newest HubSpot time reported so far. */
  mark: number;
  /** Archive events at or after this time that are not in `seen` are new. */
  archivedFrom: number;
  /** Paging token of the archived list. */
  archivedAfter?: string;
  seen: string[];
  /** The lists in scope as the last cycle left them, when tags come from lists. */
  lists?: ListSnapshot;
}

export function encodeFeed(state: FeedState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

export function decodeFeed(cursor: string): FeedState {
  try {
    const state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as FeedState;
    if (state.v === 1 && typeof state.at === 'number' && typeof state.mark === 'number' && Array.isArray(state.seen)) return state;
  } catch {
    // falls through: an unreadable cursor needs the same cure as an expired one
  }
  throw new FeedExpiredError('the HubSpot feed cursor is not one Rapport wrote; a full re-scan is needed');
}

const seenTime = (key: string): number => Number(key.slice(key.lastIndexOf(':') + 1));

/** Keeps what later reads can meet again: upserts from `upsertFrom` on, archive events from `archivedFrom` on. */
export function prune(seen: string[], upsertFrom: number, archivedFrom: number): string[] {
  const kept = seen.filter((key) => seenTime(key) >= (key.startsWith('x') ? archivedFrom : upsertFrom));
  if (kept.length <= MAX_SEEN) return kept;
  return kept.sort((a, b) => seenTime(b) - seenTime(a)).slice(0, MAX_SEEN);
}

/** The state a new cycle starts from once a cycle has read everything. */
export function nextCycle(state: FeedState): FeedState {
  const from = state.mark - OVERLAP_MS;
  return {
    v: 1,
    phase: 'search',
    at: from,
    mark: state.mark,
    archivedFrom: from,
    seen: prune(state.seen, from, from),
    ...(state.lists ? { lists: state.lists } : {}),
  };
}
