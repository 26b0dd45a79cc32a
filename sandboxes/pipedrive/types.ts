// The Pipedrive sandbox's vocabulary: persons, organizations, users and person fields as Pipedrive's API v2
// (and the v1 leftovers) shows them. The connector never imports this file; it declares its own wire shapes.

export interface LabeledValue {
  value: string;
  primary: boolean;
  label: string;
}

export interface PostalAddress {
  value: string | null;
  route: string | null;
  street_number: string | null;
  locality: string | null;
  admin_area_level_1: string | null;
  postal_code: string | null;
  country: string | null;
}

export const MARKETING_STATUSES = ['no_consent', 'unsubscribed', 'subscribed', 'archived'] as const;
export type MarketingStatus = (typeof MARKETING_STATUSES)[number];

/** A person as stored; the v2 JSON is built from it (marketing_status only when asked for with include_fields). */
export interface StoredPerson {
  id: number;
  name: string;
  first_name: string | null;
  last_name: string | null;
  owner_id: number;
  org_id: number | null;
  add_time: string;
  update_time: string;
  is_deleted: boolean;
  emails: LabeledValue[];
  phones: LabeledValue[];
  visible_to: number;
  label_ids: number[];
  postal_address: PostalAddress | null;
  notes: string | null;
  job_title: string | null;
  birthday: string | null;
  marketing_status: MarketingStatus;
  custom_fields: Record<string, unknown>;
}

export interface Organization {
  id: number;
  name: string;
  owner_id: number;
  add_time: string;
  update_time: string;
  is_deleted: boolean;
}

export interface User {
  id: number;
  name: string;
  email: string;
  is_admin: boolean;
  /** The "edit items owned by other users" permission of the user's permission set. */
  can_edit_others: boolean;
  active_flag: boolean;
}

export interface PersonLabel {
  id: number;
  name: string;
  color: string;
}

export type CustomFieldType = 'varchar' | 'text' | 'double' | 'date' | 'enum' | 'set' | 'phone';

export interface CustomField {
  key: string;
  name: string;
  field_type: CustomFieldType;
  options?: { id: number; label: string }[];
}

/** Current plans and the legacy ones, which differ in the visibility levels they offer. */
export const PLANS = ['lite', 'growth', 'premium', 'ultimate', 'essential', 'advanced', 'professional', 'power', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];

/** The company's settings a test or the demo may change. */
export interface CompanySettings {
  plan: Plan;
  /** Requests per 2-second window per token before 429 (Pipedrive's burst limit). */
  burstLimit: number;
  /** The company's daily token budget; each call costs tokens by its weight. */
  dailyBudget: number;
  /** Whether a 429 carries Retry-After (older docs promise it; the x-ratelimit-reset header is always sent). */
  retryAfterHeader: boolean;
  /** Whether cursor-paginated list endpoints refuse users who are not global admins (403). */
  cursorRequiresAdmin: boolean;
  /** How long /v1/recents remembers changes. */
  recentsWindowDays: number;
}

export interface FaultSpec {
  status: number;
  count?: number;
  retryAfterSeconds?: number;
  error?: string;
}

/** What a user creates in the app: the sandbox's own input for seeding and test hooks. */
export interface PersonInput {
  name?: string;
  first_name?: string | null;
  last_name?: string | null;
  emails?: { value: string; label?: string; primary?: boolean }[];
  phones?: { value: string; label?: string; primary?: boolean }[];
  org_name?: string | null;
  owner_email?: string;
  job_title?: string | null;
  notes?: string | null;
  postal_address?: Partial<PostalAddress> | null;
  birthday?: string | null;
  labels?: string[];
  marketing_status?: MarketingStatus;
  custom_fields?: Record<string, unknown>;
}
