import { eq, sql } from 'drizzle-orm';
import type { Side } from '../../sync/types';
import type { Db } from '../client';
import type { ConnectionRow } from '../queries/connections';
import { connections, type ConnectionPhase } from '../schema';

// The engine's side of the connection row: found by id alone (the workflow carries no workspace), deleted
// ones too, since the workflow must learn that its connection was deleted.

export async function loadConnection(db: Db, connectionId: string): Promise<ConnectionRow | undefined> {
  const [row] = await db.select().from(connections).where(eq(connections.id, connectionId));
  return row;
}

/** Stores a side's renewed credentials, already encrypted (db/crypto.ts). */
export async function saveCredentials(db: Db, connectionId: string, side: Side, envelope: string): Promise<void> {
  await db
    .update(connections)
    .set(side === 'a' ? { credentialsA: envelope } : { credentialsB: envelope })
    .where(eq(connections.id, connectionId));
}

export async function recordPhase(db: Db, connectionId: string, phase: ConnectionPhase): Promise<void> {
  await db.update(connections).set({ state: phase, updatedAt: sql`now()` }).where(eq(connections.id, connectionId));
}
