import { parseArgs } from 'node:util';
import { startPipedriveSandbox } from './server';
import { PLANS, type Plan } from './types';

// Runs the Pipedrive sandbox on its own, so Rapport can be tried without a Pipedrive account:
//   npx tsx sandbox/pipedrive/main.ts [--port 4020] [--company Acme] [--seed 50] [--plan growth]

const usage = 'usage: sandbox/pipedrive/main.ts [--port 4020] [--company NAME]... [--seed COUNT] [--plan lite|growth|premium|ultimate]';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4020' },
    company: { type: 'string', multiple: true, default: [] },
    seed: { type: 'string', default: '25' },
    plan: { type: 'string', default: 'growth' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const port = Number(values.port);
const count = Number(values.seed);
if (!Number.isInteger(port) || port < 0 || port > 65_535 || !Number.isInteger(count) || count < 0) {
  console.error(usage);
  process.exit(2);
}
if (!(PLANS as readonly string[]).includes(values.plan)) {
  console.error(`--plan must be one of ${PLANS.join(', ')}\n${usage}`);
  process.exit(2);
}

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

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void sandbox.close().then(() => process.exit(0));
  });
}
