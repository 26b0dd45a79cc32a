import { closeOnSignals, launcherArgs, portOf } from '../kit/launcher';
import { startPipelinerSandbox } from './server';

// Runs the Pipeliner sandbox on its own, so Rapport can be tried without a Pipeliner account:
//   npx tsx sandboxes/pipeliner/main.ts [--port 4020] [--space demo_space] [--token demo-token] [--password demo-password] [--seed 50]
// Prints the service URL and the credentials and scope to give Rapport for the space.

const usage = 'usage: sandboxes/pipeliner/main.ts [--port 4020] [--space ID] [--token T] [--password P] [--seed N] [--rate-limit PER_SECOND]';

const values = launcherArgs(usage, {
  port: { type: 'string', default: '4020' },
  host: { type: 'string', default: '127.0.0.1' },
  space: { type: 'string', default: 'nv1_rapport_demo' },
  token: { type: 'string', default: 'demo-api-token' },
  password: { type: 'string', default: 'demo-api-password' },
  seed: { type: 'string', default: '50' },
  'rate-limit': { type: 'string' },
});
const port = portOf(values.port, usage);

const sandbox = await startPipelinerSandbox({ port, host: values.host });
const space = sandbox.addSpace(values.space, {
  apiToken: values.token,
  apiPassword: values.password,
  rateLimitPerSecond: values['rate-limit'] ? Number(values['rate-limit']) : undefined,
});
const sales = space.addSalesUnit('Sales');
const marco = space.addUser({ email: 'marco@pipeliner.test', first_name: 'Marco', last_name: 'Rossi', default_unit_id: sales.id });
space.seed({ count: Number(values.seed), ownerId: marco.id, unitId: sales.id });

console.log(`Pipeliner sandbox listening on ${sandbox.url} (in memory)`);
console.log(`  API base   ${sandbox.baseUrl(space.spaceId)}/entities/Contacts`);
console.log('  Rapport side of a connection:');
console.log(
  JSON.stringify(
    {
      app: 'pipeliner',
      credentials: { apiToken: values.token, apiPassword: values.password },
      scope: { serviceUrl: sandbox.url, spaceId: space.spaceId, salesUnit: 'Sales', ownership: 'all-visible', user: marco.email },
    },
    null,
    2,
  ),
);

closeOnSignals(sandbox, 'pipeliner sandbox');
