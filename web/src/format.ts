import type { Connection, ConnectionStatus, Phase } from './api';

// How values read on the page. Everything is returned as plain strings, rendered as text by React.

export const PHASE_LABEL: Record<Phase, string> = {
  'initial-scan': 'Initial scan',
  running: 'Running',
  paused: 'Paused',
  'needs-reauth': 'Needs re-authorization',
  'needs-confirmation': 'Needs confirmation',
  stopped: 'Stopped',
};

const number = new Intl.NumberFormat('en');
export const count = (n: number) => number.format(n);

const dateTime = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'medium' });
export const when = (iso: string | null | undefined) => (iso ? dateTime.format(new Date(iso)) : '—');

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
/** "3 minutes ago", "in 20 seconds"; `now` is passed so a ticking clock re-renders it. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 60) return relative.format(seconds, 'second');
  if (abs < 3600) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 86_400) return relative.format(Math.round(seconds / 3600), 'hour');
  return relative.format(Math.round(seconds / 86_400), 'day');
}

export const hourLabel = (iso: string) => `${new Date(iso).toISOString().slice(11, 13)}:00`;

type Account = Connection['a'];

/** What a side is: the app and the scope's identifying values ("sandbox · alpha"). */
export function accountLabel(account: Account): string {
  const scope = Object.entries(account.scope)
    .filter(([key, value]) => typeof value === 'string' && !/url$/i.test(key))
    .map(([, value]) => String(value));
  return [account.app, ...scope].join(' · ');
}

export function scopeText(account: Account): string {
  return Object.entries(account.scope)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
}

export const sideName = (connection: Pick<Connection, 'a' | 'b'>, side: 'a' | 'b') => accountLabel(connection[side]);

/** The initial scan's progress per side, e.g. "120 / 200"; total unknown until the app says. */
export function scanProgress(status: ConnectionStatus): { a: string; b: string; share: number | null } {
  const { scanned, total } = status.counts;
  const of = (side: 'a' | 'b') => (total[side] === null ? `${count(scanned[side])}` : `${count(scanned[side])}/${count(total[side]!)}`);
  const known = total.a !== null && total.b !== null && total.a + total.b > 0;
  return { a: of('a'), b: of('b'), share: known ? Math.min(1, (scanned.a + scanned.b) / (total.a! + total.b!)) : null };
}

/** One line of what a cycle did. */
export function cycleSummary(cycle: NonNullable<ConnectionStatus['lastCycle']>): string {
  const pair = (name: string, c: { a: number; b: number }) => (c.a || c.b ? [`${name} ${c.a} | ${c.b}`] : []);
  const parts = [...pair('created', cycle.created), ...pair('updated', cycle.updated), ...pair('deleted', cycle.deleted)];
  if (cycle.failed) parts.push(`${cycle.failed} failed`);
  if (cycle.conflicts) parts.push(`${cycle.conflicts} conflicts`);
  return `Cycle ${cycle.cycle}: ${parts.length ? parts.join(', ') : 'nothing to do'}`;
}
