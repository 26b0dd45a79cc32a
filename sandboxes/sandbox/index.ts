// The Sandbox app, for tests, the demo and the benchmark: `startSandbox` runs the server, `person` makes people.
export { startSandbox, type Sandbox, type SandboxOptions } from './server';
export { SandboxError, SandboxInstance } from './store';
export { person, people, type SeedOptions } from '../kit/seed';
export type { Contact, ContactInput, InstanceConfig, InstanceStats, FaultSpec } from './types';
