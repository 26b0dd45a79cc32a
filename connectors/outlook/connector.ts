import type { AppRecord, FieldDef } from '../../sync/types';
import {
  AuthError,
  ConfigError,
  FeedExpiredError,
  NotFoundError,
  TransientError,
  VersionConflictError,
  errorInfo,
  type ErrorInfo,
} from '../errors';
import type { Capabilities, Change, ChangeSet, Connector, Page, WriteOp, WriteResult } from '../types';
import { allPages, pages } from '../kit/paging';
import { isTransientStatus, unexpected } from '../kit/statuses';
import { failure, invalidValue, refusal, writeInBatches } from '../kit/writes';
import { MAX_BATCH, graphCode, graphMessage, graphStatusRules, itemRetryAfter, type BatchRequest, type BatchResponse, type GraphClient, type Reply } from './client';
import type { ContactFolder } from '@microsoft/microsoft-graph-types';
import { MappingError, needsCurrent, outlookFields, toPatch, toRecord, versionOf, type GraphContact } from './fields';

/** Which contacts folder the account syncs: an existing one, one the connector creates by name, or the default. */
export type FolderScope = { id: string } | { name: string; create: true } | null;

interface Collection<T> {
  value: T[];
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}
type DeltaItem = GraphContact & { '@removed'?: { reason?: string } };
type Folder = Pick<ContactFolder, 'displayName' | 'parentFolderId'> & { id: string };

/**
 * The cursor of a default Contacts folder whose id could not be learnt yet (no contact in it and no sub-folder):
 * Graph documents contact delta only per folder id, so the first round starts once the id is known, and that
 * round's contacts are all new since the cursor (the folder was empty).
 */
const UNRESOLVED_DEFAULT = 'outlook:default-folder-unresolved';

// Delta pages are capped near 200 contacts by the service; plain listings follow the same cap so that one page
// size fits both.
const MAX_PAGE = 200;

export const outlookCapabilities: Capabilities = {
  incremental: 'delta-link',
  reportsDeletions: true,
  tags: 'categories',
  unsubscribes: false,
  maxBatchWrite: MAX_BATCH,
  maxPageSize: MAX_PAGE,
  idempotencyKeys: false,
  lookupByEmail: true,
  totalCount: false,
};

/** OData string literal: single quotes doubled. */
const odataString = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** What one batch item's status means for one contact. Transient statuses never get here (see write). */
function itemError(answer: BatchResponse, step: string): ErrorInfo {
  return errorInfo(refusal(step, answer, graphStatusRules, { checksVersions: true }));
}

interface Pending {
  index: number;
  op: WriteOp;
  request: BatchRequest;
  /** The If-Match came from our own read, not from the engine: a clash is ours to resolve by reading again. */
  ownVersion: boolean;
}

export class OutlookConnector implements Connector {
  readonly capabilities = outlookCapabilities;
  private folderId: Promise<string | null> | null = null;
  /** The default folder's id, once learnt (only the delta path needs it). */
  private defaultId: string | null = null;

  constructor(
    private readonly client: GraphClient,
    private readonly folder: FolderScope,
  ) {}

  async fieldCatalog(): Promise<FieldDef[]> {
    return outlookFields.map((f) => ({ ...f }));
  }

  async listPage(cursor: string | null, pageSize: number): Promise<Page> {
    const top = Math.min(Math.max(1, pageSize), MAX_PAGE);
    const reply = cursor
      ? await this.client.call<Collection<GraphContact>>('GET', cursor)
      : await this.client.call<Collection<GraphContact>>('GET', await this.contactsPath(), { query: { $top: top } });
    if (reply.status !== 200) this.unexpected('listing contacts', reply);
    return { records: reply.body.value.map(toRecord), nextCursor: reply.body['@odata.nextLink'] ?? null };
  }

  /**
   * Graph has no "delta from now": the only way to a deltaLink is a whole initial round. It is read here, before
   * the engine's full scan, so that every change made during the scan shows up in the first incremental cycle.
   */
  async currentCursor(): Promise<string> {
    const path = await this.deltaPath();
    if (path === null) return UNRESOLVED_DEFAULT;
    let link: string = path;
    for (let guard = 0; guard < 1_000_000; guard++) {
      const reply = await this.client.call<Collection<DeltaItem>>('GET', link, { headers: { prefer: `odata.maxpagesize=${MAX_PAGE}` } });
      if (reply.status !== 200) this.unexpected('starting change tracking', reply);
      if (reply.body['@odata.deltaLink']) return reply.body['@odata.deltaLink'];
      const next = reply.body['@odata.nextLink'];
      if (!next) throw new TransientError('Graph delta round ended without a nextLink or deltaLink', reply.status);
      link = next;
    }
    throw new TransientError('Graph delta round did not end');
  }

  async changesSince(cursor: string, pageSize: number): Promise<ChangeSet> {
    if (cursor === UNRESOLVED_DEFAULT) {
      const path = await this.deltaPath();
      if (path === null) return { changes: [], nextCursor: UNRESOLVED_DEFAULT, hasMore: false };
      return this.deltaPage(path, pageSize);
    }
    // A link from another base URL (the scope changed) cannot be followed: start over, as with an expired token.
    if (!this.client.ownsLink(cursor)) throw new FeedExpiredError('the saved delta link belongs to another Graph base URL');
    return this.deltaPage(cursor, pageSize);
  }

  /** One page of a delta round: from a saved link, or the first page of an initial round from the delta path. */
  private async deltaPage(link: string, pageSize: number): Promise<ChangeSet> {
    const size = Math.min(Math.max(1, pageSize), MAX_PAGE);
    const reply = await this.client.call<Collection<DeltaItem>>('GET', link, { headers: { prefer: `odata.maxpagesize=${size}` } });
    const code = graphCode(reply.body);
    if (reply.status === 410 || code === 'SyncStateNotFound' || code === 'resyncRequired' || code === 'SyncStateInvalid') {
      throw new FeedExpiredError(`Outlook no longer accepts the delta token (${graphMessage(reply.body, 'sync state not found')})`, reply.status, code);
    }
    if (reply.status !== 200) this.unexpected('reading changes', reply);
    const changes: Change[] = reply.body.value.map((item) =>
      // "deleted" and "changed" (moved out of the folder) both mean the contact left this account's scope.
      item['@removed'] ? { deleted: true as const, id: item.id } : { deleted: false as const, record: toRecord(item) },
    );
    const next = reply.body['@odata.nextLink'];
    const delta = reply.body['@odata.deltaLink'];
    if (!next && !delta) throw new TransientError('Graph delta page carried neither a nextLink nor a deltaLink', reply.status);
    return { changes, nextCursor: (next ?? delta)!, hasMore: Boolean(next) };
  }

  async get(id: string): Promise<AppRecord | null> {
    const contact = await this.fetchOne(id);
    return contact ? toRecord(contact) : null;
  }

  async findByEmail(email: string): Promise<AppRecord[]> {
    const contacts = await allPages(null, async (link: string | null) => {
      const reply = link
        ? await this.client.call<Collection<GraphContact>>('GET', link)
        : await this.client.call<Collection<GraphContact>>('GET', await this.contactsPath(), {
            query: { $filter: `emailAddresses/any(a:a/address eq ${odataString(email.trim())})`, $top: MAX_PAGE },
          });
      if (reply.status !== 200) this.unexpected('looking up by email', reply);
      return { items: reply.body.value, next: reply.body['@odata.nextLink'] };
    });
    return contacts.map(toRecord);
  }

  write(ops: WriteOp[]): Promise<WriteResult[]> {
    return writeInBatches(ops, MAX_BATCH, (batch, results) => this.writeChunk(batch, results, true));
  }

  /** Statuses a read does not expect: the scope is wrong, the permission missing, or the app changed under us. */
  private unexpected(what: string, reply: Reply<unknown>): never {
    const message = `${what}: ${graphMessage(reply.body, `unexpected status ${reply.status}`)}`;
    if (reply.status === 403) throw new AuthError(`${message} (the app needs the Contacts.ReadWrite permission)`, 403, graphCode(reply.body));
    if (reply.status === 404) throw new ConfigError(`${message} (the contacts folder no longer exists?)`, 404, graphCode(reply.body));
    unexpected(what, reply, graphStatusRules);
  }

  private resolveFolder(): Promise<string | null> {
    this.folderId ??= this.findFolder().catch((err: unknown) => {
      this.folderId = null;
      throw err;
    });
    return this.folderId;
  }

  private async findFolder(): Promise<string | null> {
    const scope = this.folder;
    if (scope === null) return null;
    if ('id' in scope) {
      const reply = await this.client.call<Folder>('GET', `/me/contactFolders/${encodeURIComponent(scope.id)}`);
      if (reply.status === 404 || reply.status === 400) {
        throw new ConfigError(`the Outlook contacts folder ${scope.id} does not exist (${graphMessage(reply.body, 'not found')})`, reply.status, graphCode(reply.body));
      }
      if (reply.status !== 200) this.unexpected('reading the contacts folder', reply);
      return reply.body.id;
    }
    // Find by name first, so that a retried or repeated setup never makes a second folder.
    const existing = await this.folderNamed(scope.name);
    if (existing) return existing;
    const reply = await this.client.call<Folder>('POST', '/me/contactFolders', { body: { displayName: scope.name } });
    if (reply.status === 201) return reply.body.id;
    // Made meanwhile by another worker: the name is taken, so it is there to be found.
    if (reply.status === 409) {
      const raced = await this.folderNamed(scope.name);
      if (raced) return raced;
    }
    this.unexpected(`creating the contacts folder "${scope.name}"`, reply);
  }

  /**
   * The default Contacts folder's id, which Graph gives no documented path to: it is the parentFolderId of the
   * contacts in it (GET /me/contacts lists the default folder, https://learn.microsoft.com/en-us/graph/api/user-list-contacts)
   * and of its sub-folders (GET /me/contactFolders lists them, https://learn.microsoft.com/en-us/graph/api/user-list-contactfolders).
   * null when the folder has neither.
   */
  private async defaultFolderId(): Promise<string | null> {
    for (const path of ['/me/contacts', '/me/contactFolders']) {
      const reply = await this.client.call<Collection<Pick<Folder, 'parentFolderId'>>>('GET', path, { query: { $top: 1, $select: 'parentFolderId' } });
      if (reply.status !== 200) this.unexpected('finding the default contacts folder', reply);
      const parent = reply.body.value[0]?.parentFolderId;
      if (parent) return parent;
    }
    return null;
  }

  private async folderNamed(name: string): Promise<string | null> {
    const folders = pages('/me/contactFolders', async (link: string) => {
      const reply = await this.client.call<Collection<Folder>>('GET', link, link.startsWith('/') ? { query: { $top: 100 } } : {});
      if (reply.status !== 200) this.unexpected('listing contacts folders', reply);
      return { items: reply.body.value, next: reply.body['@odata.nextLink'] };
    });
    for await (const page of folders) {
      const found = page.find((f) => (f.displayName ?? '').trim().toLowerCase() === name.trim().toLowerCase());
      if (found) return found.id;
    }
    return null;
  }

  private async contactsPath(): Promise<string> {
    const folder = await this.resolveFolder();
    return folder === null ? '/me/contacts' : `/me/contactFolders/${encodeURIComponent(folder)}/contacts`;
  }

  /**
   * Graph documents contact delta only per folder, /me/contactFolders/{id}/contacts/delta
   * (https://learn.microsoft.com/en-us/graph/api/contact-delta); /me/contacts/delta is not documented. null
   * while the default folder's id is unknown.
   */
  private async deltaPath(): Promise<string | null> {
    // Not remembered while unknown (an empty default folder): asked again at the next cycle.
    const folder = (await this.resolveFolder()) ?? (this.defaultId ??= await this.defaultFolderId());
    return folder === null ? null : `/me/contactFolders/${encodeURIComponent(folder)}/contacts/delta`;
  }

  private async itemPath(id: string): Promise<string> {
    return `${await this.contactsPath()}/${encodeURIComponent(id)}`;
  }

  private async fetchOne(id: string): Promise<GraphContact | null> {
    const reply = await this.client.call<GraphContact>('GET', await this.itemPath(id));
    // A malformed id names no contact of this account either.
    if (reply.status === 404 || (reply.status === 400 && graphCode(reply.body) === 'ErrorInvalidIdMalformed')) return null;
    if (reply.status !== 200) this.unexpected(`reading contact ${id}`, reply);
    return reply.body;
  }

  /** Current state of the contacts some updates and deletes need, read in one batch. */
  private async fetchMany(ids: string[]): Promise<Map<string, GraphContact>> {
    const found = new Map<string, GraphContact>();
    const unique = [...new Set(ids)];
    if (unique.length === 0) return found;
    const paths = await Promise.all(unique.map((id) => this.itemPath(id)));
    const answers = await this.client.batch(paths.map((url) => ({ method: 'GET', url })));
    this.throwIfTransient(answers);
    answers.forEach((answer, i) => {
      if (answer.status === 200) found.set(unique[i], answer.body as GraphContact);
      else if (answer.status === 401) throw new AuthError(`reading contacts: ${graphMessage(answer.body, 'unauthorized')}`, 401, graphCode(answer.body));
    });
    return found;
  }

  /**
   * A throttled or failing item cannot be reported as that contact's failure (transient errors never mark a
   * contact failed), so the whole call is retried by the engine: the writes that did succeed are found again
   * (creates by email, updates by their new version), the rest are sent again.
   */
  private throwIfTransient(answers: BatchResponse[]): void {
    const transient = answers.filter((a) => a && isTransientStatus(a.status));
    if (transient.length === 0) return;
    const wait = Math.max(0, ...transient.map((a) => itemRetryAfter(a) ?? 0));
    const first = transient[0];
    throw new TransientError(
      `Graph $batch: ${transient.length} request(s) answered ${first.status} (${graphMessage(first.body, 'try again later')})`,
      first.status,
      wait > 0 ? wait : undefined,
      graphCode(first.body),
    );
  }

  /**
   * Updates are read-compare-write: the current contact is read first (lists and the address are rebuilt from it,
   * and the engine's version is compared with its change key), then sent with If-Match, so nothing written in
   * between is lost even where the server would not check If-Match itself. With the engine's version a clash is
   * the engine's to resolve (conflict); with a version we read ourselves, we read again once.
   */
  private async writeChunk(chunk: { op: WriteOp; index: number }[], results: WriteResult[], mayRetry: boolean): Promise<void> {
    const readFirst = chunk.flatMap(({ op }) =>
      (op.kind === 'update' && (needsCurrent(op.fields) || op.version !== undefined)) || (op.kind === 'delete' && op.version !== undefined)
        ? [op.id]
        : [],
    );
    const current = await this.fetchMany(readFirst);
    const contactsPath = await this.contactsPath();

    const pending: Pending[] = [];
    for (const { op, index } of chunk) {
      try {
        if (op.kind === 'create') {
          pending.push({ index, op, ownVersion: false, request: { method: 'POST', url: contactsPath, body: toPatch(op.fields, null) } });
          continue;
        }
        const url = `${contactsPath}/${encodeURIComponent(op.id)}`;
        const read = readFirst.includes(op.id);
        const contact = current.get(op.id);
        if (read && !contact) {
          results[index] = failure(op.ref, new NotFoundError(`contact ${op.id} does not exist in this folder`, 404, 'ErrorItemNotFound'));
          continue;
        }
        if (contact && op.version !== undefined && op.version !== versionOf(contact)) {
          results[index] = failure(
            op.ref,
            new VersionConflictError(`contact ${op.id} changed since it was read (change key ${versionOf(contact)}, not ${op.version})`, 412, 'ErrorIrresolvableConflict'),
          );
          continue;
        }
        const ifMatch = contact?.['@odata.etag'] ?? (op.version !== undefined ? `W/"${op.version}"` : undefined);
        const headers = ifMatch ? { 'If-Match': ifMatch } : undefined;
        if (op.kind === 'delete') {
          pending.push({ index, op, ownVersion: false, request: { method: 'DELETE', url, headers } });
        } else {
          const body = toPatch(op.fields, contact ?? null);
          pending.push({ index, op, ownVersion: op.version === undefined, request: { method: 'PATCH', url, body, headers } });
        }
      } catch (err) {
        if (!(err instanceof MappingError)) throw err;
        results[index] = invalidValue(op.ref, err);
      }
    }
    if (pending.length === 0) return;

    const answers = await this.client.batch(pending.map((p) => p.request));
    this.throwIfTransient(answers);

    const again: { op: WriteOp; index: number }[] = [];
    answers.forEach((answer, i) => {
      const { op, index, ownVersion } = pending[i];
      if (answer.status === 401) throw new AuthError(`writing contacts: ${graphMessage(answer.body, 'unauthorized')}`, 401, graphCode(answer.body));
      if (answer.status === 412 && ownVersion && mayRetry) {
        again.push({ op, index });
      } else if (answer.status >= 200 && answer.status < 300) {
        const body = answer.body as GraphContact | null;
        results[index] = { ref: op.ref, ok: true, record: body && typeof body === 'object' && 'id' in body ? toRecord(body) : null };
      } else {
        results[index] = { ref: op.ref, ok: false, error: itemError(answer, op.kind) };
      }
    });
    if (again.length > 0) await this.writeChunk(again, results, false);
  }
}
