// How an end-to-end test drives one app's sandbox without knowing the app: each app folder under
// test/support/apps/ exports a `start…Harness()` returning this, and test/e2e/cross-app.test.ts pairs them.

export interface HarnessAccount {
  /** what POST /connections takes for one side (app id, credentials, scope, options) */
  side: { app: string; credentials: Record<string, string>; scope: Record<string, unknown>; options?: Record<string, unknown> };
}

/** The common shape tests compare across apps. */
export interface PlainContact {
  id: string;
  firstName: string | null;
  lastName: string | null;
  /** lower-cased */
  emails: string[];
  company: string | null;
  jobTitle: string | null;
}

export interface PersonInput {
  firstName: string;
  lastName: string;
  email: string;
  company?: string;
  jobTitle?: string;
}

export interface AppHarness {
  app: string;
  /** A fresh, empty account (scope) in the app's sandbox. */
  account(name: string): Promise<HarnessAccount>;
  /** Acts as a user of the app: creates, edits and lists contacts directly in the sandbox. */
  createContact(account: HarnessAccount, person: PersonInput): Promise<string>;
  updateContact(account: HarnessAccount, id: string, change: Partial<Omit<PersonInput, 'email'>>): Promise<void>;
  listContacts(account: HarnessAccount): Promise<PlainContact[]>;
  close(): Promise<void>;
}
