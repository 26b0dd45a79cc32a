import { SyncStore, type ConnectionPhase } from '../db/store';
import type { ConnectionFacts } from '../workflows/contract';
import { settingsOf, type ActivityDeps } from './context';

export function connectionActivities(deps: ActivityDeps) {
  const storeOf = (connectionId: string) => new SyncStore(deps.db, connectionId);

  return {
    async loadConnection(connectionId: string): Promise<ConnectionFacts> {
      const row = await storeOf(connectionId).connection();
      if (!row) return { exists: false, deleted: true, pollIntervalSeconds: 30, reconcileIntervalHours: 0, apps: { a: '', b: '' } };
      const settings = settingsOf(row);
      return {
        exists: true,
        deleted: row.deletedAt !== null,
        pollIntervalSeconds: settings.pollIntervalSeconds,
        reconcileIntervalHours: settings.reconcileIntervalHours,
        apps: { a: row.appA, b: row.appB },
      };
    },

    /** Mirrors the workflow's phase into the database, where the API lists connections by state. */
    async recordPhase(connectionId: string, phase: ConnectionPhase): Promise<void> {
      await storeOf(connectionId).recordPhase(phase);
    },

    /**
     * Settings apply to contacts as they change; a resync applies them to every contact now. Marking all dirty
     * is enough: the planner writes only what differs, and new mapping pairs have no baseline yet, so they fill.
     */
    async markAllDirty(connectionId: string): Promise<{ marked: number }> {
      return { marked: await storeOf(connectionId).markAllDirty() };
    },
  };
}
