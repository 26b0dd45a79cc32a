import { createHash } from 'node:crypto';

// Pipeliner has no sync token: changes are read with a filter on `modified` (gte), ordered by it, deleted rows
// included. A row whose transaction committed late can carry a `modified` older than rows already read, so each
// read starts OVERLAP before the last position, and rows already delivered (same id, same modified) are skipped.
//
// The cursor is persisted between cycles and passes through workflow history, so it stays small: the position,
// Pipeliner's page cursor while a read spans pages, and short hashes of the rows inside the overlap window
// (at most MAX_SEEN; beyond that a row may be delivered twice, which the engine shrugs off: unchanged content
// causes no write).

export const OVERLAP_MICROS = 3_000_000;
const MAX_SEEN = 300;

export interface FeedCursor {
  v: 1;
  /** position: the newest `modified` delivered, in microseconds since the epoch */
  s: number;
  /** rows inside the overlap window of `s`, as [hash, modified] */
  seen: [string, number][];
  /** Pipeliner's end_cursor while a read spans several pages */
  after?: string;
  /** the read in progress: newest modified and the window rows collected so far */
  m?: number;
  w?: [string, number][];
}

export class InvalidCursorError extends Error {}

export const rowHash = (id: string, modified: number): string => createHash('sha1').update(`${id}|${modified}`).digest('base64url').slice(0, 12);

export function encodeCursor(cursor: FeedCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeCursor(text: string): FeedCursor {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as FeedCursor;
    if (c && c.v === 1 && typeof c.s === 'number' && Array.isArray(c.seen)) return c;
  } catch {
    // reported below
  }
  throw new InvalidCursorError('not a Pipeliner feed cursor');
}

/** The rows of `rows` still inside the overlap window of `position`, newest first, at most MAX_SEEN. */
export function windowOf(rows: [string, number][], position: number): [string, number][] {
  const unique = new Map<string, number>();
  for (const [hash, modified] of rows) if (modified >= position - OVERLAP_MICROS) unique.set(hash, modified);
  return [...unique.entries()].sort((a, b) => b[1] - a[1]).slice(0, MAX_SEEN);
}

// ---- Pipeliner's timestamps: "2024-07-09 12:51:48.050073+00:00" (UTC, microseconds) ----

const PATTERN = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:?\d{2})?$/;

export function parseTimestamp(value: string): number | null {
  const m = PATTERN.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) return null;
  let offsetMinutes = 0;
  if (zone && zone !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    offsetMinutes = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3]));
  }
  return (ms - offsetMinutes * 60_000) * 1000 + Number((frac ?? '').padEnd(6, '0'));
}

/** The filter value for an instant: Pipeliner's own timestamp format, to the microsecond. */
export function formatTimestamp(micros: number): string {
  const iso = new Date(Math.floor(micros / 1000)).toISOString();
  const fraction = String(((micros % 1_000_000) + 1_000_000) % 1_000_000).padStart(6, '0');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${fraction}+00:00`;
}
