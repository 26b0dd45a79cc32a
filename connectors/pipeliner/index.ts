import { z } from 'zod';
import { parseAccount } from '../kit/account';
import type { Account, AppDefinition } from '../types';
import { PipelinerClient } from './client';
import { PipelinerConnector, pipelinerCapabilities } from './connector';
import { pipelinerFields } from './fields';
import { httpUrl } from '../kit/url';

// Pipeliner CRM (REST API v100). Credentials are the space's API token and password ("Show API Access" in the
// admin portal), sent as HTTP Basic. The scope is one sales unit of one space, and which of its contacts count:
// the user's own, those the user owns or may edit, or all the API user can see there.

export const pipelinerCredentialsSchema = z.object({
  apiToken: z.string().min(1, 'apiToken is required'),
  apiPassword: z.string().min(1, 'apiPassword is required'),
});

export const pipelinerScopeSchema = z
  .object({
    serviceUrl: httpUrl('serviceUrl', 'https://us-east.api.pipelinersales.com'),
    spaceId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'spaceId is the space id from API Access, e.g. nv1_acme'),
    salesUnit: z.string().trim().min(1, 'salesUnit is the id or the name of a sales unit'),
    ownership: z.enum(['own', 'own-or-edit', 'all-visible']).default('all-visible'),
    /** The API token belongs to the space, not to a person: "own" needs to be told whose. */
    user: z.string().trim().min(1).optional(),
  })
  .refine((s) => s.ownership === 'all-visible' || s.user !== undefined, {
    message: 'user (the id or email of a Pipeliner user) is required when ownership is "own" or "own-or-edit"',
    path: ['user'],
  });

export const pipelinerOptionsSchema = z.object({
  ownerId: z.string().trim().min(1).optional(),
  salesUnitId: z.string().trim().min(1).optional(),
  requestTimeoutMs: z.number().positive().optional(),
});

export const pipelinerApp: AppDefinition = {
  id: 'pipeliner',
  name: 'Pipeliner CRM',
  capabilities: pipelinerCapabilities,
  credentials: pipelinerCredentialsSchema,
  scope: pipelinerScopeSchema,
  fields: pipelinerFields,
  connect(account: Account) {
    const { credentials, scope, options } = parseAccount(account, {
      app: 'Pipeliner',
      credentials: pipelinerCredentialsSchema,
      scope: pipelinerScopeSchema,
      options: pipelinerOptionsSchema,
    });
    const client = new PipelinerClient(scope.serviceUrl, scope.spaceId, credentials.apiToken, credentials.apiPassword, options.requestTimeoutMs);
    return new PipelinerConnector(client, scope, options);
  },
};
