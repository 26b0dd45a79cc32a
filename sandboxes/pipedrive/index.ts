// The Pipedrive sandbox: a local server that answers like Pipedrive's API, for tests and the demo.
export { startPipedriveSandbox, type PipedriveSandbox, type PipedriveSandboxOptions, type CompanyAccount } from './server';
export { Company, PipedriveError, v1Time, v2Time } from './store';
export type { CompanySettings, CustomField, PersonInput, Plan, StoredPerson, User } from './types';
