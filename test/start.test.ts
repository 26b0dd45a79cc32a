import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort, projectRoot } from '../scripts/lib/temporal';
import { eventually } from './support/stack';

// `npm start` as a user runs it, in a child process: the product's end-to-end test on PGlite. Temporal is the
// suite's shared server; the demo's worker gets a task queue of its own so it never takes other tests' work.

const RUNNING = /Demo connection (con_\w+) is running/;

interface Run {
  child: ChildProcess;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitFor(pattern: RegExp, what: string, timeoutMs?: number): Promise<RegExpMatchArray>;
}

function startDemo(env: NodeJS.ProcessEnv): Run {
  // Node with tsx's loader, as `npm start` runs it: no wrapper process between the signal and the product
  // (the tsx CLI re-sends a signal and then SIGKILLs a child that does not confirm within 30 ms).
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const onLine = (line: string) => {
    lines.push(line);
    if (process.env.TEST_LOG_LEVEL) console.log(`[start] ${line}`);
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    child,
    lines,
    exited,
    waitFor: (pattern, what, timeoutMs = 150_000) =>
      eventually(
        () => {
          for (const line of lines) {
            const match = line.match(pattern);
            if (match) return match;
          }
          if (gone) throw new Error(`npm start exited before ${what}:\n${lines.join('\n')}`);
          return undefined;
        },
        what,
        timeoutMs,
      ).catch((err: unknown) => {
        throw new Error(`${err instanceof Error ? err.message : String(err)}\noutput so far:\n${lines.join('\n')}`);
      }),
  };
}

async function listConnections(apiUrl: string, key: string): Promise<any[]> {
  const res = await fetch(`${apiUrl}/connections`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { connections: any[] }).connections;
}

describe('npm start', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rapport-start-'));
  const runs: Run[] = [];
  let connectionId: string | null = null;

  afterAll(async () => {
    for (const run of runs) {
      if (run.child.exitCode === null && run.child.signalCode === null) {
        run.child.kill('SIGTERM');
        const timer = setTimeout(() => run.child.kill('SIGKILL'), 30_000);
        await run.exited;
        clearTimeout(timer);
      }
    }
    if (connectionId) {
      const connection = await Connection.connect({ address: inject('temporalAddress') });
      await new Client({ connection })
        .workflow.getHandle(`connection:${connectionId}`)
        .terminate('test finished')
        .catch(() => undefined);
      await connection.close();
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('brings up the demo, stops cleanly on SIGTERM and continues on the same data after a restart', async () => {
    const apiPort = await freePort();
    const sandboxPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      RAPPORT_DATA_DIR: dataDir,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      PORT: String(apiPort),
      RAPPORT_SANDBOX_PORT: String(sandboxPort),
      RAPPORT_TASK_QUEUE: `start-test-${randomUUID()}`,
      LOG_LEVEL: 'warn',
    };
    for (const name of ['DATABASE_URL', 'RAPPORT_MASTER_KEY', 'TEMPORAL_UI_URL', 'TEMPORAL_NAMESPACE']) delete env[name];
    const apiUrl = `http://127.0.0.1:${apiPort}`;

    const first = startDemo(env);
    runs.push(first);
    const [, id] = await first.waitFor(RUNNING, 'the demo connection to run');
    connectionId = id;
    const keyAt = first.lines.findIndex((l) => l.startsWith('API key (shown once'));
    expect(keyAt).toBeGreaterThanOrEqual(0);
    const key = first.lines[keyAt + 1].trim();
    expect(key).toMatch(/^rk_[A-Za-z0-9_-]+$/);
    expect(first.lines.join('\n')).toContain(`${apiUrl}/connections`);
    // The dashboard is the first address of the block, and it is there (npm start built web/dist if needed).
    const upAt = first.lines.indexOf('Rapport is up.');
    expect(first.lines[upAt + 1]).toMatch(new RegExp(`^  Dashboard +${apiUrl}/ `));
    const dashboard = await fetch(`${apiUrl}/`);
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).toContain('<div id="root">');

    // The row's state follows the workflow's phase through an activity, a moment after the status query does.
    const listed = await eventually(async () => {
      const rows = await listConnections(apiUrl, key);
      return rows.length === 1 && rows[0].state === 'running' ? rows : undefined;
    }, 'GET /connections to show the demo connection running');
    expect(listed[0].id).toBe(id);
    expect(listed[0].a.scope).toMatchObject({ instance: 'alpha', baseUrl: `http://127.0.0.1:${sandboxPort}` });

    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(first.lines).toContain('Stopped cleanly.');

    const second = startDemo(env);
    runs.push(second);
    const [, again] = await second.waitFor(RUNNING, 'the demo connection to run after the restart');
    expect(again).toBe(id);
    const output = second.lines.join('\n');
    expect(output).not.toMatch(/rk_[A-Za-z0-9_-]{20,}/);
    expect(output).toContain('npm run api-key');
    expect(output).not.toContain('Seeded the Sandbox');
    const afterRestart = await listConnections(apiUrl, key);
    expect(afterRestart.map((c) => c.id)).toEqual([id]);

    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });
});
