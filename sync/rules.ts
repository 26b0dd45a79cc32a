import { z } from 'zod';
import { ownerField, tagsField } from './field-catalog';
import type { FieldDef, FieldType, FieldValue } from './types';
import { isEmpty, sameValue, toList, compareKind } from './values';

// Rules: per direction, IF filter THEN sync [and add tags]. A contact syncs in a direction when any rule of
// that direction matches it; a direction without rules lets every contact through.

export const FILTER_OPERATORS = [
  'equals',
  'notEquals',
  'contains',
  'startsWith',
  'isEmpty',
  'isNotEmpty',
  'hasTag',
  'ownerIs',
] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export interface Condition {
  /** catalog key of the side the rule reads; hasTag and ownerIs default to the app's tags / owner field */
  field?: string;
  operator: FilterOperator;
  value?: string | number | boolean;
}
export type Filter = Condition | { and: Filter[] } | { or: Filter[] };

export const conditionSchema = z
  .object({
    field: z.string().min(1).optional(),
    operator: z.enum(FILTER_OPERATORS),
    value: z.union([z.string(), z.number(), z.boolean()]).optional(),
  })
  .strict();

export const filterSchema: z.ZodType<Filter> = z.lazy(() =>
  z.union([
    conditionSchema,
    z.object({ and: z.array(filterSchema).min(1) }).strict(),
    z.object({ or: z.array(filterSchema).min(1) }).strict(),
  ]),
);

export const ruleSchema = z
  .object({
    /** absent: every contact */
    filter: filterSchema.optional(),
    /** added to contacts this rule brings to the other side */
    tags: z.array(z.string().trim().min(1)).default([]),
  })
  .strict();
export type Rule = z.infer<typeof ruleSchema>;

export const rulesSchema = z
  .object({
    aToB: z.array(ruleSchema).optional(),
    bToA: z.array(ruleSchema).optional(),
  })
  .strict();
export type RulesSetting = z.infer<typeof rulesSchema>;

/** Operators that make sense for a field of each type; ownerIs and hasTag also depend on the field's role. */
const OPERATORS_BY_TYPE: Record<FieldType, readonly FilterOperator[]> = {
  text: ['equals', 'notEquals', 'contains', 'startsWith', 'isEmpty', 'isNotEmpty'],
  email: ['equals', 'notEquals', 'contains', 'startsWith', 'isEmpty', 'isNotEmpty'],
  phone: ['equals', 'notEquals', 'contains', 'startsWith', 'isEmpty', 'isNotEmpty'],
  address: ['equals', 'notEquals', 'contains', 'startsWith', 'isEmpty', 'isNotEmpty'],
  picklist: ['equals', 'notEquals', 'isEmpty', 'isNotEmpty'],
  multipicklist: ['equals', 'notEquals', 'hasTag', 'isEmpty', 'isNotEmpty'],
  date: ['equals', 'notEquals', 'isEmpty', 'isNotEmpty'],
  number: ['equals', 'notEquals', 'isEmpty', 'isNotEmpty'],
  boolean: ['equals', 'notEquals', 'isEmpty', 'isNotEmpty'],
};

const NEEDS_VALUE = new Set<FilterOperator>(['equals', 'notEquals', 'contains', 'startsWith', 'hasTag', 'ownerIs']);

export interface Issue {
  path: string;
  message: string;
}

/** The field a condition reads, or why it has none. */
function conditionField(c: Condition, catalog: FieldDef[]): FieldDef | string {
  if (c.field === undefined) {
    if (c.operator === 'hasTag') return tagsField(catalog) ?? 'has no tags field';
    if (c.operator === 'ownerIs') return ownerField(catalog) ?? 'has no owner field';
    return 'needs a field';
  }
  return catalog.find((f) => f.key === c.field) ?? `unknown field "${c.field}"`;
}

export function operatorsFor(field: FieldDef): FilterOperator[] {
  const ops: FilterOperator[] = [...OPERATORS_BY_TYPE[field.type]];
  if (field.canonical === 'owner') ops.push('ownerIs');
  if (field.canonical === 'tags' && !ops.includes('hasTag')) ops.push('hasTag');
  return ops;
}

/** Problems of one direction's rules, paths relative to `base` (e.g. "rules.aToB"). */
export function validateRules(rules: Rule[] | undefined, catalog: FieldDef[], appName: string, base: string): Issue[] {
  const issues: Issue[] = [];
  const visit = (f: Filter, path: string) => {
    if ('and' in f || 'or' in f) {
      const list = 'and' in f ? f.and : f.or;
      const key = 'and' in f ? 'and' : 'or';
      list.forEach((g, i) => visit(g, `${path}.${key}[${i}]`));
      return;
    }
    const field = conditionField(f, catalog);
    if (typeof field === 'string') {
      issues.push({ path: `${path}.field`, message: `${field} in ${appName}` });
      return;
    }
    if (!operatorsFor(field).includes(f.operator)) {
      issues.push({
        path: `${path}.operator`,
        message: `operator "${f.operator}" does not apply to field ${field.label} (${field.type}) in ${appName}`,
      });
      return;
    }
    if (NEEDS_VALUE.has(f.operator) && (f.value === undefined || f.value === '')) {
      issues.push({ path: `${path}.value`, message: `operator "${f.operator}" needs a value` });
      return;
    }
    if (f.value === undefined) return;
    if (field.type === 'number' && !Number.isFinite(Number(f.value))) {
      issues.push({ path: `${path}.value`, message: `"${f.value}" is not a number (field ${field.label})` });
    } else if (field.type === 'boolean' && typeof f.value !== 'boolean' && !/^(true|false)$/i.test(String(f.value))) {
      issues.push({ path: `${path}.value`, message: `"${f.value}" is not true or false (field ${field.label})` });
    } else if (field.type === 'picklist' && field.values && field.values.length > 0 && !choiceOf(field, f.value)) {
      issues.push({
        path: `${path}.value`,
        message: `"${f.value}" is not a value of field ${field.label} in ${appName}`,
      });
    }
  };
  (rules ?? []).forEach((r, i) => {
    if (r.filter) visit(r.filter, `${base}[${i}].filter`);
  });
  return issues;
}

function choiceOf(field: FieldDef, v: string | number | boolean): string | undefined {
  const s = String(v).trim().toLowerCase();
  return field.values?.find((p) => p.value.toLowerCase() === s || p.label.trim().toLowerCase() === s)?.value;
}

type Test = (fields: Record<string, FieldValue>) => boolean;

const text = (v: FieldValue): string => (Array.isArray(v) ? v.join(', ') : v === null ? '' : String(v)).trim();

function compileCondition(c: Condition, catalog: FieldDef[]): Test {
  const field = conditionField(c, catalog);
  // An invalid condition (validateSettings refuses it) matches nothing rather than everything.
  if (typeof field === 'string') return () => false;
  const key = field.key;
  const raw = c.value ?? '';
  const wanted = field.type === 'picklist' ? (choiceOf(field, raw) ?? String(raw)) : raw;
  const needle = String(raw).trim().toLowerCase();
  const kind = compareKind(field.type, field.type);
  const isList = field.type === 'multipicklist' || field.canonical === 'tags';
  const includes = (v: FieldValue) => toList(v).some((t) => t.toLowerCase() === needle);
  switch (c.operator) {
    case 'isEmpty':
      return (f) => isEmpty(f[key]);
    case 'isNotEmpty':
      return (f) => !isEmpty(f[key]);
    case 'equals':
      return isList ? (f) => includes(f[key]) : (f) => sameValue(f[key], wanted as FieldValue, kind) || text(f[key]).toLowerCase() === needle;
    case 'notEquals':
      return isList ? (f) => !includes(f[key]) : (f) => !(sameValue(f[key], wanted as FieldValue, kind) || text(f[key]).toLowerCase() === needle);
    case 'contains':
      return (f) => text(f[key]).toLowerCase().includes(needle);
    case 'startsWith':
      return (f) => text(f[key]).toLowerCase().startsWith(needle);
    case 'hasTag':
      return (f) => includes(f[key]);
    case 'ownerIs':
      return (f) => text(f[key]).toLowerCase() === needle || sameValue(f[key], wanted as FieldValue, 'text');
  }
}

function compileFilter(filter: Filter, catalog: FieldDef[]): Test {
  if ('and' in filter) {
    const parts = filter.and.map((f) => compileFilter(f, catalog));
    return (fields) => parts.every((t) => t(fields));
  }
  if ('or' in filter) {
    const parts = filter.or.map((f) => compileFilter(f, catalog));
    return (fields) => parts.some((t) => t(fields));
  }
  return compileCondition(filter, catalog);
}

export interface RuleVerdict {
  pass: boolean;
  /** tags of every matching rule, to add on the other side when the contact first gets there */
  tags: string[];
}

export type RuleSet = (fields: Record<string, FieldValue>) => RuleVerdict;

const ALL: RuleVerdict = { pass: true, tags: [] };
const NONE: RuleVerdict = { pass: false, tags: [] };

/** One direction's rules as a function of a record's fields. */
export function compileRules(rules: Rule[] | undefined, catalog: FieldDef[]): RuleSet {
  if (!rules || rules.length === 0) return () => ALL;
  const compiled = rules.map((r) => ({ test: r.filter ? compileFilter(r.filter, catalog) : () => true, tags: r.tags ?? [] }));
  if (compiled.every((r) => r.tags.length === 0)) {
    return (fields) => (compiled.some((r) => r.test(fields)) ? ALL : NONE);
  }
  return (fields) => {
    let pass = false;
    const tags: string[] = [];
    for (const r of compiled) {
      if (!r.test(fields)) continue;
      pass = true;
      for (const t of r.tags) if (!tags.includes(t)) tags.push(t);
    }
    return pass ? { pass, tags } : NONE;
  };
}
