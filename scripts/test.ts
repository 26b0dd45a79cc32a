// `npm test`: prepares what the suite needs on this machine, then typecheck, lint and vitest.
// Extra arguments go to vitest: `npm test -- test/support`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { findTemporalCli, projectRoot } from './lib/temporal';
import { buildWeb } from './lib/web';

const step = (msg: string) => console.log(`\n▶ ${msg}`);
const bin = (name: string) => path.join(projectRoot, 'node_modules', '.bin', name);

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

function pgIsReady(): boolean | null {
  const res = spawnSync('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q'], { stdio: 'ignore' });
  if (res.error) return null; // pg_isready is not installed
  return res.status === 0;
}

async function ensurePostgres(): Promise<void> {
  if (process.env.TEST_DATABASE_URL) {
    step(`PostgreSQL: using TEST_DATABASE_URL`);
    return;
  }
  const ready = pgIsReady();
  if (ready) {
    step('PostgreSQL: answering on 127.0.0.1:5432');
    return;
  }
  const clusters = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : [];
  const isRoot = process.getuid?.() === 0;
  if (ready === null || clusters.length === 0 || !isRoot) {
    throw new Error(
      'PostgreSQL does not answer on 127.0.0.1:5432. ' +
        (ready === null || clusters.length === 0
          ? 'Install it (Debian: apt-get install postgresql) or set TEST_DATABASE_URL.'
          : `Start it: sudo pg_ctlcluster --skip-systemctl-redirect ${clusters.join(' ')} main start`),
    );
  }
  step(`PostgreSQL: starting cluster ${clusters.join(', ')}/main`);
  for (const version of clusters) {
    spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit' });
  }
  for (let i = 0; i < 60; i++) {
    if (pgIsReady()) return;
    await sleep(500);
  }
  throw new Error('PostgreSQL was started but does not answer on 127.0.0.1:5432 after 30 s.');
}

function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: projectRoot, stdio: 'inherit' });
    child.on('error', (err) => {
      console.error(`could not run ${command}: ${err.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const vitestArgs = process.argv.slice(2);
  await ensurePostgres();

  if (process.env.TEMPORAL_ADDRESS) {
    step(`Temporal: using TEMPORAL_ADDRESS=${process.env.TEMPORAL_ADDRESS}`);
  } else {
    const cli = await findTemporalCli({ build: true, log: (msg) => console.log(msg) });
    // The global setup then runs exactly this binary.
    process.env.TEMPORAL_CLI_PATH = cli;
    step(`Temporal CLI: ${path.relative(projectRoot, cli) || cli}`);
  }

  // Every step runs even after a failure, so one run shows every problem; the first failure decides the exit code.
  const failures: string[] = [];
  // The browser test drives the built dashboard, and its typecheck needs the API types the build generates.
  step('build the dashboard (web/dist)');
  let webBuilt = true;
  try {
    await buildWeb();
  } catch (err) {
    console.error(`building the dashboard failed: ${err instanceof Error ? err.message : String(err)}`);
    failures.push('build:web');
    webBuilt = false;
  }
  step('tsc --noEmit');
  if ((await run(bin('tsc'), ['--noEmit'])) !== 0) failures.push('tsc');
  if (webBuilt) {
    step('tsc -p web/tsconfig.json');
    if ((await run(bin('tsc'), ['-p', path.join('web', 'tsconfig.json')])) !== 0) failures.push('tsc (web)');
  }
  step('eslint .');
  if ((await run(bin('eslint'), ['.'])) !== 0) failures.push('eslint');
  step(`vitest run ${vitestArgs.join(' ')}`.trim());
  const vitestCode = await run(bin('vitest'), ['run', ...vitestArgs]);

  if (failures.length > 0) {
    console.error(`\n✗ failed: ${failures.join(', ')}${vitestCode !== 0 ? ', vitest' : ''}`);
    return vitestCode || 1;
  }
  return vitestCode;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`\n✗ ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
