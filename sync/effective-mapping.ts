import { checkPair, needsValueMap, proposeValueMap } from './field-catalog';
import type { MappingPair, PlanContext } from './plan-types';
import type { ConnectionSettings, Direction } from './settings';
import type { FieldDef } from './types';

// From settings to the effective list of mapping pairs the planner uses.

type Flow = { ab: boolean; ba: boolean };
const flowOf = (d: Direction): Flow => ({ ab: d !== 'b-to-a', ba: d !== 'a-to-b' });
const directionOf = (f: Flow): Direction | null =>
  f.ab && f.ba ? 'two-way' : f.ab ? 'a-to-b' : f.ba ? 'b-to-a' : null;

/**
 * A pair's own direction within the connection's, minus the ways into read-only fields; null when nothing
 * may flow at all (e.g. an "A to B" pair in a "B to A" connection).
 */
export function clipDirection(
  connection: Direction,
  pair: Direction | undefined,
  fieldA: FieldDef,
  fieldB: FieldDef,
): Direction | null {
  const c = flowOf(connection);
  const p = flowOf(pair ?? connection);
  return directionOf({
    ab: c.ab && p.ab && !fieldB.readOnly,
    ba: c.ba && p.ba && !fieldA.readOnly,
  });
}

export const pairId = (a: string, b: string): string => `${a}:${b}`;

/**
 * Effective mapping: default pairs (fields of both catalogs filling the same canonical slot), minus the
 * disabled ones, plus custom pairs. A custom pair replaces any default pair using one of its fields, so one
 * target field never has two sources. Incompatible or unknown pairs are left out here; validateSettings
 * reports them.
 */
export function resolveMapping(
  settings: ConnectionSettings,
  _apps: { a: string; b: string },
  catalogs: { a: FieldDef[]; b: FieldDef[] },
): MappingPair[] {
  const byKeyA = new Map(catalogs.a.map((f) => [f.key, f]));
  const byKeyB = new Map(catalogs.b.map((f) => [f.key, f]));
  const custom = settings.mapping.custom.filter((p) => p.enabled !== false);
  const usedA = new Set(custom.map((p) => p.a));
  const usedB = new Set(custom.map((p) => p.b));
  const disabled = new Set(settings.mapping.disabled);

  const candidates: { a: FieldDef; b: FieldDef; direction?: Direction; valueMap?: Record<string, string> }[] = [];
  if (settings.mapping.useDefaults) {
    const firstB = new Map<string, FieldDef>();
    for (const f of catalogs.b) if (f.canonical && !firstB.has(f.canonical)) firstB.set(f.canonical, f);
    const seen = new Set<string>();
    for (const fa of catalogs.a) {
      if (!fa.canonical || seen.has(fa.canonical)) continue;
      seen.add(fa.canonical);
      const fb = firstB.get(fa.canonical);
      if (!fb || disabled.has(pairId(fa.key, fb.key)) || usedA.has(fa.key) || usedB.has(fb.key)) continue;
      candidates.push({ a: fa, b: fb });
    }
  }
  for (const p of custom) {
    const fa = byKeyA.get(p.a);
    const fb = byKeyB.get(p.b);
    if (fa && fb) candidates.push({ a: fa, b: fb, direction: p.direction, valueMap: p.valueMap });
  }

  const out: MappingPair[] = [];
  for (const c of candidates) {
    if (checkPair(c.a, c.b) !== null) continue;
    const direction = clipDirection(settings.direction, c.direction, c.a, c.b);
    if (direction === null) continue;
    const pair: MappingPair = { a: c.a.key, b: c.b.key, direction };
    if (needsValueMap(c.a.type, c.b.type)) {
      const proposed = proposeValueMap(c.a, c.b).map;
      const merged = { ...proposed, ...(c.valueMap ?? {}) };
      if (Object.keys(merged).length > 0) pair.valueMap = merged;
    } else if (c.valueMap) pair.valueMap = c.valueMap;
    out.push(pair);
  }
  return out;
}

export function buildPlanContext(
  settings: ConnectionSettings,
  apps: { a: string; b: string },
  catalogs: { a: FieldDef[]; b: FieldDef[] },
): PlanContext {
  return { settings, apps, catalogs, mapping: resolveMapping(settings, apps, catalogs) };
}
