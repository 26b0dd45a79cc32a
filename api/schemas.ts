import { extendZodWithOpenApi, getRefId, zodToOpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { connectionSettingsSchema } from '../sync/settings';
import type { ConnectionStatus } from '../workflows/messages';

// The request and response schemas of the API. The same objects validate requests and generate
// /openapi.json (api/openapi.ts), so the document cannot drift from what the server accepts.

extendZodWithOpenApi(z);

export const issueSchema = z
  .object({
    path: z.string().openapi({ example: 'b.credentials.apiToken' }),
    message: z.string(),
  })
  .openapi('Issue');

export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'validation_failed' }),
      message: z.string(),
      issues: z.array(issueSchema).optional(),
    }),
  })
  .openapi('Error');

export const idParamsSchema = z.object({
  id: z.string().openapi({ param: { description: 'connection id' }, example: 'con_0123456789abcdef' }),
});

export const sideSchema = z.enum(['a', 'b']);

const credentialsSchema = z
  .record(z.string(), z.string())
  .openapi({ description: "Secret; the fields depend on the app (GET /apps). Encrypted at rest, never returned." });
const scopeSchema = z
  .record(z.string(), z.unknown())
  .openapi({ description: "Which part of the account syncs; the fields depend on the app (GET /apps)." });
const optionsSchema = z
  .record(z.string(), z.unknown())
  .openapi({ description: 'App-specific options of this side (e.g. where created contacts go).' });
const nameSchema = z.string().trim().min(1).max(200);

/**
 * The OpenAPI generator follows a recursive (z.lazy) schema forever unless it has a component name.
 * Names are given in the generator's own registry, keyed by the schema object, so the schemas of sync/
 * stay untouched; each is named after the property that holds it ("filter" becomes Filter).
 */
export function nameRecursiveSchemas(root: z.ZodType): void {
  const seen = new Set<unknown>();
  const taken = new Set<string>();
  const visit = (schema: unknown, key: string) => {
    if (!schema || typeof schema !== 'object' || seen.has(schema) || !('_zod' in schema)) return;
    seen.add(schema);
    const def = (schema as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (def.type === 'lazy') {
      if (!getRefId(schema as z.ZodType)) {
        const base = key.replace(/(^|[^A-Za-z0-9]+)([A-Za-z0-9])/g, (_m, _sep, c: string) => c.toUpperCase()) || 'Recursive';
        let name = base;
        for (let n = 2; taken.has(name); n++) name = `${base}${n}`;
        taken.add(name);
        zodToOpenAPIRegistry.add(schema as z.ZodType, { _internal: { refId: name } });
      }
      visit((def.getter as () => unknown)(), key);
      return;
    }
    for (const slot of ['innerType', 'element', 'valueType', 'keyType', 'in', 'out', 'left', 'right', 'rest']) visit(def[slot], key);
    for (const list of [def.options, def.items]) if (Array.isArray(list)) for (const item of list) visit(item, key);
    const shape = def.shape as Record<string, unknown> | undefined;
    if (shape) for (const [name, child] of Object.entries(shape)) visit(child, name);
  };
  visit(root, '');
}

// `.meta`, not `.openapi`: zod gives `.openapi` only to schemas built after extendZodWithOpenApi ran, and
// sync/ builds its schemas before this module loads.
export const settingsSchema = connectionSettingsSchema.meta({ id: 'ConnectionSettings' });
nameRecursiveSchemas(settingsSchema);

export const accountInputSchema = z
  .strictObject({
    app: z.string().min(1).openapi({ description: 'App id from GET /apps', example: 'sandbox' }),
    credentials: credentialsSchema,
    scope: scopeSchema,
    options: optionsSchema.optional(),
  })
  .openapi('AccountInput');
export type AccountInput = z.infer<typeof accountInputSchema>;

export const createConnectionSchema = z
  .strictObject({
    name: nameSchema.optional(),
    a: accountInputSchema,
    b: accountInputSchema,
    settings: settingsSchema.optional(),
  })
  .openapi('CreateConnection');

export const accountPatchSchema = z
  .strictObject({
    credentials: credentialsSchema.optional().openapi({ description: 'Replaces the credentials of this side.' }),
    scope: scopeSchema.optional(),
    options: optionsSchema.optional(),
  })
  .openapi('AccountPatch');
export type AccountPatch = z.infer<typeof accountPatchSchema>;

export const updateConnectionSchema = z
  .strictObject({
    name: nameSchema.optional(),
    settings: z.record(z.string(), z.unknown()).optional().openapi({
      description:
        'A JSON merge patch (RFC 7396) of ConnectionSettings: objects merge key by key, arrays and values replace, ' +
        'null restores the default. The merged settings are validated as a whole.',
    }),
    a: accountPatchSchema.optional(),
    b: accountPatchSchema.optional(),
  })
  .openapi('UpdateConnection');

const sideCountsSchema = z.object({ a: z.number(), b: z.number() });

export const phaseSchema = z.enum(['initial-scan', 'running', 'paused', 'needs-reauth', 'needs-confirmation', 'stopped']);

export const connectionStatusSchema = z
  .object({
    connectionId: z.string(),
    phase: phaseSchema,
    paused: z.boolean(),
    syncing: z.boolean(),
    cycles: z.number(),
    lastCycleAt: z.string().nullable(),
    nextCycleAt: z.string().nullable(),
    lastError: z.string().nullable(),
    brake: z
      .object({ reasons: z.array(z.string()) })
      .nullable()
      .openapi({ description: 'Why the safety brake holds the connection in needs-confirmation' }),
    currentCycle: z.number().nullable().openapi({ description: 'The cycle in progress, if any' }),
    lastCycle: z
      .object({
        cycle: z.number(),
        startedAt: z.string(),
        finishedAt: z.string(),
        created: sideCountsSchema,
        updated: sideCountsSchema,
        deleted: sideCountsSchema,
        failed: z.number(),
        conflicts: z.number(),
      })
      .nullable()
      .openapi({ description: 'What the last finished cycle did' }),
    counts: z.object({
      scanned: sideCountsSchema,
      total: z.object({ a: z.number().nullable(), b: z.number().nullable() }),
      matched: z.number(),
      created: sideCountsSchema,
      updated: sideCountsSchema,
      deleted: sideCountsSchema,
      failed: z.number(),
      conflicts: z.number(),
    }),
  })
  .openapi('ConnectionStatus', { description: 'Live status, as reported by the connection workflow.' });

// Fails to compile when workflows/messages.ts changes the status without this schema following.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const statusSchemaMatches: Same<z.infer<typeof connectionStatusSchema>, ConnectionStatus> = true;
void statusSchemaMatches;

export const accountViewSchema = z
  .object({
    app: z.string(),
    scope: z.record(z.string(), z.unknown()),
    options: z.record(z.string(), z.unknown()),
  })
  .openapi('Account', { description: 'One side of a connection; credentials are never returned.' });

export const connectionOverviewSchema = z
  .object({
    inSync: z.number().int().openapi({ description: 'Contact pairs linked and syncing' }),
    unresolvedFailures: z
      .number()
      .int()
      .openapi({ description: 'Contacts with an unresolved failure (failed or ambiguous), each counted once' }),
  })
  .openapi('ConnectionOverview', {
    description:
      "From the database. The phase is `state` (and `status.phase`); initial-scan progress is `status.counts.scanned` of `status.counts.total`; " +
      'the last and next cycle are `status.lastCycleAt` and `status.nextCycleAt`.',
  });

const connectionFields = {
  id: z.string().openapi({ example: 'con_0123456789abcdef' }),
  name: z.string(),
  state: phaseSchema.openapi({ description: 'As last recorded in the database' }),
  a: accountViewSchema,
  b: accountViewSchema,
  settings: settingsSchema,
  createdAt: z.string().openapi({ format: 'date-time' }),
  updatedAt: z.string().openapi({ format: 'date-time' }),
  overview: connectionOverviewSchema,
  status: connectionStatusSchema
    .nullable()
    .openapi({ description: 'null when the workflow is not running, Temporal cannot be reached or it did not answer in time' }),
};

export const connectionSummarySchema = z
  .object(connectionFields)
  .openapi('ConnectionSummary', { description: 'A connection as listed: what the overview shows of it' });

export const connectionSchema = z.object(connectionFields).openapi('Connection');
export type ConnectionView = z.infer<typeof connectionSchema>;
export type ConnectionSummaryView = z.infer<typeof connectionSummarySchema>;

export const connectionListSchema = z.object({ connections: z.array(connectionSummarySchema) }).openapi('ConnectionList');

export const acceptedSchema = z.object({ accepted: z.literal(true) }).openapi('Accepted');

const fieldTypeSchema = z.enum(['text', 'email', 'phone', 'picklist', 'multipicklist', 'date', 'number', 'boolean', 'address']);

export const fieldDefSchema = z
  .object({
    key: z.string(),
    label: z.string(),
    type: fieldTypeSchema,
    canonical: z.string().optional(),
    values: z.array(z.object({ value: z.string(), label: z.string() })).optional(),
    requiredOnCreate: z.boolean().optional(),
    readOnly: z.boolean().optional(),
  })
  .openapi('FieldDef');

export const appInfoSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    capabilities: z.record(z.string(), z.unknown()),
    fields: z.array(fieldDefSchema),
    credentials: z.array(z.string()).openapi({ description: 'Names of the credential fields (values are secret)' }),
    scope: z.record(z.string(), z.unknown()).openapi({ description: 'JSON Schema of the scope object' }),
    defaultMappings: z
      .record(z.string(), z.array(z.object({ a: z.string(), b: z.string(), direction: z.string() })))
      .openapi({ description: "Per other app id: the default field pairs of a connection (this app's fields as `a`)" }),
  })
  .openapi('App');

export const appListSchema = z.object({ apps: z.array(appInfoSchema) }).openapi('AppList');

export const healthSchema = z.object({ ok: z.literal(true) }).openapi('Health');

export const readinessSchema = z
  .object({ ok: z.boolean(), checks: z.record(z.string(), z.string()) })
  .openapi('Readiness', { description: 'Each check is "ok" or what failed' });
