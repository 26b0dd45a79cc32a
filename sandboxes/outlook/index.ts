// The Microsoft Graph (Outlook contacts) sandbox, for tests and the demo.
export { startGraphSandbox, type GraphSandbox, type GraphSandboxOptions, type FaultSpec } from './server';
export { Mailbox, GraphError, fromPerson, type StoredContact, type ContactInput, type MailboxConfig } from './store';
