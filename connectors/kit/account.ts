import type { z } from 'zod';
import { ConfigError } from '../errors';
import type { Account } from '../types';

// Parsing an account's credentials, scope and options with the app's schemas. A rejected part is told by the
// issues' paths and messages only: zod's default text can quote the rejected value, and credentials are secret.

type Issue = z.ZodError['issues'][number];
type PartName = 'credentials' | 'scope' | 'options';

/** How a rejected part is told: its first issue or all of them, with paths or not; or one fixed sentence. */
export type Telling = { issues: 'first' | 'all'; paths: boolean; root?: string } | { sentence: string };

const DEFAULT_TELLING: Record<PartName, Telling> = {
  // The first issue's message alone: credentials messages name their key already ("apiToken is required").
  credentials: { issues: 'first', paths: false },
  scope: { issues: 'all', paths: true },
  options: { issues: 'all', paths: true },
};

export interface AccountSchemas<C, S, O> {
  /** The app's name as messages begin: "Sandbox credentials: …", "Sandbox scope: …". */
  app: string;
  credentials: z.ZodType<C>;
  scope: z.ZodType<S>;
  /** Without a schema, options are handed over as they are. */
  options?: z.ZodType<O>;
  /** How a rejected part is told, where the app tells it otherwise than by default. */
  tell?: Partial<Record<PartName, Telling>>;
}

export interface ParsedAccount<C, S, O> {
  credentials: C;
  scope: S;
  options: O;
}

function describe(issues: Issue[], tell: Exclude<Telling, { sentence: string }>): string {
  const say = (i: Issue) => (tell.paths ? `${i.path.join('.') || (tell.root ?? '')}: ${i.message}` : i.message);
  if (tell.issues === 'first') return issues[0] ? say(issues[0]) : 'invalid';
  return issues.map(say).join('; ');
}

/** The account's request timeout option, when it is a positive number of milliseconds. */
export function requestTimeoutOf(account: Account): number | undefined {
  const timeout = account.options?.requestTimeoutMs;
  return typeof timeout === 'number' && timeout > 0 ? timeout : undefined;
}

/** One part of an account, parsed, or a ConfigError whose message quotes no value. */
export function parsePart<T>(label: string, value: unknown, schema: z.ZodType<T>, tell: Telling): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ConfigError('sentence' in tell ? tell.sentence : `${label}: ${describe(parsed.error.issues, tell)}`);
}

/**
 * Credentials, scope and (when the app has a schema for them) options of an account, each parsed with the app's
 * schema. Parts are checked in the order `schemas` names them, so that the first rejected part is the one told.
 */
export function parseAccount<C, S, O = Account['options']>(account: Account, schemas: AccountSchemas<C, S, O>): ParsedAccount<C, S, O> {
  const parsed: Record<string, unknown> = { options: account.options };
  const parts = Object.keys(schemas).filter((key): key is PartName => key === 'credentials' || key === 'scope' || key === 'options');
  for (const part of parts) {
    const schema = schemas[part] as z.ZodType<unknown> | undefined;
    if (!schema) continue;
    const value = part === 'options' ? (account.options ?? {}) : account[part];
    parsed[part] = parsePart(`${schemas.app} ${part}`, value, schema, schemas.tell?.[part] ?? DEFAULT_TELLING[part]);
  }
  return parsed as unknown as ParsedAccount<C, S, O>;
}
