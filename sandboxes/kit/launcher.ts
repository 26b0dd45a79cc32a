import { parseArgs, type ParseArgsConfig } from 'node:util';

// What every standalone sandbox launcher (sandboxes/sandbox/main.ts, sandboxes/<app>/main.ts) does around its own options:
// --help prints the usage, a bad value ends the process with code 2 and the usage, a --port must be a port
// number, and SIGINT or SIGTERM closes the server once before exiting.

type Options = NonNullable<ParseArgsConfig['options']>;
const HELP = { help: { type: 'boolean', short: 'h' } } as const;
type Values<O extends Options> = ReturnType<typeof parseArgs<{ options: O & typeof HELP }>>['values'];

/** The launcher's options, parsed with --help/-h added; --help prints `usage` and exits 0. */
export function launcherArgs<O extends Options>(usage: string, options: O): Values<O> {
  const { values } = parseArgs({ options: { ...options, ...HELP } as Options });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return values as Values<O>;
}

/** Prints the message (if any) and the usage on stderr, then exits with code 2. */
export function fail(usage: string, message?: string): never {
  console.error(message === undefined ? usage : `${message}\n${usage}`);
  process.exit(2);
}

/** The --port value as a port number (0 picks a free one); anything else fails with the usage. */
export function portOf(value: string, usage: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) fail(usage, `--port ${value} is not a port number`);
  return port;
}

/** Closes the server on the first SIGINT or SIGTERM, then exits (code 1, with the error, if closing fails). */
export function closeOnSignals(server: { close(): Promise<void> }, name: string): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      server.close().then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(`${name}: shutdown failed`, err);
          process.exit(1);
        },
      );
    });
  }
}
