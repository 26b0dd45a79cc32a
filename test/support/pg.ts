import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDatabase, type Database } from '../../db/client';

// A fresh PostgreSQL database per test file, on the server of TEST_DATABASE_URL (default: the local
// server with trust auth), so test files run in parallel without seeing each other's rows.

export const adminUrl = () => process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** the new database's name, rapport_t_<random> */
  name: string;
  url: string;
  /** Drops the database, ending any session still connected to it. */
  drop(): Promise<void>;
}

function urlFor(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function createTestDatabase(prefix = 'rapport_t'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unsafe database name ${name}`);
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  return {
    name,
    url: urlFor(adminUrl(), name),
    async drop() {
      const sql = postgres(adminUrl(), { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  };
}

export interface OpenTestDatabase extends Database {
  url: string;
  name: string;
  /** Closes the connection pool, then drops the database. */
  dispose(): Promise<void>;
}

/** A fresh database with the migrations applied, opened through db/client.ts like the product does. */
export async function openTestDatabase(prefix?: string): Promise<OpenTestDatabase> {
  const created = await createTestDatabase(prefix);
  try {
    const database = await openDatabase({ url: created.url });
    return {
      ...database,
      url: created.url,
      name: created.name,
      async dispose() {
        await database.close().catch(() => undefined);
        await created.drop();
      },
    };
  } catch (err) {
    await created.drop().catch(() => undefined);
    throw err;
  }
}
