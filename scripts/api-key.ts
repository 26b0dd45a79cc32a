// `npm run api-key -- [name]`: a new API key for the first workspace, printed once. Keys are stored hashed,
// so a lost key cannot be shown again; making another is the way back in.
import path from 'node:path';
import { asc } from 'drizzle-orm';
import { openDatabase } from '../db/client';
import { createApiKey, createWorkspace } from '../db/queries/api-keys';
import { workspaces } from '../db/schema';
import { DataDirBusyError, lockDataDir } from './lib/runner';
import { projectRoot } from './lib/temporal';

async function main(): Promise<void> {
  const name = process.argv.slice(2).join(' ').trim() || `cli key ${new Date().toISOString().slice(0, 10)}`;
  const dataDir = path.resolve(process.env.RAPPORT_DATA_DIR ?? path.join(projectRoot, '.data'));
  const url = process.env.DATABASE_URL;

  let release: (() => void) | null = null;
  if (!url) {
    // PGlite is one process's database: opening it next to a running `npm start` would damage it.
    try {
      release = lockDataDir(dataDir, 'npm run api-key');
    } catch (err) {
      if (!(err instanceof DataDirBusyError)) throw err;
      throw new Error(
        `${err.message}\nThe embedded database (PGlite) cannot be opened by two processes: stop \`npm start\` (Ctrl-C), ` +
          `run \`npm run api-key\` again, then start it again. With DATABASE_URL (PostgreSQL) this works while it runs.`,
      );
    }
  }
  const database = await openDatabase({ url, dataDir: path.join(dataDir, 'pglite') });
  try {
    const [first] = await database.db.select().from(workspaces).orderBy(asc(workspaces.createdAt)).limit(1);
    const workspace = first ?? (await createWorkspace(database.db, 'Default'));
    const created = await createApiKey(database.db, workspace.id, name);
    process.stdout.write(
      `New API key "${name}" for workspace ${workspace.name} (${workspace.id}); shown once, store it now:\n  ${created.key}\n`,
    );
  } finally {
    await database.close();
    release?.();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`npm run api-key: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
