import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, ConfigError, FeedExpiredError, TransientError } from '../../connectors/errors';
import { pipedriveApp, pipedriveCredentialsSchema, pipedriveScopeSchema } from '../../connectors/pipedrive';
import { catalogFor, toBody, toRecord, type AccountFacts, type WirePerson } from '../../connectors/pipedrive/fields';
import type { Account, Change, Connector } from '../../connectors/types';
import { startPipedriveSandbox, type CompanySettings, type PipedriveSandbox } from '../../sandboxes/pipedrive';
import { connectorContract } from '../contract/connector-contract';

let sandbox: PipedriveSandbox;
let counter = 0;

beforeAll(async () => {
  sandbox = await startPipedriveSandbox();
});
afterAll(async () => {
  await sandbox.close();
});

/** A fresh company per test, so tests never see each other's persons. */
function freshCompany(settings: Partial<CompanySettings> = {}, account: Partial<Account> = {}) {
  const name = `Co${++counter}`;
  const admin = sandbox.addCompany(name, { settings });
  const connect = (credentials: Record<string, string>, extra: Partial<Account> = {}): Connector =>
    pipedriveApp.connect({ credentials, scope: { baseUrl: sandbox.url }, ...account, ...extra });
  return { name, ...admin, connector: connect({ apiToken: admin.apiToken }), connect };
}

async function readFeed(c: Connector, cursor: string): Promise<{ changes: Change[]; cursor: string }> {
  const changes: Change[] = [];
  let at = cursor;
  for (let guard = 0; guard < 100; guard++) {
    const set = await c.changesSince(at, 50);
    changes.push(...set.changes);
    at = set.nextCursor;
    if (!set.hasMore) break;
  }
  return { changes, cursor: at };
}

connectorContract('Pipedrive', async () => {
  const { connector, connect, company } = freshCompany();
  return {
    connector,
    connectWithBadCredentials: () => ({ connector: connect({ apiToken: 'f00dfeedf00dfeedf00dfeed' }), secret: 'f00dfeedf00dfeedf00dfeed' }),
    newContact: (i) => ({
      first_name: 'Contract',
      last_name: `Tester ${i}`,
      org_id: 'Contract Co',
      email_1: `Contract.Tester.${i}@Example.com`,
      phone_mobile: `+1 555 010 ${String(1000 + i)}`,
    }),
    emailField: 'email_1',
    textField: 'last_name',
    keptField: 'org_id',
    invalidContact: { fields: { email_1: 'nameless@example.com' }, message: /^Name must be given\.$/ },
    throttleNext: async () => company.failNext({ status: 429, retryAfterSeconds: 2 }),
    pageSize: 5,
    close: async () => {},
  };
});

describe('Pipedrive mapping', () => {
  const facts: AccountFacts = {
    users: [
      { id: 1, name: 'Ava Admin', email: 'ava@acme.example' },
      { id: 2, name: 'Marco', email: 'marco@acme.example' },
    ],
    labels: [
      { id: 1, label: 'Customer' },
      { id: 9, label: 'Rapport Unsubscribes' },
    ],
    custom: [
      { key: 'a'.repeat(40), name: 'Tier', field_type: 'enum', options: [{ id: 11, label: 'Gold' }, { id: 12, label: 'Silver' }] },
      { key: 'b'.repeat(40), name: 'Interests', field_type: 'set', options: [{ id: 21, label: 'CRM' }, { id: 22, label: 'Sync' }] },
      { key: 'c'.repeat(40), name: 'Seats', field_type: 'double' },
      { key: 'd'.repeat(40), name: 'Account manager', field_type: 'user' },
    ],
  };
  const person: WirePerson = {
    id: 12,
    name: 'Ada Lovelace',
    first_name: 'Ada',
    last_name: 'Lovelace',
    owner_id: 2,
    org_id: 42,
    add_time: '2025-01-01T10:00:00Z',
    update_time: '2025-01-02T10:20:00Z',
    is_deleted: false,
    emails: [
      { value: 'ada@home.example', primary: false, label: 'home' },
      { value: 'ada@work.example', primary: true, label: 'work' },
    ],
    phones: [
      { value: '+44 20 7946 0000', primary: true, label: 'work' },
      { value: '+44 7700 900000', primary: false, label: 'mobile' },
      { value: '+44 20 7946 0999', primary: false, label: 'other' },
    ],
    label_ids: [1],
    postal_address: { value: '1 Main St, Leeds', route: 'Main St', street_number: '1', locality: 'Leeds', admin_area_level_1: 'W Yorks', postal_code: 'LS1', country: 'UK' },
    notes: 'Met at the fair',
    job_title: 'CTO',
    birthday: null,
    marketing_status: 'unsubscribed',
    custom_fields: { ['a'.repeat(40)]: 11, ['b'.repeat(40)]: [21, 22], ['c'.repeat(40)]: 5, ['d'.repeat(40)]: 2 },
  };

  it('flattens a person: primary email first, phones by label, organization by name, owner by email, labels by name', () => {
    const record = toRecord(person, { facts, orgNames: new Map([[42, 'Analytical Engines']]) });
    expect(record.id).toBe('12');
    expect(record.version).toMatch(/^2025-01-02T10:20:00Z#/);
    expect(record.fields).toMatchObject({
      first_name: 'Ada',
      last_name: 'Lovelace',
      org_id: 'Analytical Engines',
      email_1: 'ada@work.example',
      email_2: 'ada@home.example',
      email_3: null,
      phone_work: '+44 20 7946 0000',
      phone_mobile: '+44 7700 900000',
      phone_other: '+44 20 7946 0999',
      phone_home: null,
      postal_address_route: 'Main St 1',
      postal_address_locality: 'Leeds',
      job_title: 'CTO',
      notes: 'Met at the fair',
      label_ids: ['Customer'],
      owner_id: 'marco@acme.example',
      marketing_status: true,
      ['a'.repeat(40)]: '11',
      ['b'.repeat(40)]: ['21', '22'],
      ['c'.repeat(40)]: 5,
    });
    expect('d'.repeat(40) in record.fields).toBe(false);
  });

  it('a version tells apart two changes made within the same second', () => {
    const ctx = { facts, orgNames: new Map<number, string>() };
    const changed = { ...person, notes: 'Changed in the same second' };
    expect(toRecord(changed, ctx).version).not.toBe(toRecord(person, ctx).version);
    expect(toRecord({ ...person }, ctx).version).toBe(toRecord(person, ctx).version);
  });

  it('round-trips: the body written from a record reads back as the same fields', () => {
    const ctx = { facts, orgNames: new Map([[42, 'Analytical Engines']]) };
    const record = toRecord(person, ctx);
    const writable = catalogFor(facts).filter((f) => !f.readOnly && f.key !== 'org_id');
    const fields = Object.fromEntries(writable.map((f) => [f.key, record.fields[f.key] ?? null]));
    const body = toBody(fields, null, { facts });
    expect(body).toMatchObject({ name: 'Ada Lovelace', owner_id: 2, label_ids: [1], marketing_status: 'unsubscribed' });
    expect(body.custom_fields).toEqual({ ['a'.repeat(40)]: 11, ['b'.repeat(40)]: [21, 22], ['c'.repeat(40)]: 5 });
    const back = toRecord(
      { ...person, emails: body.emails!, phones: body.phones!, label_ids: body.label_ids!, owner_id: body.owner_id!, custom_fields: body.custom_fields! },
      ctx,
    );
    for (const f of writable) expect(back.fields[f.key]).toEqual(record.fields[f.key]);
  });

  it('an update rebuilds only the touched list, keeping labels, the primary flag and numbers in other slots', () => {
    const body = toBody({ phone_mobile: '+44 7700 900111', email_2: null }, person, { facts });
    expect(body.phones).toEqual([
      { value: '+44 20 7946 0000', primary: true, label: 'work' },
      { value: '+44 7700 900111', primary: false, label: 'mobile' },
      { value: '+44 20 7946 0999', primary: false, label: 'other' },
    ]);
    expect(body.emails).toEqual([{ value: 'ada@work.example', primary: true, label: 'work' }]);
    expect(Object.keys(body).sort()).toEqual(['emails', 'phones']);
  });

  it('changing a first name sends the full name, which is all v2 takes', () => {
    expect(toBody({ first_name: 'Augusta' }, person, { facts })).toEqual({ name: 'Augusta Lovelace' });
  });

  it('values Pipedrive cannot hold are refused per contact, naming the field', () => {
    expect(() => toBody({ label_ids: ['Nonexistent'] }, person, { facts })).toThrow(/no person label "Nonexistent"/);
    expect(() => toBody({ owner_id: 'nobody@acme.example' }, person, { facts })).toThrow(/no active Pipedrive user/);
    expect(() => toBody({ ['a'.repeat(40)]: 'Bronze' }, person, { facts })).toThrow(/Tier has no option "Bronze"/);
    expect(() => toBody({ job_title: 'CEO' }, person, { facts })).toThrow(/does not write job_title/);
    // Multi-option fields clear with null: Pipedrive refuses an empty array.
    expect(toBody({ ['b'.repeat(40)]: [] }, person, { facts }).custom_fields).toEqual({ ['b'.repeat(40)]: null });
  });
});

describe('Pipedrive app definition', () => {
  it('accepts an API token or OAuth credentials, and says which forms it takes', () => {
    expect(pipedriveCredentialsSchema.safeParse({ apiToken: 't' }).success).toBe(true);
    expect(pipedriveCredentialsSchema.safeParse({ clientId: 'c', clientSecret: 's', refreshToken: 'r' }).success).toBe(true);
    const bad = pipedriveCredentialsSchema.safeParse({ password: 'hunter2' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0].message).toMatch(/\{ apiToken \} or \{ clientId, clientSecret, refreshToken/);
    expect(() => pipedriveApp.connect({ credentials: { password: 'hunter2' }, scope: { companyDomain: 'acme' } })).toThrow(ConfigError);
  });

  it('scope takes exactly one of companyDomain and baseUrl', () => {
    expect(pipedriveScopeSchema.safeParse({ companyDomain: 'acme', ownership: 'own' }).success).toBe(true);
    expect(pipedriveScopeSchema.safeParse({ baseUrl: 'http://127.0.0.1:4020' }).success).toBe(true);
    expect(pipedriveScopeSchema.safeParse({}).success).toBe(false);
    expect(pipedriveScopeSchema.safeParse({ companyDomain: 'acme', baseUrl: 'http://127.0.0.1:1' }).success).toBe(false);
    expect(pipedriveScopeSchema.safeParse({ companyDomain: 'acme', ownership: 'mine' }).success).toBe(false);
  });
});

describe('Pipedrive connector', () => {
  it('lists custom fields by their hash keys, with labels and options from the person fields', async () => {
    const co = freshCompany();
    const tier = co.company.addCustomField('Tier', 'enum', ['Gold', 'Silver']);
    const since = co.company.addCustomField('Customer since', 'date');
    const catalog = await co.connector.fieldCatalog();
    expect(catalog.find((f) => f.key === tier.key)).toEqual({
      key: tier.key,
      label: 'Tier',
      type: 'picklist',
      values: tier.options!.map((o) => ({ value: String(o.id), label: o.label })),
    });
    expect(catalog.find((f) => f.key === since.key)).toMatchObject({ label: 'Customer since', type: 'date' });
    expect(tier.key).toMatch(/^[0-9a-f]{40}$/);
    expect(catalog.find((f) => f.key === 'owner_id')?.values).toEqual([{ value: co.user.email, label: co.user.name }]);
    expect(catalog.find((f) => f.key === 'label_ids')?.values?.map((v) => v.value)).toContain('Customer');

    const [created] = await co.connector.write([
      { kind: 'create', ref: 'c', fields: { first_name: 'Grace', last_name: 'Hopper', email_1: 'grace@navy.example', [tier.key]: 'Gold', [since.key]: '2024-05-01' } },
    ]);
    expect(created).toMatchObject({ ok: true, record: { fields: { [tier.key]: String(tier.options![0].id), [since.key]: '2024-05-01' } } });
    expect(co.company.all()[0].custom_fields[tier.key]).toBe(tier.options![0].id);
  });

  it('finds or creates the organization by name, and reads it back as the company', async () => {
    const co = freshCompany();
    co.company.createAs({ name: 'Existing Person', org_name: 'Globex Energy' });
    const results = await co.connector.write([
      { kind: 'create', ref: '1', fields: { first_name: 'Hank', last_name: 'Scorpio', email_1: 'hank@globex.example', org_id: 'globex energy' } },
      { kind: 'create', ref: '2', fields: { first_name: 'Ned', last_name: 'Flanders', email_1: 'ned@leftorium.example', org_id: 'The Leftorium' } },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    const orgs = co.company.organizations().map((o) => o.name);
    expect(orgs.sort()).toEqual(['Globex Energy', 'The Leftorium']);
    const stored = co.company.all().find((p) => p.name === 'Hank Scorpio')!;
    expect(co.company.organization(stored.org_id!)?.name).toBe('Globex Energy');
    expect((await co.connector.get(String(stored.id)))?.fields.org_id).toBe('Globex Energy');
  });

  it('a 429 without Retry-After waits for the burst window (x-ratelimit-reset)', async () => {
    const co = freshCompany({ burstLimit: 2, retryAfterHeader: false });
    const calls = [co.connector.listPage(null, 10), co.connector.listPage(null, 10), co.connector.listPage(null, 10)];
    const outcomes = await Promise.allSettled(calls);
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(TransientError);
    expect(refused.reason.status).toBe(429);
    expect(refused.reason.retryAfterMs).toBeGreaterThanOrEqual(1000);
  });

  it('a 5xx is transient; a refused write is a per-contact failure with the app’s message', async () => {
    const co = freshCompany();
    co.company.failNext({ status: 503 });
    await expect(co.connector.listPage(null, 10)).rejects.toBeInstanceOf(TransientError);

    const other = sandbox.addUser(co.name, { name: 'Rita Regular', email: 'rita@example.com', canEditOthers: false });
    const owned = co.company.createAs({ name: 'Owned By Admin', emails: [{ value: 'owned@example.com' }] });
    const rita = co.connect({ apiToken: other.apiToken });
    const [result] = await rita.write([{ kind: 'update', ref: 'u', id: String(owned.id), fields: { last_name: 'Renamed' } }]);
    expect(result).toMatchObject({ ok: false, error: { kind: 'contact', status: 403, message: expect.stringMatching(/permission to edit this person/) } });
  });

  it('cursor endpoints refused for a user who is not a global admin are a configuration error', async () => {
    const co = freshCompany({ cursorRequiresAdmin: true });
    const other = sandbox.addUser(co.name, { name: 'Rita Regular', email: 'rita@example.com' });
    const err = await co.connect({ apiToken: other.apiToken }).listPage(null, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/global admin/);
  });

  it('"contacts I own" lists only the persons the user owns', async () => {
    const co = freshCompany();
    const other = sandbox.addUser(co.name, { name: 'Marco', email: 'marco@example.com' });
    co.company.createAs({ name: 'Mine One', owner_email: co.user.email });
    co.company.createAs({ name: 'Theirs One', owner_email: other.user.email });
    const own = co.connect({ apiToken: co.apiToken }, { scope: { baseUrl: sandbox.url, ownership: 'own' } });
    const page = await own.listPage(null, 10);
    expect(page.records.map((r) => r.fields.first_name)).toEqual(['Mine']);
  });

  describe('visible-to of created persons', () => {
    it('is set from the option on a plan that offers it', async () => {
      const co = freshCompany({ plan: 'premium' }, { options: { visibleTo: 'owner-role' } });
      const [r] = await co.connector.write([{ kind: 'create', ref: 'c', fields: { first_name: 'Vis', last_name: 'Ible', email_1: 'vis@example.com' } }]);
      expect(r.ok).toBe(true);
      expect(co.company.all()[0].visible_to).toBe(3);
    });

    it('"entire company" is 3 on Growth and 7 on Premium', async () => {
      for (const [plan, id] of [['growth', 3], ['ultimate', 7]] as const) {
        const co = freshCompany({ plan }, { options: { visibleTo: 'entire-company' } });
        await co.connector.write([{ kind: 'create', ref: 'c', fields: { first_name: 'All', last_name: 'See', email_1: 'all@example.com' } }]);
        expect(co.company.all()[0].visible_to).toBe(id);
      }
    });

    it('is refused with a ConfigError where the plan does not offer it', async () => {
      const co = freshCompany({ plan: 'growth' }, { options: { visibleTo: 'owner-only' } });
      const err = await co.connector
        .write([{ kind: 'create', ref: 'c', fields: { first_name: 'No', last_name: 'Way', email_1: 'no@example.com' } }])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/visibleTo "owner-only" is not offered .* it offers owner-followers, entire-company/);
      expect(co.company.count()).toBe(0);
    });

    it('an unknown option value is refused when connecting', () => {
      expect(() =>
        pipedriveApp.connect({ credentials: { apiToken: 'x' }, scope: { baseUrl: sandbox.url }, options: { visibleTo: 'everyone' } }),
      ).toThrow(/visibleTo is one of owner-followers/);
    });
  });

  describe('incremental feed', () => {
    it('changes within one second are each reported once: overlap on the second, deduplicated by content', async () => {
      const co = freshCompany();
      const a = co.company.createAs({ name: 'Tie One', emails: [{ value: 'tie1@example.com' }] });
      const cursor = await co.connector.currentCursor();
      // Same second as the cursor, very likely: the next read must still see the edit and the new person.
      co.company.editAs(a.id, { name: 'Tie Uno' });
      const b = co.company.createAs({ name: 'Tie Two', emails: [{ value: 'tie2@example.com' }] });
      const first = await readFeed(co.connector, cursor);
      expect(first.changes.map((c) => (c.deleted ? c.id : c.record.fields.last_name)).sort()).toEqual(['Two', 'Uno']);

      const again = await readFeed(co.connector, first.cursor);
      expect(again.changes).toEqual([]);
      co.company.editAs(b.id, { name: 'Tie Dos' });
      const third = await readFeed(co.connector, again.cursor);
      expect(third.changes).toMatchObject([{ deleted: false, record: { id: String(b.id), fields: { last_name: 'Dos' } } }]);
    });

    it('a change stamped a little before the newest time already read is still reported (the overlap window), once', async () => {
      const co = freshCompany();
      const early = co.company.createAs({ name: 'Early Bird', emails: [{ value: 'early@example.com' }] });
      co.company.clockOffsetMs = 20_000;
      co.company.createAs({ name: 'Late Comer', emails: [{ value: 'late@example.com' }] });
      const cursor = await co.connector.currentCursor();
      // Another server's clock runs 5 s behind: its edit is stamped before the watermark.
      co.company.clockOffsetMs = 15_000;
      co.company.editAs(early.id, { name: 'Early Riser' });
      const first = await readFeed(co.connector, cursor);
      expect(first.changes).toMatchObject([{ deleted: false, record: { id: String(early.id), fields: { last_name: 'Riser' } } }]);
      expect((await readFeed(co.connector, first.cursor)).changes).toEqual([]);
    });

    it('deletions are left to the reconcile: the feed reads no undocumented signal, and an old position still works', async () => {
      expect(pipedriveApp.capabilities.reportsDeletions).toBe(false);
      const co = freshCompany();
      const doomed = co.company.createAs({ name: 'Gone Soon', emails: [{ value: 'gone@example.com' }] });
      const cursor = await co.connector.currentCursor();
      co.company.removeAs(doomed.id);
      const { changes, cursor: next } = await readFeed(co.connector, cursor);
      expect(changes).toEqual([]);
      // No 30-day recents window any more: a position a month old goes on from its time.
      co.company.clockOffsetMs = 31 * 86_400_000;
      const edited = co.company.createAs({ name: 'Month Later', emails: [{ value: 'later@example.com' }] });
      expect((await readFeed(co.connector, next)).changes).toMatchObject([{ deleted: false, record: { id: String(edited.id) } }]);
      await expect(co.connector.changesSince('not-a-cursor', 10)).rejects.toBeInstanceOf(FeedExpiredError);
    });
  });

  describe('OAuth', () => {
    it('refreshes an expired access token (client in a Basic header, as Pipedrive requires), stores the renewed tokens, and keeps working', async () => {
      const co = freshCompany();
      co.company.createAs({ name: 'Oauth Person', emails: [{ value: 'oauth@example.com' }] });
      const granted = sandbox.grantTokens(co.name);
      const saved: Record<string, string>[] = [];
      const connector = co.connect(
        { ...sandbox.oauthClient, refreshToken: granted.refreshToken, accessToken: granted.accessToken },
        { saveCredentials: async (changed) => void saved.push(changed) },
      );
      expect((await connector.listPage(null, 10)).records).toHaveLength(1);
      expect(saved).toEqual([]);

      sandbox.expireAccessTokens(co.name);
      expect((await connector.listPage(null, 10)).records).toHaveLength(1);
      expect(saved).toHaveLength(1);
      expect(saved[0].accessToken).toMatch(/^at-/);
      expect(saved[0].accessToken).not.toBe(granted.accessToken);
    });

    it('a revoked refresh token is an AuthError', async () => {
      const co = freshCompany();
      const granted = sandbox.grantTokens(co.name);
      const connector = co.connect({ ...sandbox.oauthClient, refreshToken: granted.refreshToken });
      await expect(connector.listPage(null, 10)).resolves.toBeTruthy();
      sandbox.revoke(granted.refreshToken);
      sandbox.expireAccessTokens(co.name);
      const err = await connector.listPage(null, 10).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect((err as Error).message).toMatch(/invalid_grant/);
      expect((err as Error).message).not.toContain(granted.refreshToken);
    });
  });
});
