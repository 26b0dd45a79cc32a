// Pipeliner's timestamps: UTC with microseconds, written "2024-07-09 12:51:48.050073+00:00". Filters accept the
// ISO form too ("2024-09-19T12:30:45Z"). JavaScript dates stop at milliseconds, so instants are kept as integer
// microseconds since the epoch (well inside Number.MAX_SAFE_INTEGER for the next two centuries).

const PATTERN = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]00:?00)?$/;

let last = 0;

/** Now, strictly after every instant this process handed out before: two writes never share a timestamp. */
export function nowMicros(): number {
  const now = Date.now() * 1000;
  last = now > last ? now : last + 1;
  return last;
}

export function formatMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const iso = new Date(ms).toISOString(); // 2024-07-09T12:51:48.050Z
  const fraction = String(micros % 1_000_000).padStart(6, '0');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${fraction}+00:00`;
}

export function parseMicros(value: string): number | null {
  const m = PATTERN.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) return null;
  return ms * 1000 + Number((frac ?? '').padEnd(6, '0'));
}
