import { closeOnSignals, fail, launcherArgs } from '../kit/launcher';
import { startPipedriveSandbox } from './server';
import { PLANS, type Plan } from './types';

// Runs the Pipedrive sandbox on its own, so Rapport can be tried without a Pipedrive account:
//   npx tsx sandboxes/pipedrive/main.ts [--port 4020] [--company Acme] [--seed 50] [--plan growth]

const usage = 'usage: sandboxes/pipedrive/main.ts [--port 4020] [--company NAME]... [--seed COUNT] [--plan lite|growth|premium|ultimate]';

const values = launcherArgs(usage, {
  port: { type: 'string', default: '4020' },
  company: { type: 'string', multiple: true, default: [] },
  seed: { type: 'string', default: '25' },
  plan: { type: 'string', default: 'growth' },
});
const port = Number(values.port);
const count = Number(values.seed);
if (!Number.isInteger(port) || port < 0 || port > 65_535 || !Number.isInteger(count) || count < 0) fail(usage);
if (!(PLANS as readonly string[]).includes(values.plan)) fail(usage, `--plan must be one of ${PLANS.join(', ')}`);

const sandbox = await startPipedriveSandbox({ port, host: '127.0.0.1' });
const names = values.company.length ? values.company : ['Acme'];
console.log(`Pipedrive sandbox listening on ${sandbox.url} (in memory)`);
console.log(`  OAuth app: clientId ${sandbox.oauthClient.clientId}  clientSecret ${sandbox.oauthClient.clientSecret}`);
names.forEach((name, i) => {
  const account = sandbox.addCompany(name, { settings: { plan: values.plan as Plan } });
  account.company.seed({ count, start: i * Math.floor(count / 2) });
  const oauth = sandbox.grantTokens(name);
  console.log(`  ${name}: ${account.company.count()} persons, plan ${values.plan}`);
  console.log(`    API token credentials: {"apiToken":"${account.apiToken}"}`);
  console.log(`    OAuth credentials:     {"clientId":"${sandbox.oauthClient.clientId}","clientSecret":"${sandbox.oauthClient.clientSecret}","refreshToken":"${oauth.refreshToken}"}`);
  console.log(`    scope:                 {"baseUrl":"${sandbox.url}"}`);
});

closeOnSignals(sandbox, 'pipedrive sandbox');
