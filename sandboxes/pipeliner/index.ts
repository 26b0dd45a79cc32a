// The Pipeliner CRM sandbox: a local REST API v100 for tests, the demo and users without a Pipeliner account.
export { startPipelinerSandbox, type PipelinerSandbox, type PipelinerSandboxOptions } from './server';
export { PipelinerSpace, phoneKind, type Client, type SalesUnit, type SpaceConfig, type StoredContact } from './store';
