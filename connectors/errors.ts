// Every failure a connector reports carries its kind, because the kind decides what the engine does:
// retry (transient), mark one contact failed (contact), stop calling the app (auth), refuse the setting (config).

export type ConnectorErrorKind = 'transient' | 'contact' | 'auth' | 'config' | 'conflict' | 'feed-expired' | 'not-found';

export abstract class ConnectorError extends Error {
  abstract readonly kind: ConnectorErrorKind;
  constructor(
    message: string,
    /** The app's own status and error code, kept so users see what the app said. */
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Timeouts, 5xx, 429: try again later; retryAfterMs honours the app's Retry-After. */
export class TransientError extends ConnectorError {
  readonly kind = 'transient';
  constructor(message: string, status?: number, readonly retryAfterMs?: number, code?: string) {
    super(message, status, code);
  }
}

/** Permanent for one contact: a required field missing, an invalid value, a record the user may not edit. */
export class ContactError extends ConnectorError {
  readonly kind = 'contact';
  constructor(message: string, status?: number, code?: string, readonly field?: string) {
    super(message, status, code);
  }
}

/** Credentials rejected (after any refresh): the connection needs re-authorization. */
export class AuthError extends ConnectorError {
  readonly kind = 'auth';
}

/** The account or scope cannot work as configured (unknown folder, a plan without a feature). */
export class ConfigError extends ConnectorError {
  readonly kind = 'config';
}

/** The record changed since the version we hold (HTTP 412): read again and merge again. */
export class VersionConflictError extends ConnectorError {
  readonly kind = 'conflict';
}

/** The app no longer accepts our sync token or cursor: a full re-scan is needed. */
export class FeedExpiredError extends ConnectorError {
  readonly kind = 'feed-expired';
}

export class NotFoundError extends ConnectorError {
  readonly kind = 'not-found';
}

/** The plain, serialisable form stored in the database and shown to users. */
export interface ErrorInfo {
  kind: ConnectorErrorKind | 'internal';
  message: string;
  status?: number;
  code?: string;
  field?: string;
}

export function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof ConnectorError) {
    return {
      kind: err.kind,
      message: err.message,
      status: err.status,
      code: err.code,
      field: err instanceof ContactError ? err.field : undefined,
    };
  }
  return { kind: 'internal', message: err instanceof Error ? err.message : String(err) };
}
