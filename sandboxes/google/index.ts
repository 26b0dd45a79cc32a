// The Google People API sandbox, for tests, the demo and the benchmark.
export { startGoogleSandbox, DEFAULT_CLIENT, type GoogleSandbox, type GoogleSandboxOptions } from './server';
export { GoogleAccount } from './store';
export type { AccountConfig, FaultSpec, PersonData, StoredPerson, StoredGroup } from './types';
