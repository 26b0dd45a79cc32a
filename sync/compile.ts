import { emailFields, fieldByKey, tagsField, unsubscribedField } from './field-catalog';
import type { MappingPair, PlanContext } from './plan-types';
import { compileRules, type RuleSet } from './rules';
import type { Direction } from './settings';
import type { FieldDef, FieldValue, Side } from './types';
import { compareKind, makeTranslator, type CompareKind, type Translator } from './values';

/** Whether the connection's direction lets a side's contacts (and their deletions) go to the other side. */
export const sideFlows = (direction: Direction, side: Side): boolean => (side === 'a' ? direction !== 'b-to-a' : direction !== 'a-to-b');

// A plan context compiled once into what the merge and the decisions ask of it for every record: each mapping
// pair with its translator, comparison and flows, each side's rules and field roles. Compiled once per
// context (a connection's settings and catalogs), not once per batch: an initial sync plans thousands.

/** One mapping pair, ready to merge. */
export interface Pair {
  key: { a: string; b: string };
  def: { a: FieldDef; b: FieldDef };
  kind: CompareKind;
  tr: Translator;
  /** values may flow from this side to the other (pair direction, clipped to the connection's) */
  flow: { a: boolean; b: boolean };
  /** one-way by setting: the source side is the truth, the target's own edits are overwritten */
  oneWay: { a: boolean; b: boolean };
}

export interface SideConfig {
  rules: RuleSet;
  emailKeys: string[];
  tags?: FieldDef;
  unsubscribed?: FieldDef;
  /** the connection lets contacts of this side go to the other */
  flows: boolean;
}

export interface Compiled {
  ctx: PlanContext;
  pairs: Pair[];
  side: { a: SideConfig; b: SideConfig };
  /** how each field of a side compares with itself */
  kindOf: { a: Map<string, CompareKind>; b: Map<string, CompareKind> };
}

const compiledCache = new WeakMap<PlanContext, Compiled>();

export function compile(ctx: PlanContext): Compiled {
  const hit = compiledCache.get(ctx);
  if (hit) return hit;
  const { settings, catalogs } = ctx;
  const pairs: Pair[] = [];
  for (const m of ctx.mapping) {
    const fa = fieldByKey(catalogs.a, m.a);
    const fb = fieldByKey(catalogs.b, m.b);
    if (!fa || !fb) continue;
    pairs.push(compilePair(m, fa, fb));
  }
  const sideConfig = (s: Side): SideConfig => {
    const catalog = catalogs[s];
    return {
      rules: compileRules(s === 'a' ? settings.rules.aToB : settings.rules.bToA, catalog),
      emailKeys: emailFields(catalog).map((f) => f.key),
      tags: tagsField(catalog),
      unsubscribed: settings.unsubscribes === 'tag' ? unsubscribedField(catalog) : undefined,
      flows: sideFlows(settings.direction, s),
    };
  };
  const kindOf = {
    a: new Map(catalogs.a.map((f) => [f.key, compareKind(f.type, f.type)])),
    b: new Map(catalogs.b.map((f) => [f.key, compareKind(f.type, f.type)])),
  };
  const compiled: Compiled = { ctx, pairs, side: { a: sideConfig('a'), b: sideConfig('b') }, kindOf };
  compiledCache.set(ctx, compiled);
  return compiled;
}

function compilePair(m: MappingPair, fa: FieldDef, fb: FieldDef): Pair {
  return {
    key: { a: m.a, b: m.b },
    def: { a: fa, b: fb },
    kind: compareKind(fa.type, fb.type),
    tr: makeTranslator(fa, fb, m.valueMap),
    flow: { a: m.direction !== 'b-to-a' && !fb.readOnly, b: m.direction !== 'a-to-b' && !fa.readOnly },
    oneWay: { a: m.direction === 'a-to-b', b: m.direction === 'b-to-a' },
  };
}

/** A value of side `from` in the other side's terms; undefined when the pair cannot carry it. */
export const translate = (p: Pair, from: Side, v: FieldValue): FieldValue | undefined =>
  from === 'a' ? p.tr.aToB(v) : p.tr.bToA(v);
