// Runs once per `vitest run`, in the main process: one Temporal dev server and a PostgreSQL check for all test files.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestProject } from 'vitest/node';
import { searchAttributes } from '../../workflows/search-attributes';
import { devServerDynamicConfig, findTemporalCli, waitForTemporal } from '../../scripts/lib/temporal';

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the Temporal frontend shared by all test files (namespace "default") */
    temporalAddress: string;
    /** PostgreSQL server URL (database "postgres"); tests create their own databases on it */
    postgresUrl: string;
  }
}

const CAN_EVERY_EVENTS = 120;

const postgresUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function checkPostgres(): Promise<void> {
  const { default: postgres } = await import('postgres');
  const sql = postgres(postgresUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`select 1`;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `PostgreSQL does not answer at ${postgresUrl.replace(/\/\/[^@]*@/, '//…@')} (${reason}).\n` +
        `Run the tests with \`npm test\`, which starts it, or start it yourself ` +
        `(Debian: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start), ` +
        `or point TEST_DATABASE_URL at a server where user postgres may create databases.`,
    );
  } finally {
    await sql.end({ timeout: 1 });
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await checkPostgres();
  project.provide('postgresUrl', postgresUrl);

  const existing = process.env.TEMPORAL_ADDRESS;
  if (existing) {
    await waitForTemporal(existing, { timeoutMs: 15_000 });
    project.provide('temporalAddress', existing);
    return async () => {};
  }

  const cli = await findTemporalCli({ build: true, log: (msg) => console.log(msg) });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      searchAttributes: [...searchAttributes],
      // A low continue-as-new threshold makes every end-to-end test cross run boundaries, carrying state.
      extraArgs: [...devServerDynamicConfig, `limit.historyCount.suggestContinueAsNew=${CAN_EVERY_EVENTS}`].flatMap(
        (value) => ['--dynamic-config-value', value],
      ),
      ui: false,
    },
  });
  project.provide('temporalAddress', env.address);
  return async () => {
    await env.teardown();
  };
}
