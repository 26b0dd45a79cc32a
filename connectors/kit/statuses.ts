import { AuthError, ConfigError, TransientError, type ConnectorError } from '../errors';
import { parseRetryAfter } from '../http';

// What an app's HTTP statuses mean for the engine, in one place. Every client asks `throwOnStatus` after each
// request: a 401 is an auth failure, a 429 a rate limit that waits as long as the app says, a 5xx or 408 a
// transient failure; every other status goes back to the caller, which knows whether a 404 or 422 is an answer
// or a per-contact failure. What differs per app (its error body, its words, a 403 that means a missing scope
// or a rate limit, how long a rate limit lasts) is the app's `StatusRules`, kept in its client.ts.

/** What the rules read of an answer: a client's JSON reply, or a CardDAV answer with its text as the body. */
export interface StatusReply {
  status: number;
  statusText: string;
  body: unknown;
  headers: Headers;
}

/** A whole-request failure of a kind the common rules name. */
export type StatusVerdict = 'auth' | 'rate-limited' | 'transient';

export interface StatusRules {
  /** The app's own message in an error body, or the fallback. */
  message(body: unknown, fallback: string): string;
  /** The app's own error code in an error body. */
  code(body: unknown): string | undefined;
  /**
   * A 401 in the app's words ("the Sandbox rejected the API token"). Left out where an OAuth2 session already
   * turns every 401 into AuthError; a 401 then goes back to the caller.
   */
  rejected?: string;
  /** The app's own readings, asked first: an error of its own, one of the common verdicts, or undefined. */
  special?(reply: StatusReply, what: string): ConnectorError | StatusVerdict | undefined;
  /** How long the failure asks to wait, in milliseconds; by default what Retry-After says. */
  wait?(verdict: 'rate-limited' | 'transient', reply: StatusReply): number | undefined;
  /** The code of a rate-limit failure; by default the body's code, else "rate_limited". */
  rateLimitCode?(body: unknown): string | undefined;
  /** The message of a status a read did not expect, where the app words it otherwise than `unexpected` does. */
  unexpectedWords?(what: string, reply: { status: number; body: unknown }): string;
  /** The message of a failure, where the app words it otherwise than `defaultWords`. */
  words?: Partial<Record<StatusVerdict, (what: string, reply: StatusReply, rules: StatusRules) => string>>;
}

export const defaultWords: Record<StatusVerdict, (what: string, reply: StatusReply, rules: StatusRules) => string> = {
  auth: (what, { body }, rules) => `${what}: ${rules.rejected} (${rules.message(body, 'unauthorized')})`,
  'rate-limited': (what, { body }, rules) => `${what}: rate limited (${rules.message(body, 'too many requests')})`,
  transient: (what, { status, statusText, body }, rules) => `${what}: ${status} ${rules.message(body, statusText)}`,
};

/** The statuses that mean "try again later". */
export const isTransientStatus = (status: number): boolean => status === 429 || status === 408 || status >= 500;

/** The whole-request failure a status means, or undefined when the answer is the caller's to read. */
export function statusVerdict(reply: StatusReply, what: string, rules: StatusRules): ConnectorError | StatusVerdict | undefined {
  const own = rules.special?.(reply, what);
  if (own !== undefined) return own;
  if (reply.status === 401 && rules.rejected !== undefined) return 'auth';
  if (reply.status === 429) return 'rate-limited';
  if (isTransientStatus(reply.status)) return 'transient';
  return undefined;
}

/** The error for a verdict, with the app's message, code and wait. */
export function verdictError(verdict: StatusVerdict, what: string, reply: StatusReply, rules: StatusRules): ConnectorError {
  const message = (rules.words?.[verdict] ?? defaultWords[verdict])(what, reply, rules);
  if (verdict === 'auth') return new AuthError(message, reply.status, rules.code(reply.body));
  const wait = rules.wait ? rules.wait(verdict, reply) : parseRetryAfter(reply.headers.get('retry-after'));
  const code = verdict === 'rate-limited' ? (rules.rateLimitCode ? rules.rateLimitCode(reply.body) : (rules.code(reply.body) ?? 'rate_limited')) : rules.code(reply.body);
  return new TransientError(message, reply.status, wait, code);
}

/** Throws the whole-request failure a status means; returns when the answer is the caller's to read. */
export function throwOnStatus(reply: StatusReply, what: string, rules: StatusRules): void {
  const verdict = statusVerdict(reply, what, rules);
  if (verdict === undefined) return;
  throw typeof verdict === 'string' ? verdictError(verdict, what, reply, rules) : verdict;
}

/** A status a read did not expect: the scope is wrong or the app changed under us. */
export function unexpected(what: string, reply: { status: number; body: unknown }, rules: StatusRules): never {
  const message = rules.unexpectedWords?.(what, reply) ?? `${what}: ${rules.message(reply.body, `unexpected status ${reply.status}`)}`;
  throw new ConfigError(message, reply.status, rules.code(reply.body));
}
