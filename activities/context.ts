import { eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import { getApp } from '../connectors/catalog';
import type { AppDefinition, Connector } from '../connectors/types';
import { decryptSecret, encryptSecret } from '../db/crypto';
import type { Db } from '../db/client';
import { connections } from '../db/schema';
import { connectionSettingsSchema, type ConnectionSettings } from '../sync/settings';
import type { FieldDef, Side } from '../sync/types';

/** What every activity needs; built once per worker process. */
export interface ActivityDeps {
  db: Db;
  masterKey: Buffer;
  logger: Logger;
  /** Contacts per page read from an app and per planning batch. */
  pageSize?: number;
  planBatchSize?: number;
}

export type ConnectionRow = typeof connections.$inferSelect;

export interface SideAccess {
  app: AppDefinition;
  connector: Connector;
}

export async function loadConnectionRow(db: Db, connectionId: string): Promise<ConnectionRow | undefined> {
  const [row] = await db.select().from(connections).where(eq(connections.id, connectionId));
  return row;
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
  const column = side === 'a' ? 'credentialsA' : 'credentialsB';
  const connector = app.connect({
    credentials,
    scope: side === 'a' ? row.scopeA : row.scopeB,
    options: side === 'a' ? row.optionsA : row.optionsB,
    // Renewed tokens are stored at once: the next activity, perhaps on another worker, must use them.
    saveCredentials: async (changed) => {
      Object.assign(credentials, changed);
      await deps.db
        .update(connections)
        .set({ [column]: encryptSecret(credentials, deps.masterKey) })
        .where(eq(connections.id, row.id));
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
