// The HubSpot sandbox: a local CRM v3 contacts API for tests, the demo and the benchmark.
export { startHubSpotSandbox, DEFAULT_OAUTH_CLIENT, type HubSpotSandbox, type HubSpotSandboxOptions, type OAuthGrant } from './server';
export { HubSpotAccount, type AccountConfig, type StoredContact, type StoredList, type PropertyDef } from './store';
