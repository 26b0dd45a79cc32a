// `npm run temporal`: a persistent embedded Temporal for running the worker and API by hand.
import { defaultDbFilename, preferredPort, startDevServer } from './lib/temporal';

const log = (msg: string) => console.log(msg);

async function main() {
  const ip = process.env.TEMPORAL_IP ?? '127.0.0.1';
  // The usual ports keep TEMPORAL_ADDRESS and bookmarks stable; another server already on them is no reason to fail.
  const port = process.env.TEMPORAL_PORT ? Number(process.env.TEMPORAL_PORT) : await preferredPort(7233);
  const uiPort = process.env.TEMPORAL_UI_PORT ? Number(process.env.TEMPORAL_UI_PORT) : await preferredPort(8233);
  const dbFilename = process.env.TEMPORAL_DB_FILENAME ?? defaultDbFilename;

  log(`Starting Temporal dev server (state in ${dbFilename})…`);
  const server = await startDevServer({ dbFilename, port, uiPort, ip, log });
  log(`Temporal is ready at ${server.address} (namespace ${server.namespace}).`);
  log(`UI: ${server.uiUrl}`);
  log(`Use it with: TEMPORAL_ADDRESS=${server.address}. Stop with Ctrl-C.`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping Temporal…`);
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
