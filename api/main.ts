// `npm run api`: the HTTP API as its own process, next to the worker.
import { createLogger } from './logging';
import { startApi } from './server';

const logger = createLogger('rapport-api');

async function main(): Promise<void> {
  const api = await startApi({ logger });
  if (api.masterKey?.generated) {
    logger.warn(
      { path: api.masterKey.path },
      'Generated a master key for credentials. Back it up: without it stored credentials cannot be decrypted. Set RAPPORT_MASTER_KEY to manage it yourself.',
    );
  }
  if (api.firstApiKey) {
    // Printed on stdout and not through the logger, whose redaction would (rightly) hide it.
    process.stdout.write(`\nFirst API key (shown once, store it now):\n  ${api.firstApiKey}\n\n`);
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    api.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: String(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  logger.fatal({ err: err instanceof Error ? err.message : String(err) }, 'API failed to start');
  process.exit(1);
});
