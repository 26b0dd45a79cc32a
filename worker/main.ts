import { NativeConnection } from '@temporalio/worker';
import { openDatabase } from '../db/client';
import { loadMasterKey } from '../db/crypto';
import { createLogger } from '../lib/logger';
import { createWorker } from './worker';

// The worker as its own process (`npm run worker`, the docker-compose service): any number of these can
// serve one Temporal cluster and one PostgreSQL.
async function main() {
  const logger = createLogger('worker');
  const database = await openDatabase();
  const { key } = loadMasterKey({ env: process.env, dataDir: process.env.RAPPORT_DATA_DIR ?? '.data' });
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const connection = await NativeConnection.connect({ address });
  const worker = await createWorker({
    connection,
    db: database.db,
    masterKey: key,
    logger,
    pageSize: numberFromEnv('RAPPORT_PAGE_SIZE'),
    planBatchSize: numberFromEnv('RAPPORT_PLAN_BATCH_SIZE'),
  });
  const stop = () => {
    logger.info('draining worker');
    worker.shutdown();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  logger.info({ address, taskQueue: worker.options.taskQueue, database: database.driver }, 'worker running');
  await worker.run();
  await connection.close();
  await database.close();
  logger.info('worker stopped');
}

function numberFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  return raw ? Number(raw) : undefined;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
