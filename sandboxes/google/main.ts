import { closeOnSignals, fail, launcherArgs, portOf } from '../kit/launcher';
import { startGoogleSandbox } from './server';

// Runs the Google People API sandbox on its own, so Rapport can be tried without a Google account:
//   npx tsx sandboxes/google/main.ts --port 4020 --account demo:200 [--account other:50:100]
// --account name[:count[:start]] creates an account with `count` seeded people and prints its credentials.

const usage = 'usage: sandboxes/google/main.ts [--port 4020] [--account name[:count[:start]]]...';

const values = launcherArgs(usage, {
  port: { type: 'string', default: '4020' },
  account: { type: 'string', multiple: true, default: [] },
});
const port = portOf(values.port, usage);

const sandbox = await startGoogleSandbox({ port });
const specs = values.account.length > 0 ? values.account : ['demo:100'];
console.log(`Google People API sandbox on ${sandbox.url} (token endpoint ${sandbox.tokenUrl}), in memory`);
for (const spec of specs) {
  const [name, count = '0', start] = spec.split(':');
  if (!name || !Number.isInteger(Number(count))) fail(usage, `--account ${JSON.stringify(spec)} is not name[:count[:start]]`);
  sandbox.account(name).seed({ count: Number(count), start: start === undefined ? undefined : Number(start) });
  const credentials = sandbox.credentials(name);
  // Printed on purpose: these are demo credentials of a local sandbox, valid only against this process.
  console.log(`\n  account "${name}" (${count} contacts); a Rapport side for it:`);
  console.log(
    JSON.stringify(
      {
        app: 'google',
        credentials: { clientId: credentials.clientId, clientSecret: credentials.clientSecret, refreshToken: credentials.refreshToken },
        scope: { baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl },
      },
      null,
      2,
    )
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n'),
  );
}

closeOnSignals(sandbox, 'google sandbox');
