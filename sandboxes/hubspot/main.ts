import { closeOnSignals, launcherArgs } from '../kit/launcher';
import { startHubSpotSandbox } from './server';

// Runs the HubSpot sandbox on its own, so Rapport can be tried without a HubSpot account:
//   npx tsx sandboxes/hubspot/main.ts --port 4020 --account demo:200 [--account other:50:100]
// --account name[:count[:start]] creates a portal seeded with people from sandboxes/kit/seed.ts.

const usage = 'usage: sandboxes/hubspot/main.ts [--port 4020] [--account name[:count[:start]]]...';

const values = launcherArgs(usage, {
  port: { type: 'string', default: '4020' },
  account: { type: 'string', multiple: true, default: ['demo:100'] },
});

const sandbox = await startHubSpotSandbox({ port: Number(values.port) });
console.log(`HubSpot sandbox listening on ${sandbox.url} (in memory)`);
for (const spec of values.account) {
  const [name, count = '0', start = '0'] = spec.split(':');
  const account = sandbox.addAccount(name);
  account.seed({ count: Number(count), start: Number(start) });
  const oauth = sandbox.grantOAuth(name);
  console.log(`\n  portal "${name}" (hub ${account.portalId}, ${count} contacts)`);
  console.log(`    private app: credentials {"accessToken":"${account.privateAppToken}"}`);
  console.log(
    `    OAuth:       credentials {"clientId":"${oauth.clientId}","clientSecret":"${oauth.clientSecret}","refreshToken":"${oauth.refreshToken}"}`,
  );
  console.log(`    scope:       {"baseUrl":"${sandbox.url}","tagsFrom":{"property":"contact_tags"}}`);
  console.log(`    or, tags from lists: {"baseUrl":"${sandbox.url}","tagsFrom":{"lists":"all"}}`);
}

closeOnSignals(sandbox, 'hubspot sandbox');
