import type { z } from 'zod';
import type { ListedVersion } from '../sync/reconcile';
import type { AppRecord, FieldDef, FieldValue } from '../sync/types';
import type { ErrorInfo } from './errors';

/** How an app tells us what changed since the last cycle. */
export type IncrementalFeed =
  | 'changes-feed' // a cursor over an ordered log of upserts and deletions (Sandbox)
  | 'sync-token' // CardDAV sync-collection, Google People sync tokens
  | 'delta-link' // Microsoft Graph delta queries
  | 'modified-since' // Pipeliner, Pipedrive, HubSpot: filter by modification time
  | 'none'; // full re-scan every cycle

export interface Capabilities {
  incremental: IncrementalFeed;
  /** Whether the incremental feed reports deletions (otherwise only a full scan reveals them). */
  reportsDeletions: boolean;
  /** How the app groups contacts, which is what "tag" means for it. */
  tags: 'tags' | 'groups' | 'categories' | 'lists' | 'none';
  /** Whether the app knows unsubscribes (opt-out, marketing status). */
  unsubscribes: boolean;
  /** Largest number of writes sent in one request; 1 when the app has no batch endpoint. */
  maxBatchWrite: number;
  /** Largest page the app serves. */
  maxPageSize: number;
  /** Whether creates accept an idempotency key, so a retried create cannot make a second contact. */
  idempotencyKeys: boolean;
  /** Whether the app can be asked for the contacts with a given email. */
  lookupByEmail: boolean;
  /** Whether a listing tells the total number of contacts (for progress). */
  totalCount: boolean;
}

/** Credentials (secret) and scope (not secret) of one side of a connection. */
export interface Account {
  credentials: Record<string, string>;
  scope: Record<string, unknown>;
  /** App-specific options (Google "also add to My Contacts", Pipedrive visible-to, ...). */
  options?: Record<string, unknown>;
  /**
   * Stores credentials the connector renewed (a refreshed OAuth2 token set), merged over the current ones;
   * the engine encrypts them at rest. Absent in contexts that cannot store (then renewals live in memory).
   */
  saveCredentials?: (changed: Record<string, string>) => Promise<void>;
}

export interface Page {
  records: AppRecord[];
  /** null on the last page. */
  nextCursor: string | null;
  total?: number;
}

export type { ListedVersion } from '../sync/reconcile';

/** A page of the cheapest listing: each contact's id and version, nothing else. */
export interface VersionPage {
  entries: ListedVersion[];
  /** null on the last page. */
  nextCursor: string | null;
  total?: number;
}

export type Change = { deleted: false; record: AppRecord } | { deleted: true; id: string };

export interface ChangeSet {
  changes: Change[];
  /** Where the next call continues; persisted by the engine between cycles. */
  nextCursor: string;
  hasMore: boolean;
}

export type WriteOp =
  | { kind: 'create'; ref: string; fields: Record<string, FieldValue>; idempotencyKey?: string }
  | { kind: 'update'; ref: string; id: string; version?: string; fields: Record<string, FieldValue> }
  | { kind: 'delete'; ref: string; id: string; version?: string };

export type WriteResult =
  | { ref: string; ok: true; record: AppRecord | null }
  | { ref: string; ok: false; error: ErrorInfo };

/**
 * One app account, as the engine talks to it. Modelled on vdirsyncer's storage interface: a handful of
 * operations, each backend one folder. Whole-request failures (auth, transient, config) are thrown as
 * ConnectorError; per-contact failures of a batch come back in WriteResult.
 */
export interface Connector {
  readonly capabilities: Capabilities;
  /** The account's field catalog, including custom fields read from the account. */
  fieldCatalog(): Promise<FieldDef[]>;
  /** One page of a full listing of the scope. */
  listPage(cursor: string | null, pageSize: number): Promise<Page>;
  /**
   * One page of the cheapest listing of the scope the app offers: ids and versions only (a fields projection).
   * Optional: the reconcile uses listPage where a connector has none. The versions must be those listPage
   * and get return, since the reconcile compares them with the stored ones.
   */
  listVersions?(cursor: string | null, pageSize: number): Promise<VersionPage>;
  /** A feed position at "now", taken before a full scan so that nothing changed during the scan is missed. */
  currentCursor(): Promise<string>;
  /** Changes since a cursor; throws FeedExpiredError when the app rejects it. */
  changesSince(cursor: string, pageSize: number): Promise<ChangeSet>;
  get(id: string): Promise<AppRecord | null>;
  findByEmail(email: string): Promise<AppRecord[]>;
  /** Apply writes, at most capabilities.maxBatchWrite at a time; updates carry only changed fields. */
  write(ops: WriteOp[]): Promise<WriteResult[]>;
}

/** A catalog entry: everything the engine and the API know about an app before connecting to it. */
export interface AppDefinition {
  id: string;
  name: string;
  capabilities: Capabilities;
  /** Validates the credentials object; every key in it is treated as secret. */
  credentials: z.ZodType<Record<string, string>>;
  scope: z.ZodType<Record<string, unknown>>;
  /** The catalog before any account is read: standard fields. */
  fields: FieldDef[];
  connect(account: Account): Connector;
}
