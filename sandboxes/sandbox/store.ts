import { randomUUID } from 'node:crypto';
import { FaultQueue } from '../kit/faults';
import { RollingWindow } from '../kit/rate-limit';
import { people, type SeedOptions } from '../kit/seed';
import {
  DEFAULT_CHANGE_LOG_LIMIT,
  DEFAULT_PAGE_SIZE_CAP,
  WRITABLE_PROPERTIES,
  type ApiError,
  type ChangeEntry,
  type Contact,
  type ContactInput,
  type FaultSpec,
  type InstanceConfig,
  type InstanceStats,
  type Outcome,
} from './types';
import { checkRequired, validateInput } from './validate';

// One Sandbox account: its contacts, change log, idempotency keys and settings, all in memory.
//
// Sized for the benchmark (10,000+ contacts a side): contacts live in a Map by id, and ids are issued in
// ascending order, so the sorted id list behind paging only ever grows at its end. The change log is kept
// compacted: an entry superseded by a later change of the same contact is skipped when read and dropped when
// the log is trimmed. A reader therefore sees each contact's latest state once per page and never loses a
// change, because whatever superseded an entry lies ahead of the reader's cursor.

export class SandboxError extends Error {
  constructor(
    readonly status: number,
    readonly error: ApiError,
  ) {
    super(error.message);
  }
}

interface LogEntry {
  seq: number;
  deleted: boolean;
  id: string;
}

/** Everything persisted for an instance; plain JSON. */
export interface InstanceState {
  format: 1;
  name: string;
  config: InstanceConfig;
  epoch: string;
  nextId: number;
  nextPersonIndex: number;
  seq: number;
  trimmedThrough: number;
  contacts: Contact[];
  log: [seq: number, deleted: 0 | 1, id: string][];
  idempotency: [key: string, id: string][];
  stats: { requests: number; rate_limited: number; writes: number; write_requests?: number };
}

export interface ListQuery {
  limit?: number;
  cursor?: string | null;
  email?: string | null;
  ids?: string[] | null;
  /** a projection: only these properties of each contact (the cheap listing of ids and versions) */
  fields?: string[] | null;
}

export interface ListResult {
  data: Partial<Contact>[];
  next_cursor: string | null;
  total: number;
}

export interface ChangesResult {
  changes: ChangeEntry[];
  next_cursor: string;
  has_more: boolean;
}

export type BatchItem = {
  op?: unknown;
  id?: unknown;
  if_match?: unknown;
  idempotency_key?: unknown;
  data?: unknown;
};

const MAX_IDEMPOTENCY_KEYS = 200_000;

const emailKey = (email: string) => email.trim().toLowerCase();
const encodeCursor = (raw: string) => Buffer.from(raw, 'utf8').toString('base64url');
const decodeCursor = (cursor: string) => Buffer.from(cursor, 'base64url').toString('utf8');

function lowerBound(sorted: string[], id: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function firstLogIndexAfter(log: LogEntry[], seq: number): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log[mid].seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const CONTACT_PROPERTIES: readonly string[] = ['id', 'version', ...WRITABLE_PROPERTIES, 'created_at', 'updated_at'];

/** The `fields` parameter: a contact reduced to the named properties; an unknown name is a 400. */
function projection(fields: string[]): (contact: Contact) => Partial<Contact> {
  const unknown = fields.find((f) => !CONTACT_PROPERTIES.includes(f));
  if (unknown !== undefined) {
    throw new SandboxError(400, { code: 'invalid_parameter', field: 'fields', message: `fields: "${unknown}" is not a contact property` });
  }
  const keys = [...new Set(fields)] as (keyof Contact)[];
  return (contact) => Object.fromEntries(keys.map((k) => [k, contact[k]])) as Partial<Contact>;
}

/** Accepts `"3"`, `W/"3"`, `3` or the number 3; anything else never matches. */
export function parseIfMatch(value: unknown): number | null | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number') return Number.isInteger(value) ? value : null;
  if (typeof value !== 'string') return null;
  if (value.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(value);
  return match ? Number(match[1]) : null;
}

export class SandboxInstance {
  private cfg: InstanceConfig;
  private contactsById = new Map<string, Contact>();
  private sortedIds: string[] = [];
  private byEmail = new Map<string, Set<string>>();
  private log: LogEntry[] = [];
  private latestSeq = new Map<string, number>();
  private idempotency = new Map<string, string>();
  private epoch = randomUUID().slice(0, 8);
  private nextId = 1;
  private nextPersonIndex = 0;
  private seq = 0;
  private trimmedThrough = 0;
  private counters = { requests: 0, rate_limited: 0, writes: 0, write_requests: 0 };
  private window = new RollingWindow(1000);
  private faults = new FaultQueue<FaultSpec>();

  /** Called after every change of persisted state; the server debounces the save. */
  onChange: () => void = () => {};

  constructor(
    readonly name: string,
    config: InstanceConfig,
  ) {
    this.cfg = SandboxInstance.checkConfig({ ...config });
  }

  static fromState(state: InstanceState, override?: Partial<InstanceConfig>): SandboxInstance {
    const inst = new SandboxInstance(state.name, { ...state.config, ...override });
    inst.epoch = state.epoch;
    inst.nextId = state.nextId;
    inst.nextPersonIndex = state.nextPersonIndex;
    inst.seq = state.seq;
    inst.trimmedThrough = state.trimmedThrough;
    for (const contact of state.contacts) inst.insert(contact);
    inst.sortedIds.sort();
    for (const [seq, deleted, id] of state.log) {
      inst.log.push({ seq, deleted: deleted === 1, id });
      inst.latestSeq.set(id, seq);
    }
    for (const [key, id] of state.idempotency) inst.idempotency.set(key, id);
    inst.counters = { write_requests: 0, ...state.stats };
    return inst;
  }

  toState(): InstanceState {
    this.compactLog();
    return {
      format: 1,
      name: this.name,
      config: { ...this.cfg },
      epoch: this.epoch,
      nextId: this.nextId,
      nextPersonIndex: this.nextPersonIndex,
      seq: this.seq,
      trimmedThrough: this.trimmedThrough,
      contacts: this.sortedIds.map((id) => this.contactsById.get(id)!),
      log: this.log.map((e) => [e.seq, e.deleted ? 1 : 0, e.id]),
      idempotency: [...this.idempotency],
      stats: { ...this.counters },
    };
  }

  private static checkConfig(config: InstanceConfig): InstanceConfig {
    const bad = (message: string) => new SandboxError(422, { code: 'validation_failed', message });
    if (typeof config.token !== 'string' || config.token.length === 0) throw bad('token must be a non-empty string');
    for (const field of config.requiredFields ?? []) {
      if (!(WRITABLE_PROPERTIES as readonly string[]).includes(field)) {
        throw bad(`requiredFields: "${field}" is not a contact property`);
      }
    }
    const positive = ['maxRequestsPerSecond', 'pageSizeCap', 'changeLogLimit'] as const;
    for (const key of positive) {
      const v = config[key];
      if (v !== undefined && v !== null && !(Number.isInteger(v) && v > 0)) throw bad(`${key} must be a positive integer`);
    }
    if (config.latencyMs !== undefined && !(typeof config.latencyMs === 'number' && config.latencyMs >= 0)) {
      throw bad('latencyMs must be a number >= 0');
    }
    return config;
  }

  // ---- settings, stats and test helpers -------------------------------------------------------------------

  get config(): Readonly<InstanceConfig> {
    return this.cfg;
  }

  /** Changes settings; a property set to null goes back to its default. */
  configure(patch: Partial<Record<keyof InstanceConfig, unknown>>): InstanceConfig {
    const next = { ...this.cfg } as Record<string, unknown>;
    for (const [key, value] of Object.entries(patch)) {
      if (!['token', 'maxRequestsPerSecond', 'requiredFields', 'pageSizeCap', 'latencyMs', 'deleteProtected', 'changeLogLimit'].includes(key)) {
        throw new SandboxError(422, { code: 'validation_failed', field: key, message: `"${key}" is not a known setting` });
      }
      if (value === null) delete next[key];
      else next[key] = value;
    }
    this.cfg = SandboxInstance.checkConfig(next as unknown as InstanceConfig);
    this.window.clear();
    this.trimLog();
    this.onChange();
    return { ...this.cfg };
  }

  get pageSizeCap(): number {
    return this.cfg.pageSizeCap ?? DEFAULT_PAGE_SIZE_CAP;
  }

  stats(): InstanceStats {
    return { contacts: this.contactsById.size, ...this.counters, latest_seq: this.seq };
  }

  count(): number {
    return this.contactsById.size;
  }

  /** Every contact, in id order. */
  all(): Contact[] {
    return this.sortedIds.map((id) => this.contactsById.get(id)!);
  }

  find(id: string): Contact | undefined {
    return this.contactsById.get(id);
  }

  findByEmail(email: string): Contact[] {
    const ids = this.byEmail.get(emailKey(email));
    return ids ? [...ids].sort().map((id) => this.contactsById.get(id)!) : [];
  }

  /** Makes the next API requests fail with the given status, as a flaky or throttling app would. */
  failNext(fault: FaultSpec): void {
    this.faults.add(fault, Math.max(1, Math.floor(fault.count ?? 1)));
  }

  /** Creates realistic people (see seed.ts); returns them in creation order. */
  seed(options: SeedOptions): Contact[] {
    if (!Number.isInteger(options.count) || options.count < 0 || options.count > 1_000_000) {
      throw new SandboxError(422, { code: 'validation_failed', field: 'count', message: 'count must be an integer 0..1000000' });
    }
    const start = options.start ?? this.nextPersonIndex;
    const created: Contact[] = [];
    for (const input of people({ ...options, start })) {
      // Seeding stands for data that was already in the app, so the app's own required fields do not apply.
      created.push(this.store(this.build(input)));
    }
    this.nextPersonIndex = Math.max(this.nextPersonIndex, start + options.count);
    return created;
  }

  /** Drops all data; old feed cursors become invalid because the epoch changes. */
  reset(): void {
    this.contactsById.clear();
    this.sortedIds = [];
    this.byEmail.clear();
    this.log = [];
    this.latestSeq.clear();
    this.idempotency.clear();
    this.epoch = randomUUID().slice(0, 8);
    this.nextId = 1;
    this.nextPersonIndex = 0;
    this.seq = 0;
    this.trimmedThrough = 0;
    this.counters = { requests: 0, rate_limited: 0, writes: 0, write_requests: 0 };
    this.faults.clear();
    this.window.clear();
    this.onChange();
  }

  /** In-process writes act like a user of the app: same validation, same change log, errors thrown. */
  create(input: unknown): Contact {
    return this.unwrap(this.createOutcome(input));
  }

  update(id: string, patch: unknown, ifMatch?: number): Contact {
    return this.unwrap(this.updateOutcome(id, patch, ifMatch));
  }

  remove(id: string): void {
    this.unwrap(this.deleteOutcome(id, undefined, true));
  }

  /** Counts write operations the API received (each item of a batch), whether or not they changed anything. */
  countWriteRequests(operations: number): void {
    this.counters.write_requests += operations;
  }

  // ---- test faults: what real apps' feeds miss --------------------------------------------------------------

  /**
   * Deletes a contact the way some apps do without touching its modification time: the changes feed never
   * reports it, and only a listing shows it gone. Ignores delete protection, like remove().
   */
  removeSilently(id: string): void {
    const current = this.contactsById.get(id);
    if (!current) throw new SandboxError(404, this.notFound(id).error!);
    this.unlist(current);
    // Entries of the contact still in the log are superseded by nothing: dropping its latest position skips them.
    this.latestSeq.delete(id);
    this.counters.writes++;
    this.onChange();
  }

  /**
   * Changes a contact with a modification stamp in the past (an app server whose clock is behind): the change
   * lands before every reader's position in the feed, so no feed cursor taken earlier reports it.
   */
  updateBackdated(id: string, patch: unknown, updatedAt = new Date(Date.now() - 3_600_000).toISOString()): Contact {
    const current = this.contactsById.get(id);
    if (!current) throw new SandboxError(404, this.notFound(id).error!);
    const input = validateInput(patch);
    if (!input.ok) throw new SandboxError(422, input.error);
    if (Number.isNaN(Date.parse(updatedAt))) {
      throw new SandboxError(422, { code: 'validation_failed', field: 'updated_at', message: 'updated_at must be a date-time' });
    }
    const next: Contact = Object.freeze({ ...current, ...input.value, version: current.version + 1, updated_at: new Date(updatedAt).toISOString() });
    this.contactsById.set(id, next);
    this.indexEmails(current, next);
    this.counters.writes++;
    this.onChange();
    return next;
  }

  private unwrap(outcome: Outcome): Contact {
    if (outcome.error) throw new SandboxError(outcome.status, outcome.error);
    return outcome.contact!;
  }

  // ---- request gate -----------------------------------------------------------------------------------------

  /** Counts an API request and says whether it may proceed; null when it may. */
  admit(now = Date.now()): { status: number; error: ApiError; retryAfterSeconds?: number } | null {
    this.counters.requests++;
    const fault = this.faults.take();
    if (fault) {
      if (fault.status === 429) this.counters.rate_limited++;
      return {
        status: fault.status,
        retryAfterSeconds: fault.retryAfterSeconds,
        error: { code: fault.code ?? (fault.status === 429 ? 'rate_limited' : 'unavailable'), message: `injected failure ${fault.status}` },
      };
    }
    const max = this.cfg.maxRequestsPerSecond;
    if (!max) return null;
    const retryAfterSeconds = this.window.take(max, now);
    if (retryAfterSeconds === null) return null;
    this.counters.rate_limited++;
    return {
      status: 429,
      retryAfterSeconds,
      error: { code: 'rate_limited', message: `rate limit of ${max} requests per second exceeded` },
    };
  }

  // ---- reads ------------------------------------------------------------------------------------------------

  list(query: ListQuery): ListResult {
    const limit = Math.min(Math.max(1, query.limit ?? this.pageSizeCap), this.pageSizeCap);
    let ids: string[];
    if (query.ids) ids = [...new Set(query.ids)].filter((id) => this.contactsById.has(id)).sort();
    else if (query.email) ids = [...(this.byEmail.get(emailKey(query.email)) ?? [])].sort();
    else ids = this.sortedIds;

    let start = 0;
    if (query.cursor) {
      const raw = decodeCursor(query.cursor);
      if (!raw.startsWith('after:')) throw new SandboxError(400, { code: 'invalid_cursor', message: 'cursor is not valid' });
      start = lowerBound(ids, raw.slice('after:'.length));
      if (ids[start] === raw.slice('after:'.length)) start++;
    }
    const page = ids.slice(start, start + limit);
    const more = start + limit < ids.length;
    const project = query.fields ? projection(query.fields) : (contact: Contact) => contact;
    return {
      data: page.map((id) => project(this.contactsById.get(id)!)),
      next_cursor: more ? encodeCursor(`after:${page[page.length - 1]}`) : null,
      total: ids.length,
    };
  }

  latestCursor(): string {
    return encodeCursor(`feed:${this.epoch}:${this.seq}`);
  }

  changes(cursor: string, limit?: number): ChangesResult {
    const match = /^feed:([^:]+):(\d+)$/.exec(decodeCursor(cursor));
    if (!match) throw new SandboxError(400, { code: 'invalid_cursor', message: 'cursor is not valid' });
    const from = Number(match[2]);
    if (match[1] !== this.epoch || from < this.trimmedThrough || from > this.seq) {
      throw new SandboxError(410, {
        code: 'cursor_expired',
        message: 'the cursor is older than the retained change log; list all contacts again',
      });
    }
    const max = Math.min(Math.max(1, limit ?? this.pageSizeCap), this.pageSizeCap);
    const changes: ChangeEntry[] = [];
    let position = from;
    // The scan is bounded too, so a long run of superseded entries cannot make one request slow.
    const scanLimit = max * 20;
    let i = firstLogIndexAfter(this.log, from);
    for (let scanned = 0; i < this.log.length && changes.length < max && scanned < scanLimit; i++, scanned++) {
      const entry = this.log[i];
      position = entry.seq;
      if (this.latestSeq.get(entry.id) !== entry.seq) continue;
      changes.push(
        entry.deleted
          ? { seq: entry.seq, type: 'delete', id: entry.id }
          : { seq: entry.seq, type: 'upsert', id: entry.id, contact: this.contactsById.get(entry.id)! },
      );
    }
    if (i >= this.log.length) position = this.seq;
    return { changes, next_cursor: encodeCursor(`feed:${this.epoch}:${position}`), has_more: position < this.seq };
  }

  // ---- writes -----------------------------------------------------------------------------------------------

  createOutcome(body: unknown, idempotencyKey?: string): Outcome {
    if (idempotencyKey !== undefined) {
      if (idempotencyKey.length === 0 || idempotencyKey.length > 255) {
        return this.invalid('idempotency_key', 'idempotency key must be 1..255 characters');
      }
      const earlier = this.idempotency.get(idempotencyKey);
      if (earlier !== undefined) {
        const contact = this.contactsById.get(earlier);
        return contact
          ? { status: 200, contact }
          : { status: 409, error: { code: 'idempotency_key_reused', message: 'the contact created with this idempotency key has been deleted' } };
      }
    }
    const input = validateInput(body);
    if (!input.ok) return { status: 422, error: input.error };
    const contact = this.build(input.value);
    const missing = checkRequired(contact, this.cfg.requiredFields ?? []);
    if (missing) return { status: 422, error: missing };
    this.store(contact);
    if (idempotencyKey !== undefined) this.rememberKey(idempotencyKey, contact.id);
    return { status: 201, contact };
  }

  updateOutcome(id: string, body: unknown, ifMatch?: number | null): Outcome {
    const current = this.contactsById.get(id);
    if (!current) return this.notFound(id);
    if (ifMatch !== undefined && ifMatch !== current.version) return this.mismatch(current);
    const input = validateInput(body);
    if (!input.ok) return { status: 422, error: input.error };
    const patch = input.value;
    const next: Contact = { ...current, ...patch };
    const touched = (this.cfg.requiredFields ?? []).filter((p) => p in patch);
    const missing = checkRequired(next, touched);
    if (missing) return { status: 422, error: missing };
    // A write that changes nothing leaves the version alone, like most apps, so it adds nothing to the feed.
    if (WRITABLE_PROPERTIES.every((p) => JSON.stringify(next[p]) === JSON.stringify(current[p]))) {
      return { status: 200, contact: current };
    }
    const stored = this.store({ ...next, version: current.version + 1, updated_at: new Date().toISOString() }, current);
    return { status: 200, contact: stored };
  }

  deleteOutcome(id: string, ifMatch?: number | null, asUser = false): Outcome {
    if (this.cfg.deleteProtected && !asUser) {
      return { status: 403, error: { code: 'forbidden', message: 'contacts in this account are delete-protected' } };
    }
    const current = this.contactsById.get(id);
    if (!current) return this.notFound(id);
    if (ifMatch !== undefined && ifMatch !== current.version) return this.mismatch(current);
    this.unlist(current);
    this.appendLog(id, true);
    return { status: 204 };
  }

  batch(operations: unknown): Outcome[] {
    if (!Array.isArray(operations)) throw new SandboxError(422, { code: 'validation_failed', field: 'operations', message: 'operations must be an array' });
    return operations.map((item: unknown, i): Outcome => {
      if (typeof item !== 'object' || item === null) return this.invalid(`operations[${i}]`, `operations[${i}] must be an object`);
      const op = item as BatchItem;
      const ifMatch = parseIfMatch(op.if_match);
      const needsId = op.op === 'update' || op.op === 'delete';
      if (needsId && (typeof op.id !== 'string' || op.id === '')) return this.invalid(`operations[${i}].id`, `operations[${i}].id is required for ${op.op}`);
      switch (op.op) {
        case 'create':
          if (op.idempotency_key !== undefined && typeof op.idempotency_key !== 'string') {
            return this.invalid(`operations[${i}].idempotency_key`, `operations[${i}].idempotency_key must be a string`);
          }
          return this.createOutcome(op.data ?? {}, op.idempotency_key);
        case 'update':
          return this.updateOutcome(op.id as string, op.data ?? {}, ifMatch);
        case 'delete':
          return this.deleteOutcome(op.id as string, ifMatch);
        default:
          return this.invalid(`operations[${i}].op`, `operations[${i}].op must be one of create, update, delete`);
      }
    });
  }

  // ---- internals --------------------------------------------------------------------------------------------

  private invalid(field: string, message: string): Outcome {
    return { status: 422, error: { code: 'validation_failed', message, field } };
  }

  private notFound(id: string): Outcome {
    return { status: 404, error: { code: 'not_found', message: `contact ${id} does not exist` } };
  }

  private mismatch(current: Contact): Outcome {
    return {
      status: 412,
      error: { code: 'version_mismatch', message: `contact ${current.id} is at version ${current.version}` },
    };
  }

  private build(input: ContactInput): Contact {
    const now = new Date().toISOString();
    return {
      id: `ct_${(this.nextId++).toString(36).padStart(8, '0')}`,
      version: 1,
      first_name: input.first_name ?? null,
      last_name: input.last_name ?? null,
      company: input.company ?? null,
      job_title: input.job_title ?? null,
      emails: input.emails ?? [],
      phones: input.phones ?? [],
      address: input.address ?? null,
      notes: input.notes ?? null,
      tags: input.tags ?? [],
      owner: input.owner ?? null,
      unsubscribed: input.unsubscribed ?? false,
      created_at: now,
      updated_at: now,
    };
  }

  private unlist(contact: Contact): void {
    this.contactsById.delete(contact.id);
    const at = lowerBound(this.sortedIds, contact.id);
    if (this.sortedIds[at] === contact.id) this.sortedIds.splice(at, 1);
    this.indexEmails(contact, null);
  }

  private insert(contact: Contact): void {
    this.contactsById.set(contact.id, contact);
    this.sortedIds.push(contact.id);
    this.indexEmails(null, contact);
  }

  private store(contact: Contact, previous?: Contact): Contact {
    Object.freeze(contact);
    if (previous) {
      this.contactsById.set(contact.id, contact);
      this.indexEmails(previous, contact);
    } else {
      // Ids ascend, so appending keeps the list sorted.
      this.insert(contact);
    }
    this.appendLog(contact.id, false);
    return contact;
  }

  private indexEmails(before: Contact | null, after: Contact | null): void {
    for (const e of before?.emails ?? []) {
      const set = this.byEmail.get(emailKey(e.value));
      set?.delete(before!.id);
      if (set?.size === 0) this.byEmail.delete(emailKey(e.value));
    }
    for (const e of after?.emails ?? []) {
      const key = emailKey(e.value);
      let set = this.byEmail.get(key);
      if (!set) this.byEmail.set(key, (set = new Set()));
      set.add(after!.id);
    }
  }

  private rememberKey(key: string, id: string): void {
    this.idempotency.set(key, id);
    if (this.idempotency.size > MAX_IDEMPOTENCY_KEYS) {
      // Maps iterate in insertion order: the oldest key goes first, as with an app's key expiry.
      this.idempotency.delete(this.idempotency.keys().next().value!);
    }
  }

  private appendLog(id: string, deleted: boolean): void {
    const seq = ++this.seq;
    this.log.push({ seq, deleted, id });
    this.latestSeq.set(id, seq);
    this.counters.writes++;
    this.trimLog();
    this.onChange();
  }

  private get logLimit(): number {
    return this.cfg.changeLogLimit ?? DEFAULT_CHANGE_LOG_LIMIT;
  }

  private compactLog(): void {
    this.log = this.log.filter((e) => this.latestSeq.get(e.id) === e.seq);
  }

  private trimLog(): void {
    if (this.log.length <= this.logLimit) return;
    this.compactLog();
    // Go well below the limit, so the next appends do not compact again (amortised O(1) per write).
    const keep = Math.max(1, Math.floor(this.logLimit * 0.9));
    if (this.log.length <= keep) return;
    const dropped = this.log.splice(0, this.log.length - keep);
    this.trimmedThrough = dropped[dropped.length - 1].seq;
    for (const entry of dropped) {
      if (entry.deleted && this.latestSeq.get(entry.id) === entry.seq) this.latestSeq.delete(entry.id);
    }
  }
}
