import { z } from 'zod';
import type { AppDefinition } from '../connectors/types';
import { connectionSettingsSchema, type ConnectionSettings } from '../sync/settings';
import type { Side } from '../sync/types';
import { validateSettings } from '../sync/validate';
import { joinPath, validationError, zodIssues, type Issue } from './errors';

// Two passes: the generic shape of a request (api/schemas.ts), then what depends on the chosen apps
// (credentials, scope, field mapping). Every issue of both passes is reported at once, with the path of
// the field, and nothing is written unless there are none.

export type AppLookup = (id: string) => AppDefinition | undefined;

/** zod's default "expected string, received undefined" reads badly for a field that was left out. */
const messages: z.core.$ZodErrorMap = (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'Required' : undefined);

export function check<T extends z.ZodType>(
  schema: T,
  input: unknown,
  prefix?: string,
): { ok: true; value: z.output<T> } | { ok: false; issues: Issue[] } {
  const result = schema.safeParse(input, { error: messages });
  return result.success ? { ok: true, value: result.data } : { ok: false, issues: zodIssues(result.error, prefix) };
}

export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, prefix?: string): z.output<T> {
  const result = check(schema, input, prefix);
  if (!result.ok) throw validationError(result.issues);
  return result.value;
}

export function unknownAppIssue(path: string, id: string, known: string[]): Issue {
  return { path, message: `Unknown app "${id}"; known apps: ${known.join(', ')}` };
}

export function validateCredentials(app: AppDefinition, side: Side, credentials: unknown) {
  return check(app.credentials, credentials, joinPath(side, 'credentials'));
}

export function validateScope(app: AppDefinition, side: Side, scope: unknown) {
  return check(app.scope, scope, joinPath(side, 'scope'));
}

/**
 * The full settings check: the shared schema, then sync/'s checks against both apps' field catalogs
 * (unknown fields, incompatible mapping pairs, operators that do not fit a field's type).
 */
export function validateConnectionSettings(
  input: unknown,
  apps: { a: AppDefinition; b: AppDefinition },
): { ok: true; value: ConnectionSettings } | { ok: false; issues: Issue[] } {
  const parsed = check(connectionSettingsSchema, input, 'settings');
  if (!parsed.ok) return parsed;
  const issues = catalogIssues(parsed.value, apps).map((i) => ({ path: joinPath('settings', i.path), message: i.message }));
  return issues.length ? { ok: false, issues } : parsed;
}

/**
 * sync/'s checks against the catalogs. The API knows each app's standard fields only (reading an account's
 * custom fields would mean calling the app from a request), so those are what settings are checked against.
 */
function catalogIssues(settings: ConnectionSettings, apps: { a: AppDefinition; b: AppDefinition }): Issue[] {
  return validateSettings(
    settings,
    { a: apps.a.id, b: apps.b.id },
    { a: apps.a.fields, b: apps.b.fields },
    { a: apps.a.name, b: apps.b.name },
  );
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** RFC 7396: objects merge recursively, null removes the key (so the schema default applies again). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    // JSON.parse makes "__proto__" an own key; assigning it would replace the result's prototype.
    if (key === '__proto__') continue;
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}
