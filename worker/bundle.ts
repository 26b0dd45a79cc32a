import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

const root = fileURLToPath(new URL('..', import.meta.url));
const workflowsPath = path.join(root, 'workflows', 'index.ts');

// Bundling takes seconds; every test file and every start would pay it. The bundle is keyed by the
// workflow sources and the lock file, so a change to either builds a new one.
function sourceHash(): string {
  const hash = createHash('sha256');
  const dir = path.join(root, 'workflows');
  for (const file of readdirSync(dir).sort()) {
    if (file.endsWith('.ts')) hash.update(file).update(readFileSync(path.join(dir, file)));
  }
  const lock = path.join(root, 'package-lock.json');
  if (existsSync(lock)) hash.update(readFileSync(lock));
  return hash.digest('hex').slice(0, 16);
}

export async function workflowBundle(): Promise<{ code: string }> {
  const dir = path.join(root, '.cache', 'bundles');
  const file = path.join(dir, `workflows-${sourceHash()}.js`);
  if (existsSync(file)) return { code: readFileSync(file, 'utf8') };
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quietLogger });
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, file);
  return { code };
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
