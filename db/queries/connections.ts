import { and, asc, eq, isNull } from 'drizzle-orm';
import type { Db } from '../client';
import { connections, type ConnectionPhase } from '../schema';

// Every query takes the workspace id: a connection of another workspace is simply not found, so a route
// cannot leak it by forgetting a check.

export type ConnectionRow = typeof connections.$inferSelect;
export type NewConnectionRow = typeof connections.$inferInsert;
export type ConnectionPatch = Partial<
  Pick<
    ConnectionRow,
    'name' | 'settings' | 'scopeA' | 'scopeB' | 'optionsA' | 'optionsB' | 'credentialsA' | 'credentialsB' | 'state' | 'deletedAt'
  >
>;

const live = (workspaceId: string) => and(eq(connections.workspaceId, workspaceId), isNull(connections.deletedAt));

export async function insertConnection(db: Db, row: NewConnectionRow): Promise<ConnectionRow> {
  const [created] = await db.insert(connections).values(row).returning();
  return created;
}

export function listConnections(db: Db, workspaceId: string): Promise<ConnectionRow[]> {
  return db.select().from(connections).where(live(workspaceId)).orderBy(asc(connections.createdAt), asc(connections.id));
}

/** A connection of the workspace that is not deleted, or null; forUpdate locks the row until the transaction ends. */
export async function findConnection(
  db: Db,
  workspaceId: string,
  id: string,
  opts: { forUpdate?: boolean } = {},
): Promise<ConnectionRow | null> {
  const query = db
    .select()
    .from(connections)
    .where(and(eq(connections.id, id), live(workspaceId)))
    .limit(1);
  const rows = opts.forUpdate ? await query.for('update') : await query;
  return rows[0] ?? null;
}

export async function updateConnection(
  db: Db,
  workspaceId: string,
  id: string,
  patch: ConnectionPatch,
): Promise<ConnectionRow | null> {
  const rows = await db
    .update(connections)
    .set({ ...patch, updatedAt: new Date() })
    .where(and(eq(connections.id, id), live(workspaceId)))
    .returning();
  return rows[0] ?? null;
}

export function setConnectionPhase(db: Db, workspaceId: string, id: string, phase: ConnectionPhase) {
  return updateConnection(db, workspaceId, id, { state: phase });
}

/** Removes a row outright: only for a connection whose workflow never started, so nothing refers to it. */
export async function discardConnection(db: Db, workspaceId: string, id: string): Promise<void> {
  await db.delete(connections).where(and(eq(connections.id, id), eq(connections.workspaceId, workspaceId)));
}

/** Soft delete: records, links and history stay for audit; the connection disappears from the API. */
export function markConnectionDeleted(db: Db, workspaceId: string, id: string) {
  return updateConnection(db, workspaceId, id, { deletedAt: new Date(), state: 'stopped' });
}
