// The Google People API's vocabulary as the sandbox stores and serves it. The connector declares its own copy of
// the wire shape (connectors/google/fields.ts), as it would for the real service.

/** Fields a contact person carries, each a list of objects, as in the People API's Person resource. */
export const WRITABLE_PERSON_FIELDS = [
  'addresses',
  'biographies',
  'birthdays',
  'calendarUrls',
  'clientData',
  'emailAddresses',
  'events',
  'externalIds',
  'genders',
  'imClients',
  'interests',
  'locales',
  'locations',
  'memberships',
  'miscKeywords',
  'names',
  'nicknames',
  'occupations',
  'organizations',
  'phoneNumbers',
  'relations',
  'sipAddresses',
  'urls',
  'userDefined',
] as const;
export type WritablePersonField = (typeof WRITABLE_PERSON_FIELDS)[number];

/** Valid in personFields / readMask, but never in updatePersonFields. */
export const READ_ONLY_PERSON_FIELDS = ['metadata', 'photos', 'coverPhotos', 'ageRanges'] as const;
export const PERSON_FIELDS: readonly string[] = [...WRITABLE_PERSON_FIELDS, ...READ_ONLY_PERSON_FIELDS];

/** Contact-source singletons: more than one value is a 400. */
export const SINGLETON_FIELDS: readonly string[] = ['names', 'biographies', 'birthdays', 'genders'];

export type FieldItem = Record<string, unknown>;
export type PersonData = Partial<Record<WritablePersonField, FieldItem[]>>;

/** A stored contact. Replaced, never mutated, so a reference held by a page or the search cache stays a snapshot. */
export interface StoredPerson {
  id: string;
  etag: string;
  sourceEtag: string;
  updateTime: string;
  data: PersonData;
}

export interface Tombstone {
  id: string;
  etag: string;
  updateTime: string;
  deleted: true;
}

export interface StoredGroup {
  id: string;
  etag: string;
  name: string;
  groupType: 'USER_CONTACT_GROUP' | 'SYSTEM_CONTACT_GROUP';
  updateTime: string;
  /** System groups that accept no new members (deprecated ones such as friends, family). */
  closed?: boolean;
}

export interface AccountConfig {
  /** Largest page connections.list serves, below the API's 1000 (tests use small pages). */
  pageSizeCap?: number;
  /** How many later connections.list calls a write stays invisible to lists, sync results and search; 0 by default. */
  propagationReads?: number;
  /** Age after which a sync token is refused with EXPIRED_SYNC_TOKEN; 7 days by default. */
  syncTokenMaxAgeMs?: number;
  /** Requests per sliding minute before 429 RESOURCE_EXHAUSTED; unlimited when absent. */
  maxRequestsPerMinute?: number;
}

/** Injected failures, so tests see exactly one 429 or 503 without racing a clock. */
export interface FaultSpec {
  status: number;
  count?: number;
  retryAfterSeconds?: number;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** A google.rpc.Status error, the JSON every Google API answers failures with. */
export class GoogleApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly status = STATUS_NAMES[code] ?? 'UNKNOWN',
    readonly details?: Record<string, unknown>[],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  body(): { error: { code: number; message: string; status: string; details?: Record<string, unknown>[] } } {
    return { error: { code: this.code, message: this.message, status: this.status, ...(this.details ? { details: this.details } : {}) } };
  }

  static invalid(message: string, violations?: { field?: string; description: string }[]): GoogleApiError {
    const details = violations ? [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: violations }] : undefined;
    return new GoogleApiError(400, message, 'INVALID_ARGUMENT', details);
  }
}
