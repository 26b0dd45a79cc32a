import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { apiKeys, workspaces } from '../schema';
import { newId } from './ids';

// API keys are bearer secrets: only their SHA-256 is stored, so a database dump does not hand out access.
// SHA-256 without a salt is enough here because the keys are 256 random bits, not guessable passwords.

export const API_KEY_PREFIX = 'rk_';
const DISPLAY_PREFIX_LENGTH = API_KEY_PREFIX.length + 6;

export interface Workspace {
  id: string;
  name: string;
}

export interface AuthenticatedKey {
  keyId: string;
  workspaceId: string;
}

export function hashApiKey(plain: string): string {
  return createHash('sha256').update(plain, 'utf8').digest('hex');
}

export async function createWorkspace(db: Db, name: string, id: string = newId('ws')): Promise<Workspace> {
  await db.insert(workspaces).values({ id, name });
  return { id, name };
}

/** Creates a key for the workspace; the plain key is returned here and never again. */
export async function createApiKey(
  db: Db,
  workspaceId: string,
  name: string,
): Promise<{ id: string; key: string; prefix: string }> {
  const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  const id = newId('key');
  const prefix = key.slice(0, DISPLAY_PREFIX_LENGTH);
  await db.insert(apiKeys).values({ id, workspaceId, name, prefix, keyHash: hashApiKey(key) });
  return { id, key, prefix };
}

export async function revokeApiKey(db: Db, keyId: string): Promise<void> {
  await db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, keyId));
}

/** The key's workspace, or null for an unknown or revoked key. */
export async function authenticateApiKey(db: Db, plain: string): Promise<AuthenticatedKey | null> {
  if (!plain.startsWith(API_KEY_PREFIX)) return null;
  const rows = await db
    .select({ keyId: apiKeys.id, workspaceId: apiKeys.workspaceId })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, hashApiKey(plain)), isNull(apiKeys.revokedAt)))
    .limit(1);
  return rows[0] ?? null;
}

/**
 * First start of an install: a default workspace and one key, whose plain value the caller prints once.
 * Returns null as soon as any key has ever existed, so revoking every key does not make a restart mint
 * a new one. The advisory lock keeps the API process and `npm start` from both creating one.
 */
export async function ensureFirstKey(db: Db): Promise<string | null> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('rapport:first-api-key'))`);
    const anyKey = await tx.select({ id: apiKeys.id }).from(apiKeys).limit(1);
    if (anyKey.length > 0) return null;
    const existing = await tx.select({ id: workspaces.id }).from(workspaces).orderBy(asc(workspaces.createdAt)).limit(1);
    const workspaceId = existing[0]?.id ?? (await createWorkspace(tx, 'Default')).id;
    const created = await createApiKey(tx, workspaceId, 'first key');
    return created.key;
  });
}
