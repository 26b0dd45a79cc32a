import { randomBytes } from 'node:crypto';
import { and, eq, gt, isNull, lt } from 'drizzle-orm';
import type { Db } from '../client';
import { apiKeys, sessions, workspaces } from '../schema';
import { hashApiKey, type Workspace } from './api-keys';
import { newId } from './ids';

// Dashboard sessions: a browser signs in with an API key once and holds an opaque cookie instead, so the key
// never stays in the browser. Like API keys, only the cookie's SHA-256 is stored (it is 256 random bits).

/** A session ends after this long without use... */
export const SESSION_IDLE_MS = 12 * 3_600_000;
/** ...and at the latest this long after sign-in, however busy. */
export const SESSION_MAX_MS = 7 * 24 * 3_600_000;
/** last_used_at is written at most this often: a dashboard polling every few seconds should not write each time. */
const TOUCH_EVERY_MS = 60_000;

export interface Session {
  id: string;
  keyId: string;
  workspace: Workspace;
  csrfToken: string;
}

const token = () => randomBytes(32).toString('base64url');

/** Opens a session for an authenticated key; the plain token (the cookie's value) is returned here only. */
export async function createSession(
  db: Db,
  auth: { keyId: string; workspaceId: string },
  now = new Date(),
): Promise<{ token: string; session: Session }> {
  const plain = token();
  const csrfToken = token();
  const id = newId('ses');
  const [workspace] = await db
    .select({ id: workspaces.id, name: workspaces.name })
    .from(workspaces)
    .where(eq(workspaces.id, auth.workspaceId));
  if (!workspace) throw new Error(`createSession: no workspace ${auth.workspaceId}`);
  // Expired sessions are swept here, at sign-in, the one moment the table grows.
  await db.delete(sessions).where(lt(sessions.expiresAt, now));
  await db.insert(sessions).values({
    id,
    tokenHash: hashApiKey(plain),
    workspaceId: auth.workspaceId,
    apiKeyId: auth.keyId,
    csrfToken,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: new Date(now.getTime() + SESSION_IDLE_MS),
  });
  return { token: plain, session: { id, keyId: auth.keyId, workspace, csrfToken } };
}

/**
 * The live session of a cookie's token, or null: unknown, signed out, idle too long, past its lifetime, or
 * opened with a key that was revoked since. A use moves the idle deadline forward.
 */
export async function findSession(db: Db, plain: string, now = new Date()): Promise<Session | null> {
  const [row] = await db
    .select({
      id: sessions.id,
      keyId: sessions.apiKeyId,
      csrfToken: sessions.csrfToken,
      createdAt: sessions.createdAt,
      lastUsedAt: sessions.lastUsedAt,
      workspaceId: workspaces.id,
      workspaceName: workspaces.name,
    })
    .from(sessions)
    .innerJoin(apiKeys, eq(apiKeys.id, sessions.apiKeyId))
    .innerJoin(workspaces, eq(workspaces.id, sessions.workspaceId))
    .where(and(eq(sessions.tokenHash, hashApiKey(plain)), gt(sessions.expiresAt, now), isNull(apiKeys.revokedAt)))
    .limit(1);
  if (!row) return null;
  if (now.getTime() - new Date(row.lastUsedAt).getTime() >= TOUCH_EVERY_MS) {
    const cap = new Date(row.createdAt).getTime() + SESSION_MAX_MS;
    await db
      .update(sessions)
      .set({ lastUsedAt: now, expiresAt: new Date(Math.min(now.getTime() + SESSION_IDLE_MS, cap)) })
      .where(eq(sessions.id, row.id));
  }
  return {
    id: row.id,
    keyId: row.keyId,
    workspace: { id: row.workspaceId, name: row.workspaceName },
    csrfToken: row.csrfToken,
  };
}

/** Sign-out: the row goes, so the cookie is refused from then on even if the browser keeps it. */
export async function deleteSession(db: Db, id: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.id, id));
}
