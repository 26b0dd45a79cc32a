import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthError, ConfigError, TransientError } from '../../connectors/errors';
import { outlookApp } from '../../connectors/outlook';
import { pipelinerApp } from '../../connectors/pipeliner';
import type { PipelinerConnector } from '../../connectors/pipeliner/connector';
import { catalogFromMetadata, toBody, toRecord } from '../../connectors/pipeliner/fields';
import type { Change, Connector } from '../../connectors/types';
import { startPipelinerSandbox, type PipelinerSandbox, type PipelinerSpace } from '../../sandboxes/pipeliner';
import { resolveMapping } from '../../sync/effective-mapping';
import { connectionSettingsSchema } from '../../sync/settings';
import { connectorContract } from '../contract/connector-contract';

// The Pipeliner connector against the Pipeliner sandbox: the shared contract, then what is Pipeliner's own
// (scope by sales unit and ownership, the modified-time feed, validation and permission refusals, slot mapping).

let spaces = 0;

async function newSpace(sandbox: PipelinerSandbox, scope: Record<string, unknown> = {}, options: Record<string, unknown> = {}) {
  const spaceId = `nv1_test_${++spaces}`;
  const credentials = { apiToken: `token-${spaces}`, apiPassword: `password-${spaces}` };
  const space = sandbox.addSpace(spaceId, credentials);
  const sales = space.addSalesUnit('Sales');
  const marco = space.addUser({ email: 'marco@acme.example', first_name: 'Marco', last_name: 'Rossi', default_unit_id: sales.id });
  const lena = space.addUser({ email: 'lena@acme.example', first_name: 'Lena', last_name: 'Berg', default_unit_id: sales.id });
  const fullScope = { serviceUrl: sandbox.url, spaceId, salesUnit: 'Sales', ownership: 'all-visible', user: marco.email, ...scope };
  const connect = (creds = credentials) => pipelinerApp.connect({ credentials: creds, scope: fullScope, options }) as PipelinerConnector;
  return { space, sales, marco, lena, credentials, connector: connect(), connect };
}

connectorContract('Pipeliner', async () => {
  const sandbox = await startPipelinerSandbox();
  const { space, credentials, connector, connect } = await newSpace(sandbox);
  return {
    connector,
    connectWithBadCredentials: () => ({ connector: connect({ ...credentials, apiPassword: 'wrong-secret-password' }), secret: 'wrong-secret-password' }),
    newContact: (i) => ({ first_name: `Test${i}`, last_name: 'Contract', email1: `test.${i}@contract.example`, position: 'Buyer', phone2: `+1 555 010 ${1000 + i}` }),
    emailField: 'email1',
    textField: 'position',
    keptField: 'phone2',
    invalidContact: { fields: { email1: 'nameless@contract.example' }, message: /Non-null field .*last_name/ },
    throttleNext: async () => space.failNext({ status: 429, retryAfterSeconds: 2 }),
    pageSize: 3,
    close: () => sandbox.close(),
  };
});

describe('Pipeliner connector', () => {
  let sandbox: PipelinerSandbox;
  beforeAll(async () => {
    sandbox = await startPipelinerSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  const listAll = async (c: Connector) => {
    const out = [];
    let cursor: string | null = null;
    do {
      const page = await c.listPage(cursor, 2);
      out.push(...page.records);
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  };

  const drain = async (c: Connector, cursor: string, pageSize = 100) => {
    const changes: Change[] = [];
    for (let guard = 0; guard < 100; guard++) {
      const set = await c.changesSince(cursor, pageSize);
      changes.push(...set.changes);
      cursor = set.nextCursor;
      if (!set.hasMore) break;
    }
    return { changes, cursor };
  };

  describe('scope', () => {
    let space: PipelinerSpace;
    let ids: Record<string, string>;
    let s: Awaited<ReturnType<typeof newSpace>>;
    beforeEach(async () => {
      s = await newSpace(sandbox);
      space = s.space;
      const other = space.addSalesUnit('Partners');
      ids = {
        marcos: space.create({ first_name: 'Own', last_name: 'ByMarco', email1: 'own@x.example' }, { owner_id: s.marco.id, unit_id: s.sales.id }).id,
        shared: space.create(
          { first_name: 'Shared', last_name: 'Edit', email1: 'shared@x.example' },
          { owner_id: s.lena.id, unit_id: s.sales.id, sharing_clients: [{ client_id: s.marco.id, role: 'editor' }] },
        ).id,
        viewed: space.create(
          { first_name: 'Shared', last_name: 'View', email1: 'viewed@x.example' },
          { owner_id: s.lena.id, unit_id: s.sales.id, sharing_clients: [{ client_id: s.marco.id, role: 'viewer' }] },
        ).id,
        lenas: space.create({ first_name: 'Only', last_name: 'Lena', email1: 'lena-own@x.example' }, { owner_id: s.lena.id, unit_id: s.sales.id }).id,
        elsewhere: space.create({ first_name: 'Other', last_name: 'Unit', email1: 'other@x.example' }, { owner_id: s.marco.id, unit_id: other.id }).id,
      };
    });

    it('"all-visible" lists every contact of the sales unit, named or given by id', async () => {
      const byName = await listAll(s.connector);
      expect(byName.map((r) => r.id).sort()).toEqual([ids.marcos, ids.shared, ids.viewed, ids.lenas].sort());
      const byId = await listAll(s.connect({ ...s.credentials }));
      expect(byId).toHaveLength(4);
      const first = byName.find((r) => r.id === ids.marcos)!;
      expect(first.fields).toMatchObject({ first_name: 'Own', owner: 'marco@acme.example', unit: 'Sales' });
    });

    it('"own" lists the user\'s contacts; "own-or-edit" adds those shared with the user as editor', async () => {
      const own = pipelinerApp.connect({
        credentials: s.credentials,
        scope: { serviceUrl: sandbox.url, spaceId: space.spaceId, salesUnit: s.sales.id, ownership: 'own', user: s.marco.email },
      });
      expect((await listAll(own)).map((r) => r.id)).toEqual([ids.marcos]);
      const edit = pipelinerApp.connect({
        credentials: s.credentials,
        scope: { serviceUrl: sandbox.url, spaceId: space.spaceId, salesUnit: 'sales', ownership: 'own-or-edit', user: s.marco.id },
      });
      expect((await listAll(edit)).map((r) => r.id).sort()).toEqual([ids.marcos, ids.shared].sort());
    });

    it('an unknown sales unit or user is a configuration error, and "own" without a user is refused up front', async () => {
      const wrongUnit = pipelinerApp.connect({ credentials: s.credentials, scope: { serviceUrl: sandbox.url, spaceId: space.spaceId, salesUnit: 'Nowhere' } });
      await expect(wrongUnit.listPage(null, 10)).rejects.toBeInstanceOf(ConfigError);
      expect(() =>
        pipelinerApp.connect({ credentials: s.credentials, scope: { serviceUrl: sandbox.url, spaceId: space.spaceId, salesUnit: 'Sales', ownership: 'own' } }),
      ).toThrow(/user .*required/);
      const wrongSpace = pipelinerApp.connect({ credentials: s.credentials, scope: { serviceUrl: sandbox.url, spaceId: 'nv1_missing', salesUnit: 'Sales' } });
      await expect(wrongSpace.listPage(null, 10)).rejects.toBeInstanceOf(ConfigError);
    });

    it('creates go to the given owner and sales unit, by default the scope\'s user and unit', async () => {
      const [made] = await s.connector.write([{ kind: 'create', ref: 'c', fields: { first_name: 'New', last_name: 'Lead', email1: 'new@x.example' } }]);
      expect(made.ok).toBe(true);
      const stored = space.all().find((c) => c.values.email1 === 'new@x.example')!;
      expect(stored).toMatchObject({ owner_id: s.marco.id, unit_id: s.sales.id });

      const partners = [...space.units.values()].find((u) => u.name === 'Partners')!;
      const other = pipelinerApp.connect({
        credentials: s.credentials,
        scope: { serviceUrl: sandbox.url, spaceId: space.spaceId, salesUnit: 'Sales', user: s.marco.email },
        options: { ownerId: s.lena.email, salesUnitId: partners.id },
      });
      await other.write([{ kind: 'create', ref: 'd', fields: { last_name: 'Partner', email1: 'partner@x.example' } }]);
      expect(space.all().find((c) => c.values.email1 === 'partner@x.example')).toMatchObject({ owner_id: s.lena.id, unit_id: partners.id });
    });
  });

  describe('the modified-time feed', () => {
    it('reports edits and soft deletions (asking with the documented include_deleted) once, skips rows already delivered inside the overlap, and pages', async () => {
      const s = await newSpace(sandbox);
      const made = s.space.seed({ count: 6, unitId: s.sales.id, ownerId: s.marco.id });
      const cursor = await s.connector.currentCursor();
      // Rows inside the overlap window of the position are not news.
      expect((await drain(s.connector, cursor)).changes).toEqual([]);

      s.space.update(made[0].id, { position: 'Chief Buyer' });
      s.space.remove(made[1].id);
      const fresh = s.space.create({ first_name: 'Fresh', last_name: 'Face', email1: 'fresh@x.example' }, { owner_id: s.marco.id, unit_id: s.sales.id });
      const first = await drain(s.connector, cursor, 1);
      expect(first.changes).toHaveLength(3);
      expect(first.changes).toContainEqual({ deleted: true, id: made[1].id });
      expect(first.changes.find((c) => !c.deleted && c.record.id === made[0].id)).toMatchObject({ record: { fields: { position: 'Chief Buyer' } } });
      expect(first.changes.some((c) => !c.deleted && c.record.id === fresh.id)).toBe(true);

      // Nothing new: the next read delivers nothing again, although it starts inside the overlap.
      expect((await drain(s.connector, first.cursor)).changes).toEqual([]);
      s.space.update(made[2].id, { comments: 'Called back' });
      const second = await drain(s.connector, first.cursor);
      expect(second.changes.map((c) => (c.deleted ? c.id : c.record.id))).toEqual([made[2].id]);
    });

    it('a cursor that cannot be read asks for a full re-scan', async () => {
      const s = await newSpace(sandbox);
      await expect(s.connector.changesSince('not-a-cursor', 10)).rejects.toMatchObject({ kind: 'feed-expired' });
    });

    it('an edit that leaves the scope is not reported as a deletion', async () => {
      const s = await newSpace(sandbox);
      const own = pipelinerApp.connect({
        credentials: s.credentials,
        scope: { serviceUrl: sandbox.url, spaceId: s.space.spaceId, salesUnit: 'Sales', ownership: 'own', user: s.marco.email },
      });
      const c = s.space.create({ last_name: 'Moving', email1: 'moving@x.example' }, { owner_id: s.marco.id, unit_id: s.sales.id });
      const cursor = await own.currentCursor();
      s.space.update(c.id, {}, { owner_id: s.lena.id });
      expect((await drain(own, cursor)).changes).toEqual([]);
    });
  });

  describe('refusals', () => {
    it('a required custom field fails creates with Pipeliner\'s message; updates of existing contacts still go through', async () => {
      const s = await newSpace(sandbox);
      const existing = s.space.create({ first_name: 'Old', last_name: 'Timer', email1: 'old@x.example' }, { owner_id: s.marco.id, unit_id: s.sales.id });
      s.space.setCustomField({ api_name: 'cf_region_code', name: 'Region code', required: true });
      const connector = s.connect();
      const catalog = await connector.fieldCatalog();
      expect(catalog.find((f) => f.key === 'cf_region_code')).toMatchObject({ label: 'Region code', requiredOnCreate: true });

      const [created, updated] = await connector.write([
        { kind: 'create', ref: 'new', fields: { first_name: 'New', last_name: 'Comer', email1: 'new@x.example' } },
        { kind: 'update', ref: 'old', id: existing.id, version: '1', fields: { position: 'Still here' } },
      ]);
      expect(created).toMatchObject({
        ok: false,
        error: { kind: 'contact', status: 422, code: 'ERROR_ENTITY_VALIDATION', field: 'cf_region_code', message: "Non-null field 'cf_region_code' is null or empty." },
      });
      expect(updated).toMatchObject({ ok: true, record: { id: existing.id, fields: { position: 'Still here' } } });
    });

    it('a delete without the right to delete is a per-contact failure with Pipeliner\'s permission error', async () => {
      const s = await newSpace(sandbox);
      const c = s.space.create({ last_name: 'Keep', email1: 'keep@x.example' }, { owner_id: s.marco.id, unit_id: s.sales.id });
      s.space.canDelete = false;
      const [result] = await s.connector.write([{ kind: 'delete', ref: 'd', id: c.id }]);
      expect(result).toMatchObject({ ok: false, error: { kind: 'contact', status: 403, code: 'ERROR_ACCESS_DENIED' } });
      expect(s.space.find(c.id)).toBeDefined();
    });

    it('an invalid email and an unknown field fail that contact only', async () => {
      const s = await newSpace(sandbox);
      const results = await s.connector.write([
        { kind: 'create', ref: 'a', fields: { last_name: 'Bad', email1: 'not an email' } },
        { kind: 'create', ref: 'b', fields: { last_name: 'Odd', owner: 'someone@x.example' } },
        { kind: 'create', ref: 'c', fields: { last_name: 'Good', email1: 'good@x.example' } },
      ]);
      expect(results[0]).toMatchObject({ ok: false, error: { kind: 'contact', field: 'email1', message: expect.stringMatching(/invalid email/) } });
      expect(results[1]).toMatchObject({ ok: false, error: { kind: 'contact', field: 'owner' } });
      expect(results[2].ok).toBe(true);
    });

    it('rotated credentials are an AuthError; 429 and 5xx are transient, carrying Retry-After', async () => {
      const s = await newSpace(sandbox);
      s.space.rotatePassword('a-new-password');
      const err = await s.connector.listPage(null, 10).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect(String((err as Error).message)).not.toContain(s.credentials.apiPassword);

      const fresh = s.connect({ ...s.credentials, apiPassword: 'a-new-password' });
      s.space.failNext({ status: 429, retryAfterSeconds: 7 });
      const throttled = await fresh.listPage(null, 10).catch((e: unknown) => e);
      expect(throttled).toBeInstanceOf(TransientError);
      expect(throttled).toMatchObject({ status: 429, retryAfterMs: 7000 });
      s.space.failNext({ status: 503 });
      await expect(fresh.write([{ kind: 'create', ref: 'x', fields: { last_name: 'Later' } }])).rejects.toBeInstanceOf(TransientError);
      expect((await fresh.listPage(null, 10)).records).toEqual([]);
    });

    it('the sandbox\'s own rate limit is met with 429 and Retry-After', async () => {
      const s = await newSpace(sandbox);
      s.space.config.rateLimitPerSecond = 2;
      const outcomes = await Promise.all([1, 2, 3, 4].map(() => s.connector.get('00000000-0000-0000-0000-000000000000').then(() => 'ok', (e: unknown) => e)));
      s.space.config.rateLimitPerSecond = undefined;
      const limited = outcomes.filter((o) => o instanceof TransientError) as TransientError[];
      expect(limited.length).toBeGreaterThan(0);
      expect(limited[0].retryAfterMs).toBeGreaterThanOrEqual(1000);
    });
  });

  describe('mapping', () => {
    it('every field round-trips through the wire form, and empty values read as null', () => {
      const fields = {
        first_name: 'Chloé',
        middle_name: null,
        last_name: "O'Brien",
        title: 'Dr.',
        position: 'CFO',
        quick_account_name: 'Acme Robotics',
        email1: 'chloe@acme.example',
        email2: 'chloe@home.example',
        email3: null,
        email4: null,
        email5: 'old@acme.example',
        phone1: '+1 (555) 010-2000',
        phone2: '+15550103000',
        phone3: null,
        phone4: '555-010-4000',
        phone5: null,
        address: '1 Congress Avenue',
        city: 'Austin',
        state_province: 'TX',
        zip_code: '78701',
        country: 'United States',
        comments: 'Met at the fair.',
      };
      const body = toBody(fields);
      expect(body.middle_name).toBe('');
      const wire = { id: 'x', is_deleted: false, modified: '2024-07-09 12:51:48.050073+00:00', revision: 4, owner_id: 'u1', unit_id: 'u2', ...body };
      const record = toRecord(wire, { ownerEmail: () => 'owner@acme.example', unitName: () => 'Sales' });
      expect(record).toEqual({ id: 'x', version: '4', fields: { ...fields, owner: 'owner@acme.example', unit: 'Sales' } });
    });

    it('phone slots take their meaning from the space\'s labels', () => {
      const catalog = catalogFromMetadata([
        { api_name: 'phone1', name: 'Mobile', entity_name: 'Contact' },
        { api_name: 'phone2', name: 'Office', entity_name: 'Contact' },
        { api_name: 'phone3', name: 'Fax', entity_name: 'Contact' },
        { api_name: 'phone4', name: 'Cell 2', entity_name: 'Contact' },
        { api_name: 'phone5', name: 'Other', entity_name: 'Contact' },
        { api_name: 'cf_segment', name: 'Segment', entity_name: 'Contact', column_source: 'Custom' },
      ]);
      const slot = (key: string) => catalog.find((f) => f.key === key);
      expect(slot('phone1')).toMatchObject({ label: 'Mobile', canonical: 'phoneMobile' });
      expect(slot('phone2')).toMatchObject({ label: 'Office', canonical: 'phoneWork' });
      expect(slot('phone3')).toMatchObject({ canonical: 'phoneFax' });
      // a second mobile slot has no partner
      expect(slot('phone4')?.canonical).toBeUndefined();
      expect(slot('cf_segment')).toMatchObject({ label: 'Segment', type: 'text' });
    });

    it('the default mapping to Outlook pairs email1..3 with its three addresses and phones by label', () => {
      const settings = connectionSettingsSchema.parse({});
      const pairs = resolveMapping(settings, { a: 'pipeliner', b: 'outlook' }, { a: pipelinerApp.fields, b: outlookApp.fields });
      const partner = (key: string) => pairs.find((p) => p.a === key)?.b;
      expect(partner('email1')).toBe('emailAddresses[0]');
      expect(partner('email2')).toBe('emailAddresses[1]');
      expect(partner('email3')).toBe('emailAddresses[2]');
      expect(partner('email4')).toBeUndefined();
      expect(partner('email5')).toBeUndefined();
      expect(partner('phone1')).toBe('businessPhones[0]');
      expect(partner('phone2')).toBe('mobilePhone');
      expect(partner('phone3')).toBe('homePhones[0]');
      expect(partner('phone4')).toBeUndefined(); // Fax: Graph has no fax
      expect(partner('first_name')).toBe('givenName');
      expect(partner('quick_account_name')).toBe('companyName');
      expect(partner('position')).toBe('jobTitle');
      expect(partner('comments')).toBe('personalNotes');
      // read-only relations flow out of Pipeliner only
      expect(pairs.find((p) => p.a === 'owner')).toBeUndefined();
    });
  });
});

describe('Pipeliner app harness', () => {
  it('gives accounts the connector reaches, and acts on them as a user would', async () => {
    const { startPipelinerHarness } = await import('../support/apps/pipeliner');
    const h = await startPipelinerHarness();
    try {
      const account = await h.account('harness');
      const id = await h.createContact(account, { firstName: 'Ida', lastName: 'Harness', email: 'Ida@Harness.example', company: 'Acme' });
      await h.updateContact(account, id, { jobTitle: 'Buyer' });
      expect(await h.listContacts(account)).toEqual([
        { id, firstName: 'Ida', lastName: 'Harness', emails: ['ida@harness.example'], company: 'Acme', jobTitle: 'Buyer' },
      ]);
      const connector = pipelinerApp.connect({ credentials: account.side.credentials, scope: account.side.scope });
      const page = await connector.listPage(null, 10);
      expect(page.records.map((r) => r.fields.position)).toEqual(['Buyer']);
    } finally {
      await h.close();
    }
  });
});
