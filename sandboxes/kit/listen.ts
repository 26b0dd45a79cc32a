import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// How every sandbox server starts and stops: on the port asked for (0, the default, picks a free one), on
// 127.0.0.1 unless told otherwise; closing stops taking requests, drops kept-alive connections at once (a test's
// client may hold some open) and answers every later call with the first close.

export interface ListenOptions {
  port?: number;
  host?: string;
  /** Milliseconds an idle kept-alive connection stays open; Node's default when absent. */
  keepAliveTimeout?: number;
  /** Runs once the server has stopped, before close() resolves (the Sandbox app saves its instances here). */
  afterClose?: () => Promise<void>;
}

export interface Listening {
  server: Server;
  port: number;
  /** http://host:port, an IPv6 host in brackets. */
  url: string;
  close(): Promise<void>;
}

export async function listen(handler: RequestListener, options: ListenOptions = {}): Promise<Listening> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
    server.listen(options.port ?? 0, host);
  });
  if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | null = null;
  return {
    server,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await options.afterClose?.();
      })();
      return closing;
    },
  };
}
