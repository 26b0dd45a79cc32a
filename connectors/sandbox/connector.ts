import type { AppRecord, FieldDef } from '../../sync/types';
import {
  ConfigError,
  FeedExpiredError,
  NotFoundError,
  TransientError,
  VersionConflictError,
  errorInfo,
  type ErrorInfo,
} from '../errors';
import type { Capabilities, ChangeSet, Connector, Page, VersionPage, WriteOp, WriteResult } from '../types';
import { allPages } from '../kit/paging';
import { unexpected } from '../kit/statuses';
import { failure, invalidValue, refusal, writeInBatches } from '../kit/writes';
import { appCode, appMessage, sandboxStatusRules, type Reply, type SandboxClient } from './client';
import { MappingError, REQUIRED_PROPERTY_KEYS, needsCurrent, sandboxFields, toPatch, toRecord, type WireContact, type WirePatch } from './fields';

interface ListBody {
  data: WireContact[];
  next_cursor: string | null;
  total: number;
}
interface ChangesBody {
  changes: { seq: number; type: 'upsert' | 'delete'; id: string; contact?: WireContact }[];
  next_cursor: string;
  has_more: boolean;
}
interface BatchItem {
  op: 'create' | 'update' | 'delete';
  id?: string;
  if_match?: string;
  idempotency_key?: string;
  data?: WirePatch;
}
interface BatchBody {
  results: { status: number; contact?: WireContact; error?: { code?: string; message?: string; field?: string } }[];
}

const MAX_BATCH = 100;
const MAX_PAGE = 100;

export const sandboxCapabilities: Capabilities = {
  incremental: 'changes-feed',
  reportsDeletions: true,
  tags: 'tags',
  unsubscribes: true,
  maxBatchWrite: MAX_BATCH,
  maxPageSize: MAX_PAGE,
  idempotencyKeys: true,
  lookupByEmail: true,
  totalCount: true,
};

/** One pending write of a batch: where its result goes, and whether a 412 may be retried once. */
interface Pending {
  index: number;
  op: WriteOp;
  item: BatchItem;
  /** The If-Match came from our own read, not from the engine, so a clash is ours to resolve by reading again. */
  ownVersion: boolean;
}

/** What one batch item's status means for the engine. */
function itemError(status: number, body: BatchBody['results'][number]['error'], step: string): ErrorInfo {
  if (status === 429 || status >= 500) {
    return errorInfo(new TransientError(body?.message ?? `${step} failed with status ${status}`, status, undefined, body?.code));
  }
  return errorInfo(refusal(step, { status, body: { error: body } }, sandboxStatusRules, { checksVersions: true, field: body?.field }));
}

export class SandboxConnector implements Connector {
  readonly capabilities = sandboxCapabilities;

  constructor(
    private readonly client: SandboxClient,
    private readonly instance: string,
  ) {}

  /** Statuses a read does not expect: the scope is wrong or the app changed under us. */
  private unexpected(what: string, reply: Reply<unknown>): never {
    if (reply.status === 404) throw new ConfigError(`the Sandbox has no instance "${this.instance}"`, 404, appCode(reply.body));
    unexpected(what, reply, sandboxStatusRules);
  }

  async fieldCatalog(): Promise<FieldDef[]> {
    const reply = await this.client.call<{ required_fields: string[] }>('GET', '/schema');
    if (reply.status !== 200) this.unexpected('reading the field metadata', reply);
    const required = new Set(reply.body.required_fields.map((p) => REQUIRED_PROPERTY_KEYS[p]).filter(Boolean));
    return sandboxFields.map((f) => ({ ...f, ...(required.has(f.key) ? { requiredOnCreate: true } : {}) }));
  }

  async listPage(cursor: string | null, pageSize: number): Promise<Page> {
    const reply = await this.client.call<ListBody>('GET', '/contacts', {
      query: { limit: Math.min(Math.max(1, pageSize), MAX_PAGE), cursor },
    });
    if (reply.status !== 200) this.unexpected('listing contacts', reply);
    return { records: reply.body.data.map(toRecord), nextCursor: reply.body.next_cursor, total: reply.body.total };
  }

  /** The listing with `fields=id,version`: the reconcile's cheap pass over the account. */
  async listVersions(cursor: string | null, pageSize: number): Promise<VersionPage> {
    const reply = await this.client.call<{ data: Pick<WireContact, 'id' | 'version'>[]; next_cursor: string | null; total: number }>(
      'GET',
      '/contacts',
      { query: { limit: Math.min(Math.max(1, pageSize), MAX_PAGE), cursor, fields: 'id,version' } },
    );
    if (reply.status !== 200) this.unexpected('listing contact versions', reply);
    return {
      entries: reply.body.data.map((c) => ({ id: c.id, version: String(c.version) })),
      nextCursor: reply.body.next_cursor,
      total: reply.body.total,
    };
  }

  async currentCursor(): Promise<string> {
    const reply = await this.client.call<{ cursor: string }>('GET', '/changes/latest');
    if (reply.status !== 200) this.unexpected('reading the feed position', reply);
    return reply.body.cursor;
  }

  async changesSince(cursor: string, pageSize: number): Promise<ChangeSet> {
    const reply = await this.client.call<ChangesBody>('GET', '/changes', {
      query: { cursor, limit: Math.min(Math.max(1, pageSize), MAX_PAGE) },
    });
    // An unreadable cursor needs the same cure as an expired one: a full re-scan.
    if (reply.status === 410 || (reply.status === 400 && appCode(reply.body) === 'invalid_cursor')) {
      throw new FeedExpiredError(`the Sandbox no longer accepts the feed cursor (${appMessage(reply.body, 'expired')})`, reply.status, appCode(reply.body));
    }
    if (reply.status !== 200) this.unexpected('reading changes', reply);
    return {
      changes: reply.body.changes.map((c) =>
        c.type === 'delete' || !c.contact ? { deleted: true as const, id: c.id } : { deleted: false as const, record: toRecord(c.contact) },
      ),
      nextCursor: reply.body.next_cursor,
      hasMore: reply.body.has_more,
    };
  }

  async get(id: string): Promise<AppRecord | null> {
    const contact = await this.fetchOne(id);
    return contact ? toRecord(contact) : null;
  }

  async findByEmail(email: string): Promise<AppRecord[]> {
    const contacts = await allPages(null, async (cursor: string | null) => {
      const reply = await this.client.call<ListBody>('GET', '/contacts', { query: { email: email.trim(), limit: MAX_PAGE, cursor } });
      if (reply.status !== 200) this.unexpected('looking up by email', reply);
      return { items: reply.body.data, next: reply.body.next_cursor };
    });
    return contacts.map(toRecord);
  }

  write(ops: WriteOp[]): Promise<WriteResult[]> {
    return writeInBatches(ops, MAX_BATCH, (batch, results) => this.writeChunk(batch, results, true));
  }

  private async fetchOne(id: string): Promise<WireContact | null> {
    const reply = await this.client.call<WireContact>('GET', `/contacts/${encodeURIComponent(id)}`);
    if (reply.status === 404) return null;
    if (reply.status !== 200) this.unexpected(`reading contact ${id}`, reply);
    return reply.body;
  }

  /** Current state of up to 100 contacts in one request (the list endpoint's ids filter). */
  private async fetchMany(ids: string[]): Promise<Map<string, WireContact>> {
    if (ids.length === 0) return new Map();
    const contacts = await allPages(null, async (cursor: string | null) => {
      const reply = await this.client.call<ListBody>('GET', '/contacts', { query: { ids: [...new Set(ids)].join(','), limit: MAX_PAGE, cursor } });
      if (reply.status !== 200) this.unexpected('reading contacts before an update', reply);
      return { items: reply.body.data, next: reply.body.next_cursor };
    });
    return new Map(contacts.map((contact) => [contact.id, contact]));
  }

  /**
   * Updates of emails, phones or address parts are read-modify-write: the current contact is read first and the
   * rebuilt property sent with If-Match, so nothing written in between is lost. With the engine's version the
   * clash is the engine's to resolve (VersionConflict); with a version we read ourselves, we read again once.
   */
  private async writeChunk(chunk: { op: WriteOp; index: number }[], results: WriteResult[], mayRetry: boolean): Promise<void> {
    const readFirst = chunk.flatMap(({ op }) => (op.kind === 'update' && needsCurrent(op.fields) ? [op.id] : []));
    const current = await this.fetchMany(readFirst);

    const pending: Pending[] = [];
    for (const { op, index } of chunk) {
      try {
        if (op.kind === 'create') {
          pending.push({ index, op, ownVersion: false, item: { op: 'create', idempotency_key: op.idempotencyKey, data: toPatch(op.fields, null) } });
        } else if (op.kind === 'delete') {
          pending.push({ index, op, ownVersion: false, item: { op: 'delete', id: op.id, if_match: op.version } });
        } else if (!needsCurrent(op.fields)) {
          pending.push({ index, op, ownVersion: false, item: { op: 'update', id: op.id, if_match: op.version, data: toPatch(op.fields, null) } });
        } else {
          const contact = current.get(op.id);
          if (!contact) {
            results[index] = failure(op.ref, new NotFoundError(`contact ${op.id} does not exist`, 404, 'not_found'));
          } else if (op.version !== undefined && op.version !== String(contact.version)) {
            results[index] = failure(
              op.ref,
              new VersionConflictError(`contact ${op.id} is at version ${contact.version}, not ${op.version}`, 412, 'version_mismatch'),
            );
          } else {
            const item: BatchItem = { op: 'update', id: op.id, if_match: String(contact.version), data: toPatch(op.fields, contact) };
            pending.push({ index, op, ownVersion: op.version === undefined, item });
          }
        }
      } catch (err) {
        if (!(err instanceof MappingError)) throw err;
        results[index] = invalidValue(op.ref, err);
      }
    }
    if (pending.length === 0) return;

    const reply = await this.client.call<BatchBody>('POST', '/contacts/batch', { body: { operations: pending.map((p) => p.item) } });
    if (reply.status !== 200 || reply.body.results?.length !== pending.length) this.unexpected('writing contacts', reply);

    const again: { op: WriteOp; index: number }[] = [];
    reply.body.results.forEach((result, i) => {
      const { op, index, ownVersion } = pending[i];
      if (result.status === 412 && ownVersion && mayRetry) {
        again.push({ op, index });
      } else if (result.status >= 200 && result.status < 300) {
        results[index] = { ref: op.ref, ok: true, record: result.contact ? toRecord(result.contact) : null };
      } else {
        results[index] = { ref: op.ref, ok: false, error: itemError(result.status, result.error, op.kind) };
      }
    });
    if (again.length > 0) await this.writeChunk(again, results, false);
  }
}
