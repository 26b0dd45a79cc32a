import { closeOnSignals, fail, launcherArgs, portOf } from '../kit/launcher';
import { startGraphSandbox } from './server';

// Runs the Microsoft Graph sandbox on its own, so Rapport can be tried without a Microsoft 365 account:
//   npx tsx sandboxes/outlook/main.ts --port 4020 --mailbox ada --seed ada:50 [--folder ada:Rapport]
// It prints, per mailbox, the credentials and scope to give POST /connections for the "outlook" app.

const usage = 'usage: sandboxes/outlook/main.ts [--port 4020] [--host 127.0.0.1] [--mailbox name]... [--seed name:count[:start]]... [--folder name:displayName]...';

const values = launcherArgs(usage, {
  port: { type: 'string', default: '4020' },
  host: { type: 'string', default: '127.0.0.1' },
  mailbox: { type: 'string', multiple: true, default: [] },
  seed: { type: 'string', multiple: true, default: [] },
  folder: { type: 'string', multiple: true, default: [] },
});
const port = portOf(values.port, usage);

// A demo token lives for a day, so the printed credentials keep working without a refresh in between.
const sandbox = await startGraphSandbox({ port, host: values.host, accessTtlSeconds: 24 * 3600 });
const names = new Set(values.mailbox);
for (const spec of [...values.seed, ...values.folder]) names.add(spec.split(':')[0]);
if (names.size === 0) names.add('demo');
const folders = new Map<string, string>();

for (const spec of values.folder) {
  const [name, displayName] = spec.split(':');
  if (!name || !displayName) fail(usage, `--folder ${JSON.stringify(spec)} is not name:displayName`);
  sandbox.mailbox(name).createFolder(displayName);
  folders.set(name, displayName);
}
for (const spec of values.seed) {
  const [name, count, start] = spec.split(':');
  if (!name || !Number.isInteger(Number(count))) fail(usage, `--seed ${JSON.stringify(spec)} is not name:count[:start]`);
  sandbox.mailbox(name).seed({ count: Number(count), start: start === undefined ? undefined : Number(start) });
}

console.log(`Microsoft Graph sandbox listening on ${sandbox.url} (in memory)`);
console.log(`  Graph base URL  ${sandbox.graphUrl}`);
console.log(`  token endpoint  ${sandbox.tokenUrl}`);
for (const name of names) {
  const tokens = sandbox.grant(name);
  const side = {
    app: 'outlook',
    credentials: { clientId: sandbox.client.clientId, clientSecret: sandbox.client.clientSecret, refreshToken: tokens.refreshToken, accessToken: tokens.accessToken },
    scope: {
      baseUrl: sandbox.graphUrl,
      tokenUrl: sandbox.tokenUrl,
      ...(folders.has(name) ? { folder: { name: folders.get(name), create: true } } : {}),
    },
  };
  console.log(`\n  mailbox ${name} (${sandbox.mailbox(name).count()} contacts); a side for POST /connections:`);
  console.log(`  ${JSON.stringify(side)}`);
}

closeOnSignals(sandbox, 'graph sandbox');
