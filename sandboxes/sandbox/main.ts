import { startSandbox } from './server';
import { closeOnSignals, fail, launcherArgs, portOf } from '../kit/launcher';
import type { InstanceConfig } from './types';

// Runs the Sandbox app on its own:
//   npx tsx sandboxes/sandbox/main.ts --port 4010 --data .data/sandbox --instance alpha:token-a --instance beta:token-b \
//     [--seed alpha:500] [--seed beta:500:250]
// --seed name:count[:start] adds people (see seed.ts) when the instance is empty, so a restart does not add more.

const usage = 'usage: sandboxes/sandbox/main.ts [--port 4010] [--host 127.0.0.1] [--data DIR] [--instance name:token]... [--seed name:count[:start]]...';

const values = launcherArgs(usage, {
  port: { type: 'string', default: '4010' },
  host: { type: 'string', default: '127.0.0.1' },
  data: { type: 'string' },
  instance: { type: 'string', multiple: true, default: [] },
  seed: { type: 'string', multiple: true, default: [] },
});

const instances: Record<string, InstanceConfig> = {};
for (const spec of values.instance) {
  const at = spec.indexOf(':');
  if (at <= 0 || at === spec.length - 1) fail(usage, `--instance ${JSON.stringify(spec)} is not name:token`);
  instances[spec.slice(0, at)] = { token: spec.slice(at + 1) };
}

const port = portOf(values.port, usage);

const sandbox = await startSandbox({ port, host: values.host, dataDir: values.data, instances });

for (const spec of values.seed) {
  const [name, count, start] = spec.split(':');
  const instance = sandbox.instances().find((i) => i.name === name);
  if (!instance || !Number.isInteger(Number(count))) fail(usage, `--seed ${JSON.stringify(spec)}: unknown instance or bad count`);
  if (instance.count() === 0) {
    instance.seed({ count: Number(count), start: start === undefined ? undefined : Number(start) });
  }
}

console.log(`Sandbox listening on ${sandbox.url}${values.data ? ` (data in ${values.data})` : ' (in memory)'}`);
for (const instance of sandbox.instances()) {
  console.log(`  ${instance.name.padEnd(12)} ${sandbox.instanceUrl(instance.name)}/v1/contacts  (${instance.count()} contacts)`);
}
if (sandbox.instances().length === 0) {
  console.log('  no instances yet: create one with PUT /<name>/_admin/config and "Authorization: Bearer <token>"');
}

closeOnSignals(sandbox, 'sandbox');
