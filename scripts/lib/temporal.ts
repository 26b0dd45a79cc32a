import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import {
  encodeSearchAttributeIndexedValueType,
  type SearchAttributeKey,
  type SearchAttributeType,
} from '@temporalio/common/lib/search-attributes';
import { searchAttributes } from '../../workflows/search-attributes';

export type Log = (msg: string) => void;

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The CLI release the project is tested with; `go install` builds exactly this one. */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
// CLI v1.5.1's go.mod says `go 1.25.0`; with GOTOOLCHAIN=local an older Go fails with an obscure message.
const MIN_GO = [1, 25] as const;

export const cacheBinDir = path.join(projectRoot, '.cache', 'bin');
const cachedCliPath = path.join(cacheBinDir, 'temporal');

/** Flags every embedded server gets, whichever way it is started. */
export const devServerDynamicConfig = ['frontend.activityAPIsEnabled=true'];

const cliTypeNames: Record<SearchAttributeType, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** The type name `temporal server start-dev --search-attribute` and `operator search-attribute create` accept. */
export function cliSearchAttributeType(type: SearchAttributeType): string {
  return cliTypeNames[type];
}

/** `Name=Type` for every search attribute in workflows/search-attributes.ts. */
export function searchAttributeSpecs(keys: readonly SearchAttributeKey<SearchAttributeType>[] = searchAttributes): string[] {
  return keys.map((k) => `${k.name}=${cliSearchAttributeType(k.type)}`);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function run(command: string, args: string[], opts: { env?: NodeJS.ProcessEnv; log?: Log } = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (stream: NodeJS.ReadableStream) =>
      createInterface({ input: stream }).on('line', (line) => {
        output += line + '\n';
        opts.log?.(line);
      });
    collect(child.stdout);
    collect(child.stderr);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

async function buildCli(log: Log): Promise<string> {
  const go = onPath('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : null);
  if (!go) {
    throw new Error(
      `The Temporal CLI was not found and Go is not installed to build it.\n` +
        `Install Go ${MIN_GO.join('.')}+ (https://go.dev/dl/), or install the Temporal CLI (https://docs.temporal.io/cli) ` +
        `and put it on PATH, or set TEMPORAL_CLI_PATH to its path.`,
    );
  }
  const { output: versionOut } = await run(go, ['env', 'GOVERSION']);
  const m = /go(\d+)\.(\d+)/.exec(versionOut);
  if (!m || Number(m[1]) < MIN_GO[0] || (Number(m[1]) === MIN_GO[0] && Number(m[2]) < MIN_GO[1])) {
    throw new Error(
      `Building the Temporal CLI ${TEMPORAL_CLI_VERSION} needs Go ${MIN_GO.join('.')} or newer; ${go} is ${versionOut.trim() || 'unknown'}.`,
    );
  }
  mkdirSync(cacheBinDir, { recursive: true });
  log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with ${versionOut.trim()} into ${cacheBinDir}; this takes several minutes the first time…`);
  const started = Date.now();
  const ticker = setInterval(() => log(`  …still building the Temporal CLI (${Math.round((Date.now() - started) / 1000)} s)`), 30_000);
  let result: { code: number; output: string };
  try {
    result = await run(go, ['install', `${CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
      // A newer toolchain cannot be downloaded offline, so the local Go must do.
      env: { ...process.env, GOBIN: cacheBinDir, GOTOOLCHAIN: 'local' },
    });
  } finally {
    clearInterval(ticker);
  }
  if (result.code !== 0 || !isExecutable(cachedCliPath)) {
    const tail = result.output.trim().split('\n').slice(-20).join('\n');
    throw new Error(`Building the Temporal CLI failed (go install exited with ${result.code}):\n${tail}`);
  }
  log(`Built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s: ${cachedCliPath}`);
  return cachedCliPath;
}

/**
 * The Temporal CLI to run the dev server with: TEMPORAL_CLI_PATH, else `temporal` on PATH, else the
 * project's own build in .cache/bin, else (unless build is false) builds that one with `go install`.
 */
export async function findTemporalCli(opts: { build?: boolean; log?: Log } = {}): Promise<string> {
  const log = opts.log ?? ((msg: string) => console.error(msg));
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    // An explicit choice that does not work is a mistake to report, not to paper over with another binary.
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable file.`);
    return path.resolve(fromEnv);
  }
  const found = onPath('temporal') ?? (isExecutable(cachedCliPath) ? cachedCliPath : null);
  if (found) return found;
  if (opts.build === false) {
    throw new Error(
      `The Temporal CLI was not found (TEMPORAL_CLI_PATH, PATH, ${cachedCliPath}). ` +
        `Run \`npm test\` or \`npm run temporal\` once to build it, or install it from https://docs.temporal.io/cli.`,
    );
  }
  return buildCli(log);
}

/** A TCP port nobody listens on right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** `port` when it is free, otherwise some free port. */
export function preferredPort(port: number, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(freePort(host)));
    srv.listen(port, host, () => srv.close(() => resolve(port)));
  });
}

export interface DevServerOptions {
  /** SQLite file that keeps state across restarts; in memory when absent. */
  dbFilename?: string;
  /** gRPC frontend port; a free one when absent. */
  port?: number;
  /** UI port, or false for no UI; a free one when absent. */
  uiPort?: number | false;
  ip?: string;
  namespace?: string;
  /** How long to wait for the frontend to answer. */
  readyTimeoutMs?: number;
  /** The CLI to run; found (and built if needed) when absent. */
  cliPath?: string;
  log?: Log;
}

export interface TemporalServer {
  /** host:port of the gRPC frontend */
  address: string;
  namespace: string;
  uiUrl: string | null;
  stop(): Promise<void>;
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Waits until the frontend answers and has the namespace and every search attribute, because
 * workflows started before the attributes exist fail to start.
 */
export async function waitForTemporal(
  address: string,
  opts: { namespace?: string; timeoutMs?: number; exited?: () => string | null } = {},
): Promise<void> {
  const namespace = opts.namespace ?? 'default';
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    const exited = opts.exited?.();
    if (exited) throw new Error(exited);
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2_000 });
      await connection.workflowService.getSystemInfo({});
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      const missing = searchAttributes.filter(
        (k) => customAttributes?.[k.name] !== encodeSearchAttributeIndexedValueType(k.type),
      );
      if (missing.length === 0) return;
      lastError = new Error(`search attributes not registered yet: ${missing.map((k) => k.name).join(', ')}`);
    } catch (err) {
      lastError = err;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    await sleep(250);
  }
  throw new Error(`Temporal at ${address} did not become ready: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
}

/**
 * Runs `temporal server start-dev` with the project's search attributes and dynamic config, and resolves
 * once the frontend answers. Registering the attributes again on an existing db file is accepted by the CLI.
 */
export async function startDevServer(opts: DevServerOptions = {}): Promise<TemporalServer> {
  const log = opts.log ?? ((msg: string) => console.error(msg));
  const cli = opts.cliPath ?? (await findTemporalCli({ log }));
  const ip = opts.ip ?? '127.0.0.1';
  // 0.0.0.0 / :: are bind addresses, not places to connect to.
  const connectHost = ip === '0.0.0.0' || ip === '::' ? '127.0.0.1' : ip;
  const namespace = opts.namespace ?? 'default';
  const port = opts.port ?? (await freePort(connectHost));
  const uiPort = opts.uiPort === false ? null : (opts.uiPort ?? (await freePort(connectHost)));

  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port)];
  if (namespace !== 'default') args.push('--namespace', namespace);
  if (opts.dbFilename) {
    mkdirSync(path.dirname(path.resolve(opts.dbFilename)), { recursive: true });
    args.push('--db-filename', opts.dbFilename);
  }
  if (uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  for (const value of devServerDynamicConfig) args.push('--dynamic-config-value', value);
  for (const spec of searchAttributeSpecs()) args.push('--search-attribute', spec);

  const child: ChildProcess = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stopping = false;
  let exitInfo: string | null = null;
  const recent: string[] = [];
  const onLine = (line: string) => {
    recent.push(line);
    if (recent.length > 30) recent.shift();
    // Shutdown makes the server's internal workers complain about the closed frontend; that is expected noise.
    if (!stopping) log(`[temporal] ${line}`);
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = `temporal server start-dev exited (${signal ?? `code ${code}`}):\n${recent.join('\n')}`;
      resolve();
    });
    child.once('error', (err) => {
      exitInfo = `could not run ${cli}: ${err.message}`;
      resolve();
    });
  });
  // Should the parent die without calling stop(), the server must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (exitInfo) return;
    stopping = true;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };

  const address = `${connectHost}:${port}`;
  try {
    await waitForTemporal(address, { namespace, timeoutMs: opts.readyTimeoutMs, exited: () => exitInfo });
  } catch (err) {
    await stop();
    throw err;
  }
  const uiUrl = uiPort === null ? null : `http://${connectHost}:${uiPort}`;
  return { address, namespace, uiUrl, stop };
}

/**
 * TEMPORAL_ADDRESS when set (a server someone else runs), otherwise an embedded dev server.
 */
export async function ensureTemporal(opts: DevServerOptions & { build?: boolean } = {}): Promise<TemporalServer> {
  const address = process.env.TEMPORAL_ADDRESS;
  const namespace = opts.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default';
  if (address) {
    return { address, namespace, uiUrl: process.env.TEMPORAL_UI_URL ?? null, stop: async () => {} };
  }
  const cliPath = opts.cliPath ?? (await findTemporalCli({ build: opts.build, log: opts.log }));
  return startDevServer({ ...opts, namespace, cliPath });
}

/** Where `npm start` and `npm run temporal` keep the dev server's state. */
export const defaultDbFilename = path.join(projectRoot, '.data', 'temporal.db');
