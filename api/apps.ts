import { z } from 'zod';
import type { AppDefinition } from '../connectors/types';

export interface AppInfo {
  id: string;
  name: string;
  capabilities: Record<string, unknown>;
  fields: AppDefinition['fields'];
  credentials: string[];
  scope: Record<string, unknown>;
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

export function appInfo(app: AppDefinition): AppInfo {
  return {
    id: app.id,
    name: app.name,
    capabilities: { ...app.capabilities },
    fields: app.fields,
    credentials: credentialFieldNames(app),
    scope: jsonSchemaOf(app.scope),
  };
}
