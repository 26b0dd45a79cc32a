import { and, eq, sql } from 'drizzle-orm';
import { connections, records, type ConnectionState } from '../db/schema';
import type { ConnectionFacts } from '../workflows/contract';
import { loadConnectionRow, settingsOf, type ActivityDeps } from './context';

export function connectionActivities(deps: ActivityDeps) {
  return {
    async loadConnection(connectionId: string): Promise<ConnectionFacts> {
      const row = await loadConnectionRow(deps.db, connectionId);
      if (!row) return { exists: false, deleted: true, pollIntervalSeconds: 30, apps: { a: '', b: '' } };
      return {
        exists: true,
        deleted: row.deletedAt !== null,
        pollIntervalSeconds: settingsOf(row).pollIntervalSeconds,
        apps: { a: row.appA, b: row.appB },
      };
    },

    /** Mirrors the workflow's phase into the database, where the API lists connections by state. */
    async recordPhase(connectionId: string, state: ConnectionState): Promise<void> {
      await deps.db
        .update(connections)
        .set({ state, updatedAt: sql`now()` })
        .where(eq(connections.id, connectionId));
    },

    /**
     * Resync: every live contact is planned again. Marking all dirty is enough: the planner writes only what
     * differs, and new mapping pairs have no baseline yet, so they fill.
     */
    async markAllDirty(connectionId: string): Promise<{ marked: number }> {
      const marked = await deps.db
        .update(records)
        .set({ dirty: true })
        .where(and(eq(records.connectionId, connectionId), eq(records.deleted, false)))
        .returning({ id: records.extId });
      return { marked: marked.length };
    },
  };
}
