import type { Logger } from 'pino';
import { getApp } from '../connectors/catalog';
import type { AppDefinition, Connector } from '../connectors/types';
import { decryptSecret, encryptSecret } from '../db/crypto';
import type { Db } from '../db/client';
import { SyncStore, type ConnectionRow } from '../db/store';
import { connectionSettingsSchema, type ConnectionSettings } from '../sync/settings';
import type { FieldDef, Side } from '../sync/types';
import type { RetrySchedule } from '../workflows/retry-schedule';

/** What every activity needs; built once per worker process. */
export interface ActivityDeps {
  db: Db;
  masterKey: Buffer;
  logger: Logger;
  /** Contacts per page read from an app and per planning batch. */
  pageSize?: number;
  planBatchSize?: number;
  /** when failure cases retry by themselves (HubSpot's schedule when unset); tests use a short one */
  failureRetrySchedule?: RetrySchedule;
}

export type { ConnectionRow } from '../db/store';

export interface SideAccess {
  app: AppDefinition;
  connector: Connector;
}

/** The connection's store and row, for an activity that cannot run without its connection. */
export async function openConnection(deps: ActivityDeps, connectionId: string): Promise<{ store: SyncStore; row: ConnectionRow }> {
  const store = new SyncStore(deps.db, connectionId);
  const row = await store.connection();
  if (!row) throw new Error(`connection ${connectionId} not found`);
  return { store, row };
}

export function settingsOf(row: ConnectionRow): ConnectionSettings {
  return connectionSettingsSchema.parse(row.settings ?? {});
}

/** Decrypts one side's credentials only for the lifetime of the returned connector. */
export function openSide(deps: ActivityDeps, row: ConnectionRow, side: Side): SideAccess {
  const appId = side === 'a' ? row.appA : row.appB;
  const app = getApp(appId);
  if (!app) throw new Error(`connection ${row.id}: unknown app "${appId}"`);
  const credentials = decryptSecret(side === 'a' ? row.credentialsA : row.credentialsB, deps.masterKey) as Record<
    string,
    string
  >;
  const connector = app.connect({
    credentials,
    scope: side === 'a' ? row.scopeA : row.scopeB,
    options: side === 'a' ? row.optionsA : row.optionsB,
    // Renewed tokens are stored at once: the next activity, perhaps on another worker, must use them.
    saveCredentials: async (changed) => {
      Object.assign(credentials, changed);
      await new SyncStore(deps.db, row.id).saveCredentials(side, encryptSecret(credentials, deps.masterKey));
    },
  });
  return { app, connector };
}

// Catalogs with custom fields are read from the account; they change rarely, so a short cache per process
// keeps planning from calling the app on every batch.
const catalogCache = new Map<string, { at: number; fields: FieldDef[] }>();
const CATALOG_TTL_MS = 60_000;

export async function catalogOf(row: ConnectionRow, side: Side, access: SideAccess): Promise<FieldDef[]> {
  const key = `${row.id}:${side}:${row.updatedAt.getTime?.() ?? ''}`;
  const hit = catalogCache.get(key);
  if (hit && Date.now() - hit.at < CATALOG_TTL_MS) return hit.fields;
  const fields = await access.connector.fieldCatalog();
  catalogCache.set(key, { at: Date.now(), fields });
  return fields;
}
