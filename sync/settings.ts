import { z } from 'zod';
import { rulesSchema } from './rules';

// The settings of a connection, validated by the API and read by the engine with this one schema.
// First version: the sync core deepens rules and mapping; keep field names stable.

export const directionSchema = z.enum(['two-way', 'a-to-b', 'b-to-a']);
export type Direction = z.infer<typeof directionSchema>;

export const mappingPairSchema = z.object({
  a: z.string().min(1).describe('field key in app A'),
  b: z.string().min(1).describe('field key in app B'),
  direction: directionSchema.optional().describe('within the connection direction; defaults to it'),
  enabled: z.boolean().default(true),
  valueMap: z.record(z.string(), z.string()).optional().describe('picklist values of A to values of B'),
});
export type MappingPairSetting = z.infer<typeof mappingPairSchema>;

export const connectionSettingsSchema = z.object({
  direction: directionSchema.default('two-way'),
  master: z.enum(['a', 'b']).default('a'),
  avoidDuplicates: z.boolean().default(true),
  mapping: z
    .object({
      useDefaults: z.boolean().default(true),
      /** default pairs switched off, as "aKey:bKey" */
      disabled: z.array(z.string()).default([]),
      custom: z.array(mappingPairSchema).default([]),
    })
    .default({ useDefaults: true, disabled: [], custom: [] }),
  /** per direction, IF filter THEN sync [and add tags]; no rules in a direction: every contact syncs */
  rules: rulesSchema.default({}),
  deletions: z
    .object({
      policy: z.enum(['never', 'trash', 'delete']).default('never'),
      protectA: z.boolean().default(false),
      protectB: z.boolean().default(false),
    })
    .default({ policy: 'never', protectA: false, protectB: false }),
  unsubscribes: z.enum(['off', 'tag']).default('off'),
  pollIntervalSeconds: z.number().int().min(1).max(86_400).default(30),
  /**
   * Hours between reconciles: a listing of ids and versions that finds what the change feeds missed. 0: only
   * on demand (POST /connections/:id/reconcile).
   */
  reconcileIntervalHours: z.number().min(0).max(8_760).default(24),
  /** Share of linked contacts one cycle may trash or delete before it waits for confirmation. */
  safetyBrakeShare: z.number().min(0).max(1).default(0.1),
});
export type ConnectionSettings = z.infer<typeof connectionSettingsSchema>;

export const defaultSettings = (): ConnectionSettings => connectionSettingsSchema.parse({});
