// The Sandbox app's own vocabulary: its JSON resources (snake_case, like a real app's API) and the settings of
// one instance. The engine never imports this file; the Sandbox connector declares its own copy of the wire shape,
// as it would for any third-party app.

export const EMAIL_TYPES = ['work', 'home', 'other'] as const;
export const PHONE_TYPES = ['mobile', 'work', 'home', 'other'] as const;
export type EmailType = (typeof EMAIL_TYPES)[number];
export type PhoneType = (typeof PHONE_TYPES)[number];

export interface Email {
  type: EmailType;
  value: string;
}

export interface Phone {
  type: PhoneType;
  value: string;
}

export interface Address {
  street: string | null;
  city: string | null;
  region: string | null;
  postal_code: string | null;
  country: string | null;
}

/** The writable properties of a contact, as a create body carries them. */
export interface ContactInput {
  first_name?: string | null;
  last_name?: string | null;
  company?: string | null;
  job_title?: string | null;
  emails?: Email[];
  phones?: Phone[];
  address?: Address | null;
  notes?: string | null;
  tags?: string[];
  owner?: string | null;
  unsubscribed?: boolean;
}

/** A stored contact. Instances are never mutated once stored, so a reference is a consistent snapshot. */
export interface Contact {
  id: string;
  version: number;
  first_name: string | null;
  last_name: string | null;
  company: string | null;
  job_title: string | null;
  emails: Email[];
  phones: Phone[];
  address: Address | null;
  notes: string | null;
  tags: string[];
  owner: string | null;
  unsubscribed: boolean;
  created_at: string;
  updated_at: string;
}

export const WRITABLE_PROPERTIES = [
  'first_name',
  'last_name',
  'company',
  'job_title',
  'emails',
  'phones',
  'address',
  'notes',
  'tags',
  'owner',
  'unsubscribed',
] as const;
export type WritableProperty = (typeof WRITABLE_PROPERTIES)[number];

export const ADDRESS_PARTS = ['street', 'city', 'region', 'postal_code', 'country'] as const;

export interface InstanceConfig {
  token: string;
  /** Requests per sliding second before 429; unlimited when absent. Admin calls are never limited. */
  maxRequestsPerSecond?: number;
  /** Properties that must be present and non-empty when a contact is created (and may not be emptied later). */
  requiredFields?: WritableProperty[];
  pageSizeCap?: number;
  /** Delay added to every API request, so tests can hold a scan open while they change things. */
  latencyMs?: number;
  deleteProtected?: boolean;
  /** How many change-log entries are kept; a feed cursor older than that gets 410. */
  changeLogLimit?: number;
}

export const DEFAULT_PAGE_SIZE_CAP = 100;
export const DEFAULT_CHANGE_LOG_LIMIT = 100_000;
export const MAX_BATCH_OPERATIONS = 100;

export interface ApiError {
  code: string;
  message: string;
  field?: string;
}

/** What one operation produced, shared by the single endpoints and the items of a batch. */
export interface Outcome {
  status: number;
  contact?: Contact;
  error?: ApiError;
}

export interface ChangeEntry {
  seq: number;
  type: 'upsert' | 'delete';
  id: string;
  contact?: Contact;
}

export interface InstanceStats {
  contacts: number;
  requests: number;
  rate_limited: number;
  /** changes of stored contacts, by the API or in-process */
  writes: number;
  /** write operations the API received (each batch item counts), whether or not they changed anything */
  write_requests: number;
  latest_seq: number;
}

/** Injected failures, so tests can see exactly one 429 or 503 without racing a clock. */
export interface FaultSpec {
  status: number;
  count?: number;
  retryAfterSeconds?: number;
  code?: string;
}
