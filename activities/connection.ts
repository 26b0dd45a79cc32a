import { eq, sql } from 'drizzle-orm';
import { connections, type ConnectionState } from '../db/schema';
import { loadConnectionRow, settingsOf, type ActivityDeps } from './context';

/** What the workflow may know about its connection: no credentials, no contacts. */
export interface ConnectionFacts {
  exists: boolean;
  deleted: boolean;
  pollIntervalSeconds: number;
  apps: { a: string; b: string };
}

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
    async setConnectionState(connectionId: string, state: ConnectionState): Promise<void> {
      await deps.db
        .update(connections)
        .set({ state, updatedAt: sql`now()` })
        .where(eq(connections.id, connectionId));
    },
  };
}
