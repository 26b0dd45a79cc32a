import { buildPlanContext } from '../../sync/effective-mapping';
import type { Link, PlanContext, PlanInput } from '../../sync/plan-types';
import { connectionSettingsSchema, type ConnectionSettings } from '../../sync/settings';
import type { FieldDef, FieldValue, Side, Snapshot } from '../../sync/types';

// Two small catalogs shaped like a CRM (A) and an address book (B), sharing canonical slots.

export const catalogA: FieldDef[] = [
  { key: 'first_name', label: 'First name', type: 'text', canonical: 'firstName' },
  { key: 'last_name', label: 'Last name', type: 'text', canonical: 'lastName', requiredOnCreate: true },
  { key: 'email_1', label: 'Email 1', type: 'email', canonical: 'email1' },
  { key: 'email_2', label: 'Email 2', type: 'email', canonical: 'email2' },
  { key: 'phone', label: 'Phone', type: 'phone', canonical: 'phoneWork' },
  { key: 'company', label: 'Company', type: 'text', canonical: 'company' },
  { key: 'tags', label: 'Tags', type: 'multipicklist', canonical: 'tags' },
  { key: 'owner', label: 'Owner', type: 'text', canonical: 'owner' },
  {
    key: 'stage',
    label: 'Stage',
    type: 'picklist',
    values: [
      { value: 'hot', label: 'Hot' },
      { value: 'cold', label: 'Cold' },
    ],
  },
  { key: 'opt_out', label: 'Opted out', type: 'boolean', canonical: 'unsubscribed' },
  { key: 'birthday', label: 'Birthday', type: 'date', canonical: 'birthday' },
];

export const catalogB: FieldDef[] = [
  { key: 'givenName', label: 'Given name', type: 'text', canonical: 'firstName' },
  { key: 'familyName', label: 'Family name', type: 'text', canonical: 'lastName' },
  { key: 'email', label: 'Email', type: 'email', canonical: 'email1' },
  { key: 'email2', label: 'Other email', type: 'email', canonical: 'email2' },
  { key: 'workPhone', label: 'Work phone', type: 'phone', canonical: 'phoneWork' },
  { key: 'org', label: 'Organization', type: 'text', canonical: 'company' },
  { key: 'groups', label: 'Groups', type: 'multipicklist', canonical: 'tags' },
  {
    key: 'status',
    label: 'Status',
    type: 'picklist',
    values: [
      { value: 'H', label: 'hot' },
      { value: 'C', label: 'Cold' },
    ],
  },
  { key: 'created', label: 'Created', type: 'date', readOnly: true },
];

export const apps = { a: 'crm', b: 'book' };

export function settings(overrides: Record<string, unknown> = {}): ConnectionSettings {
  return connectionSettingsSchema.parse(overrides);
}

export function context(overrides: Record<string, unknown> = {}): PlanContext {
  return buildPlanContext(settings(overrides), apps, { a: catalogA, b: catalogB });
}

let version = 0;
export function snap(side: Side, id: string, fields: Record<string, FieldValue>, deleted = false): Snapshot {
  version += 1;
  return { side, id, version: `v${version}`, fields, deleted };
}

export function input(ctx: PlanContext, parts: Partial<Omit<PlanInput, 'context'>>): PlanInput {
  return { mode: 'incremental', context: ctx, changed: [], links: [], related: [], ...parts };
}

/** A link whose baselines are the given records' current mapped values: both sides agree. */
export function agreedLink(ctx: PlanContext, a: Snapshot, b: Snapshot): Link {
  const pick = (s: Snapshot, keys: string[]) => Object.fromEntries(keys.map((k) => [k, s.fields[k] ?? null]));
  return {
    a: a.id,
    b: b.id,
    baselineA: pick(a, ctx.mapping.map((m) => m.a).concat(['opt_out'])),
    baselineB: pick(b, ctx.mapping.map((m) => m.b)),
  };
}
