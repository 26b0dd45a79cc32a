import { z } from 'zod';
import { parseAccount, requestTimeoutOf } from '../kit/account';
import type { Account, AppDefinition } from '../types';
import { SandboxClient } from './client';
import { SandboxConnector, sandboxCapabilities } from './connector';
import { sandboxFields } from './fields';
import { httpUrl } from '../kit/url';

// The Sandbox app: the local server in sandboxes/sandbox/, reached over HTTP like any other app.
// Scope is the server's base URL plus the instance name (one server hosts several instances, e.g. the demo's
// "alpha" and "beta"), so two accounts of one server differ only in `instance`.

export const sandboxCredentialsSchema = z.object({
  apiToken: z.string().min(1, 'apiToken is required'),
});

export const sandboxScopeSchema = z.object({
  baseUrl: httpUrl('baseUrl', 'http://127.0.0.1:4010'),
  instance: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'instance is a name of letters, digits, "-" and "_"'),
});

export const sandboxApp: AppDefinition = {
  id: 'sandbox',
  name: 'Sandbox',
  capabilities: sandboxCapabilities,
  credentials: sandboxCredentialsSchema,
  scope: sandboxScopeSchema,
  fields: sandboxFields,
  connect(account: Account) {
    const { credentials, scope } = parseAccount(account, { app: 'Sandbox', credentials: sandboxCredentialsSchema, scope: sandboxScopeSchema });
    const client = new SandboxClient(scope.baseUrl, scope.instance, credentials.apiToken, requestTimeoutOf(account));
    return new SandboxConnector(client, scope.instance);
  },
};
