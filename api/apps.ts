import { z } from 'zod';
import type { AppDefinition } from '../connectors/types';
import { resolveMapping } from '../sync/effective-mapping';
import { defaultSettings } from '../sync/settings';

export interface AppInfo {
  id: string;
  name: string;
  capabilities: Record<string, unknown>;
  fields: AppDefinition['fields'];
  credentials: string[];
  scope: Record<string, unknown>;
  /** per other app: the field pairs a new connection maps by default (this app's field as `a`) */
  defaultMappings: Record<string, { a: string; b: string; direction: string }[]>;
}

/** JSON Schema of what a client sends; a schema zod cannot express is described as "anything". */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  try {
    return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Only the names of the credential fields: the catalog must never hint at values. */
export function credentialFieldNames(app: AppDefinition): string[] {
  const properties = jsonSchemaOf(app.credentials).properties;
  return properties && typeof properties === 'object' ? Object.keys(properties) : [];
}

/** The same resolution a new connection uses, so the catalog shows exactly what would be mapped. */
function defaultMappings(app: AppDefinition, all: AppDefinition[]): AppInfo['defaultMappings'] {
  const settings = defaultSettings();
  return Object.fromEntries(
    all.map((other) => [
      other.id,
      resolveMapping(settings, { a: app.id, b: other.id }, { a: app.fields, b: other.fields }).map((p) => ({
        a: p.a,
        b: p.b,
        direction: p.direction,
      })),
    ]),
  );
}

export function appInfo(app: AppDefinition, _index = 0, all: AppDefinition[] = [app]): AppInfo {
  return {
    defaultMappings: defaultMappings(app, all),
    id: app.id,
    name: app.name,
    capabilities: { ...app.capabilities },
    fields: app.fields,
    credentials: credentialFieldNames(app),
    scope: jsonSchemaOf(app.scope),
  };
}
